"""The report shows the best-F1 operating point (issue 22 §1): a diagnosis carries it,
so does `evaluate --operating-point --json`; the numbers are operating_points'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vocmap
from vocmap.analysis.diagnose import diagnose
from vocmap.analysis.operating_point import operating_points
from vocmap.cli import main

DEMO = Path(__file__).resolve().parents[2] / "data_fixtures" / "demo"
VOC = ["--voc-root", str(DEMO / "VOC2007")]
pytest.importorskip("matplotlib")


def test_a_diagnosis_carries_the_best_f1_points_of_its_result():
    gt = vocmap.read_voc(DEMO / "VOC2007", cache=False)
    dets = vocmap.read_detections(DEMO / "results", gt)
    found = diagnose(gt, dets, top=2)
    expected = operating_points(found.result, dets).to_dict()
    assert found.to_dict()["operating_points"] == expected
    assert expected["rule"] == "max-f1"


@pytest.mark.parametrize("source", ["diagnosis", "result"])
def test_the_report_shows_the_f1_table(tmp_path, capsys, source):
    path = tmp_path / f"{source}.json"
    if source == "diagnosis":
        argv = ["diagnose", str(DEMO / "results"), *VOC, "--top", "2", "--format", "json"]
    else:
        argv = ["evaluate", str(DEMO / "results"), *VOC, "--operating-point", "--format", "json"]
    assert main([*argv, "--out", str(path), "--quiet"]) == 0
    html = tmp_path / "r.html"
    assert main(["report", str(path), "--out", str(html), "--quiet"]) == 0
    text = html.read_text()
    assert 'id="f1"' in text and "Operating point (best F1)" in text
    data = json.loads(path.read_text())
    points = data["operating_points"] if source == "diagnosis" else data["operating_points"][0]
    micro = points["micro"]
    assert f"<td>{micro['f1']:.4f}</td>" in text
    assert f"<td>{micro['tp']}</td>" in text


def test_malformed_operating_points_are_one_line(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert main(["evaluate", str(DEMO / "results"), *VOC, "--json", str(path), "--quiet"]) == 0
    data = json.loads(path.read_text())
    data["operating_points"] = [{"rule": "max-f1", "classes": {"dog": {"f1": "<b>"}}, "micro": {}}]
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "f1 must be a number" in err[0], err
    assert not (tmp_path / "r.html").exists()
