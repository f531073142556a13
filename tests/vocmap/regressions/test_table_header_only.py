"""``table`` on a header-only CSV printed numpy's "Mean of empty slice" warnings with
file paths and a table with an empty mAP row; ``plot published`` was ``ValueError:
max() arg is an empty sequence`` (issue 18, 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vocmap.cli import main


def test_a_header_only_csv_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("class,100,200\n")
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "vocmap", "table", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"vocmap: error: {path}:2: the table has a header but no rows: expected one row per "
        "class and/or a 'mAP' row"
    ]


def test_a_csv_with_only_a_map_row_is_a_table(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("class,100,200\nmAP,0.5,0.6\n")
    assert main(["table", str(path), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "mAP,0.5,0.6"


def test_plot_published_draws_the_published_table(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["plot", "published", "--out-dir", str(tmp_path / "plots")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "plots" / "ap_over_steps.png")]
    assert (tmp_path / "plots" / "ap_over_steps.png").read_bytes()[:4] == b"\x89PNG"
