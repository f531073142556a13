"""The CLI of issue 22's new inputs: `vocmap check`, YOLO data (`--yolo-*`) and the
report's drawn errors (`report --images`), each with its refusals in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_check import expect_failure
from yolo_case import CLASSES, make_split

from vocmap import Evaluator
from vocmap.cli import main
from vocmap.io.yolo import read_yolo_ground_truth, read_yolo_predictions

DEMO = Path(__file__).resolve().parents[2] / "data_fixtures" / "demo"
VOC = ["--voc-root", str(DEMO / "VOC2007")]


def _shifted_results(folder: Path) -> Path:
    """The demo's result files with every coordinate minus 1 (0-based boxes)."""
    folder.mkdir()
    for path in (DEMO / "results").iterdir():
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        folder.joinpath(path.name).write_text(
            "".join(
                f"{r[0]} {r[1]} " + " ".join(f"{float(v) - 1:.1f}" for v in r[2:]) + "\n"
                for r in rows
            )
        )
    return folder


def test_check_finds_nothing_on_the_demo_and_zero_based_boxes_when_shifted(tmp_path, capsys):
    assert main(["check", str(DEMO / "results"), *VOC, "--quiet"]) == 0
    assert "no common mistake found" in capsys.readouterr().out
    shifted = _shifted_results(tmp_path / "shifted")
    assert main(["check", str(shifted), *VOC, "--quiet", "--json", str(tmp_path / "c.json")]) == 0
    text = capsys.readouterr().out
    assert "[zero_based]" in text and "corrected (every coordinate + 1" in text
    report = json.loads((tmp_path / "c.json").read_text())
    zero = next(f for f in report["findings"] if f["code"] == "zero_based")
    base = Evaluator(*_demo_inputs()).evaluate(_demo_detections()).map
    assert zero["map_corrected"] == base
    assert report["image_sizes_known"] is True


def _demo_inputs():
    from vocmap import read_voc

    return (read_voc(DEMO / "VOC2007", cache=False),)


def _demo_detections():
    from vocmap import read_detections, read_voc

    return read_detections(DEMO / "results", read_voc(DEMO / "VOC2007", cache=False))


def test_check_csv_has_a_row_per_finding(tmp_path, capsys):
    shifted = _shifted_results(tmp_path / "shifted")
    assert main(["check", str(shifted), *VOC, "--quiet", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "code,count,title,correction,map,map_corrected,effect"
    assert lines[1].startswith("zero_based,109,")


def _yolo(tmp_path: Path):
    image_dir, label_dir, pred_dir = make_split(tmp_path, np.random.default_rng(9), images=16)
    return image_dir, label_dir, pred_dir, tmp_path / "data.yaml"


def test_evaluate_yolo_data_equals_the_api(tmp_path, capsys):
    _, label_dir, pred_dir, data_yaml = _yolo(tmp_path)
    out = tmp_path / "r.json"
    argv = ["evaluate", str(pred_dir), "--yolo-labels", str(label_dir)]
    argv += ["--yolo-classes", str(data_yaml), "--yolo-predictions", "--json", str(out), "--quiet"]
    assert main(argv) == 0
    data = read_yolo_ground_truth(label_dir, data_yaml)
    want = Evaluator(data.ground_truth, data.classes).evaluate(
        read_yolo_predictions(pred_dir, data)
    )
    got = json.loads(out.read_text())
    assert list(got["classes"]) == list(CLASSES)
    assert got["map"] == want.map
    assert main(["check", *argv[1:7], "--quiet"]) == 0
    assert "detections on 16 images, 3 classes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--yolo-predictions"], "--yolo-predictions goes with --yolo-labels"),
        (["--yolo-labels", "{labels}"], "--yolo-labels needs --yolo-classes"),
        (
            ["--yolo-labels", "{labels}", "--yolo-classes", "{yaml}", "--voc-root", "{labels}"],
            "not with --voc-root",
        ),
        (
            ["--yolo-labels", "{labels}", "--yolo-classes", "{yaml}", "--classes", "horse"],
            "--classes horse: not in the class list",
        ),
        (
            ["--yolo-labels", "{labels}", "--yolo-classes", "{yaml}", "--yolo-predictions"],
            "is not one of 0..2",
        ),
    ],
)
def test_yolo_options_refuse_in_one_line(tmp_path, capsys, extra, message):
    _, label_dir, pred_dir, data_yaml = _yolo(tmp_path)
    (pred_dir / "im000.txt").write_text("7 0.5 0.5 0.1 0.1 0.9\n")
    fill = {"{labels}": str(label_dir), "{yaml}": str(data_yaml)}
    argv = [str(pred_dir), *(fill.get(a, a) for a in extra)]
    expect_failure(capsys, tmp_path / "out", argv, message)


def test_report_draws_the_top_errors_when_given_the_images(tmp_path, capsys):
    image = pytest.importorskip("PIL.Image")
    diagnosis = tmp_path / "d.json"
    assert (
        main(
            [
                "diagnose",
                str(DEMO / "results"),
                *VOC,
                "--quiet",
                "--top",
                "4",
                "--format",
                "json",
                "--out",
                str(diagnosis),
            ]
        )
        == 0
    )
    data = json.loads(diagnosis.read_text())
    images = tmp_path / "JPEGImages"
    images.mkdir()
    for entry in data["top_false_positives"] + data["top_missed"]:
        image.new("RGB", (500, 375), (90, 90, 90)).save(images / f"{entry['image_id']}.jpg")
    html = tmp_path / "r.html"
    assert (
        main(["report", str(diagnosis), "--out", str(html), "--images", str(images), "--quiet"])
        == 0
    )
    text = html.read_text()
    assert 'id="gallery"' in text and text.count("data:image/jpeg;base64,") >= 4
    result = tmp_path / "result.json"
    assert main(["evaluate", str(DEMO / "results"), *VOC, "--quiet", "--json", str(result)]) == 0
    capsys.readouterr()
    for argv, message in (
        (
            [str(result), "--out", str(tmp_path / "x.html"), "--images", str(images)],
            "--images draws a diagnosis",
        ),
        (
            [str(diagnosis), "--out", str(tmp_path / "x.html"), "--images", str(tmp_path / "no")],
            "images folder not found",
        ),
    ):
        assert main(["report", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not (tmp_path / "x.html").exists()
