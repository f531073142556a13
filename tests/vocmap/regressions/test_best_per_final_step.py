"""AP-by-step tables (issue 10): `table --best-per` labelled a window's best as the
final step when the last step ended a window (tiny run: 0.5576 shown, the final
model 0.5517); with a CSV's steps out of order the "final step" column was the
wrong one; `--best-per 1` over a step of 10^12 never returned. The final step's
column is now always the final model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from restricted import vocmap_env
from run_builder import make_run

from vocmap.cli import main
from vocmap.runs.contract import RunFolder
from vocmap.runs.tables import APTable, best_per_window, read_ap_table_csv


def test_last_column_is_the_final_model_when_the_last_step_ends_a_window():
    # Steps 100..400, window 200: the last step 400 ends the window (200, 400], whose
    # best (0.5576 at step 300) is not the final model's AP (0.5517 at step 400).
    ap = np.array([[0.40, 0.50, 0.5576, 0.5517], [0.30, 0.20, 0.35, 0.33]])
    table = APTable((100, 200, 300, 400), ("dog", "cat"), ap, np.array([0.35, 0.35, 0.4538, 0.44]))
    best = best_per_window(table, 200)
    assert best.steps == (200, 400)
    # (0, 200]: steps 100 and 200 tie at mAP 0.35, the earlier is taken (issue 18: a
    # column is one checkpoint's numbers, never each class's best)
    assert best.checkpoints == (100, 400)
    assert best.ap.tolist() == [[0.40, 0.5517], [0.30, 0.33]]
    assert best.map.tolist() == [0.35, 0.44]  # the final step's own mAP
    assert "the last column is the final step 400" in best.note


def test_last_column_is_the_final_model_in_the_cli(tmp_path, capsys):
    _, run = make_run(tmp_path, steps=(100, 200, 300, 400), images=30)
    assert main(["score", str(run), "--voc-root", str(tmp_path / "VOC2007"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["table", str(run), "--best-per", "200", "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["steps"] == [200, 400]
    final = json.loads(RunFolder(run).eval_path(400).read_text())
    assert table["mAP"][-1] == final["map"]
    for cls, values in table["classes"].items():
        assert values[-1] == final["classes"][cls]["ap"]


def write_csv(path, header, rows) -> None:
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n")


def test_csv_steps_out_of_order_give_the_right_final_column(tmp_path, capsys):
    path = tmp_path / "ap.csv"
    write_csv(
        path,
        ["class", "300", "100", "200"],
        [
            ["dog AP", "0.9", "0.1", "0.5"],
            ["cat AP", "0.8", "0.2", "0.4"],
            ["mAP", "0.85", "0.15", "0.45"],
        ],
    )
    table = read_ap_table_csv(path)
    assert table.steps == (100, 200, 300)
    assert table.ap.tolist() == [[0.1, 0.5, 0.9], [0.2, 0.4, 0.8]]
    assert table.map.tolist() == [0.15, 0.45, 0.85]
    assert main(["table", str(path), "--best-per", "150", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == [150, 300] and out["classes"]["dog"] == [0.1, 0.9]
    assert out["mAP"] == [0.15, 0.85]  # a window: its best checkpoint's own mAP
    assert out["checkpoints"] == [100, 300]


def test_duplicate_csv_steps_are_refused(tmp_path, capsys):
    path = tmp_path / "ap.csv"
    write_csv(path, ["class", "100", "100"], [["dog", "0.1", "0.2"]])
    assert main(["table", str(path)]) == 2
    assert capsys.readouterr().err == f"vocmap: error: {path}:1: step 100 is in the header twice\n"


def test_best_per_1_over_a_step_of_10_to_the_12_returns_at_once(tmp_path):
    path = tmp_path / "ap.csv"
    write_csv(path, ["class", "5", str(10**12)], [["dog", "0.1", "0.2"], ["mAP", "0.1", "0.2"]])
    run = subprocess.run(
        [sys.executable, "-m", "vocmap", "table", str(path), "--best-per", "1", "--format", "csv"],
        env=vocmap_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["class,5,1000000000000", "dog,0.1,0.2", "mAP,0.1,0.2"]


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", "1e3", str(10**16)])
def test_best_per_is_validated(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["table", "whatever.csv", "--best-per", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("vocmap table: error: argument --best-per: expected")


def test_best_per_window_rejects_a_bad_window_in_the_api():
    table = APTable((1,), ("dog",), np.array([[0.5]]), np.array([0.5]))
    for window in (0, -1, True, 2.5):
        with pytest.raises(Exception, match="--best-per needs a positive step count"):
            best_per_window(table, window)  # type: ignore[arg-type]
