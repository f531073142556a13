"""What a pip user gets, checked without building a wheel (issue 12 item 5);
tests/test_wheel_install.py builds and installs the real one."""

from __future__ import annotations

import sys

import pytest
from fixture_paths import FIXTURES, REPO

import vocmap
from vocmap.cli import main
from vocmap.data import published_ap_table

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_the_shipped_published_table_is_the_fixture():
    shipped = published_ap_table().read_bytes()
    assert shipped == (FIXTURES / "seed_summary" / "ap_by_step.csv").read_bytes()


def test_compare_published_finds_the_shipped_table_from_any_directory(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    csv = FIXTURES / "seed_summary" / "ap_by_step.csv"
    assert main(["table", str(csv), "--compare", "published"]) == 0
    assert "published SSD300" in capsys.readouterr().out
    (tmp_path / "published").mkdir()  # a folder of that name is that folder
    assert main(["table", str(csv), "--compare", "published"]) == 2


def test_one_version_source():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "vocmap.__version__"}
    assert vocmap.__version__ == "0.2.0"


def test_license_and_typed_marker_are_there():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert (REPO / "vocmap" / "py.typed").is_file()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["vocmap"]


def test_the_notebook_extra_has_what_the_readme_command_runs():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    notebook = " ".join(project["project"]["optional-dependencies"]["notebook"])
    assert "jupyter nbconvert" in (REPO / "README.md").read_text()
    assert "nbconvert" in notebook and "ipykernel" in notebook


def _without_the_train_extra(monkeypatch, argv):
    class Hidden:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("ssd_ref", "torch"):
                raise ImportError("ssd_ref needs torch: install vocmap[train] (...)")
            return None

    for name in [m for m in sys.modules if m.split(".")[0] == "ssd_ref"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Hidden(), *sys.meta_path])
    monkeypatch.setattr(sys, "argv", ["ssd_ref", *argv])


def test_the_ssd_ref_entry_turns_the_missing_extra_into_one_line(monkeypatch, capsys):
    import _ssd_ref_entry

    _without_the_train_extra(monkeypatch, ["train", "--config", "tiny"])
    with pytest.raises(SystemExit) as stopped:
        _ssd_ref_entry.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ssd_ref: ") and "vocmap[train]" in err
    assert "ssd_ref: ssd_ref" not in err  # no doubled prefix
    assert err.startswith("ssd_ref: missing torch: install vocmap[train]")


@pytest.mark.parametrize(
    "argv", [[], ["--help"], ["train", "--help"], ["weights", "convert", "-h"]]
)
def test_without_the_train_extra_ssd_ref_help_is_printed(monkeypatch, capsys, argv):
    import _ssd_ref_entry

    _without_the_train_extra(monkeypatch, argv)
    with pytest.raises(SystemExit) as stopped:
        _ssd_ref_entry.main()
    out = capsys.readouterr().out
    assert stopped.value.code == 0 and out.startswith("usage: ssd_ref")
    assert "the commands need the train extra" in out and "vocmap[train]" in out
    assert "``" not in out  # plain text, not reStructuredText
