"""The "no cycles anywhere" import contract finds the cycles acyclic_siblings misses."""

from __future__ import annotations

import sys
import textwrap

import pytest
from import_contracts import module_cycles


def _package(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("cyc")]:
        del sys.modules[name]


def test_a_package_init_importing_its_modules_is_a_cycle(on_path):
    _package(
        on_path,
        {
            "cycpkg/__init__.py": "",
            "cycpkg/cli/__init__.py": "from cycpkg.cli import run\n",
            "cycpkg/cli/run.py": "from cycpkg.cli import opts\n",
            "cycpkg/cli/opts.py": "X = 1\n",
        },
    )
    assert module_cycles(["cycpkg"]) == [["cycpkg.cli", "cycpkg.cli.run", "cycpkg.cli"]]


def test_an_annotation_only_import_back_is_a_cycle(on_path):
    _package(
        on_path,
        {
            "cycann/__init__.py": "",
            "cycann/a.py": "from cycann.b import B\n",
            "cycann/b.py": """\
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from cycann.a import A
                B = 1
            """,
        },
    )
    assert module_cycles(["cycann"]) == [["cycann.a", "cycann.b", "cycann.a"]]


def test_layers_without_a_way_back_are_no_cycle(on_path):
    _package(
        on_path,
        {
            "cycok/__init__.py": "from cycok.core import x\n",
            "cycok/core.py": "x = 1\n",
            "cycok/cli/__init__.py": "",
            "cycok/cli/run.py": "from cycok.cli import opts\nfrom cycok import core\n",
            "cycok/cli/opts.py": "import cycok.core\n",
        },
    )
    assert module_cycles(["cycok"]) == []


def test_vocmap_has_no_cycle():
    assert module_cycles(["vocmap"]) == []
