"""vocmap report: one self-contained HTML file, checked as text and in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_paths import GOLDEN

import vocmap
from vocmap.analysis.diagnose import diagnose
from vocmap.cli import main
from vocmap.core.errors import InputError
from vocmap.report.html import load_report_inputs, write_report

CASE = GOLDEN / "random_11"


@pytest.fixture(scope="module")
def diagnosis_file(tmp_path_factory) -> Path:
    gt = vocmap.read_voc(CASE, cache=False)
    classes = json.loads((CASE / "case.json").read_text())["classes"]
    dets = vocmap.read_detections(CASE / "results", gt, classes)
    path = tmp_path_factory.mktemp("diag") / "diagnosis.json"
    diagnose(gt, dets, classes, top=15).to_json(path)
    return path


def result_with_intervals(tmp_path: Path, classes=("dog", "cat")) -> Path:
    """A result JSON as the bootstrap stores intervals (written by hand)."""
    data = {
        "metric": "voc07",
        "iou": 0.5,
        "semantics": "devkit",
        "classes": {
            c: {"ap": 0.5 + 0.1 * k, "npos": 10, "detections": 20, "tp": 6, "fp": 14, "ignored": 0}
            for k, c in enumerate(classes)
        },
        "map": 0.55,
        "ci": {
            "level": 0.95,
            "resamples": 1000,
            "seed": 0,
            "method": "percentile",
            "classes": {classes[0]: [0.41, 0.58], classes[1]: [0.52, 0.69]},
            "map": [0.49, 0.61],
        },
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data))
    return path


def test_a_diagnosis_report_has_every_section_and_nothing_outside(diagnosis_file, tmp_path):
    out = write_report(load_report_inputs(diagnosis_file), tmp_path / "r.html")
    text = out.read_text()
    for anchor in ("classes", "pr", "tide", "hoiem", "properties", "confusion", "errors"):
        assert f'<section id="{anchor}">' in text
    assert "default-src 'none'" in text  # the browser refuses every request
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in text and "http://" not in text and "https://" not in text


def test_intervals_from_the_result_are_shown(tmp_path):
    text = write_report(
        load_report_inputs(result_with_intervals(tmp_path)), tmp_path / "r.html"
    ).read_text()
    assert "[0.4100, 0.5800]" in text and "[0.4900, 0.6100]" in text
    assert "1000 resamples" in text and "interval" in text


def test_a_malformed_interval_is_an_input_error(tmp_path):
    path = result_with_intervals(tmp_path)
    data = json.loads(path.read_text())
    data["ci"]["classes"]["dog"] = [0.1]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="'ci' must be"):
        load_report_inputs(path)


def test_names_from_files_are_escaped(tmp_path):
    path = result_with_intervals(tmp_path, classes=("<script>alert(1)</script>", "cat"))
    text = write_report(load_report_inputs(path), tmp_path / "r.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_not_a_result_is_an_input_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="not a vocmap result"):
        load_report_inputs(path)


def test_report_of_a_scored_run_shows_ap_over_steps(tmp_path):
    from run_builder import make_run

    voc_root, run = make_run(tmp_path, steps=(100, 200, 300), images=30)
    classes = ["bottle", "car", "cat", "dog", "person"]
    assert main(["score", str(run), "--voc-root", str(voc_root), "--classes", *classes]) == 0
    assert main(["report", str(run), "--out", str(tmp_path / "run.html")]) == 0
    text = (tmp_path / "run.html").read_text()
    assert '<section id="steps">' in text and "step 300" in text


def test_cli_diagnose_and_report(tmp_path, capsys):
    args = ["diagnose", str(CASE / "results"), "--voc-root", str(CASE), "--top", "3"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "TIDE: AP gained by fixing each error type" in text and "Top false positives" in text
    assert main([*args, "--format", "json", "--out", str(tmp_path / "d.json")]) == 0
    assert json.loads((tmp_path / "d.json").read_text())["format"] == "vocmap-diagnosis"
    assert main([*args, "--metric", "coco50"]) == 0
    assert "TIDE's own AP50" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "d.json"), "--out", str(tmp_path / "d.html")]) == 0
    assert main(["report", str(tmp_path / "missing.json"), "--out", str(tmp_path / "e.html")]) == 2
    assert not (tmp_path / "e.html").exists()
    assert "file not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# A real browser
# --------------------------------------------------------------------------- #

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_in_browser(path: Path, screenshot: Path | None = None) -> dict:
    """Load ``path`` in headless Chromium; what it logged, requested and rendered."""
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright (diagnose-test extra) missing"
    )
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium (make test installs Debian's chromium when it runs as root with apt)"
        )
    seen = {"console_errors": [], "page_errors": [], "requests": []}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("console", lambda m: m.type == "error" and seen["console_errors"].append(m.text))
        page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
        page.on("request", lambda r: seen["requests"].append(r.url))
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
        seen["sections"] = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        seen["broken_images"] = page.eval_on_selector_all(
            "img", "els => els.filter(i => !(i.complete && i.naturalWidth > 0)).length"
        )
        seen["images"] = page.eval_on_selector_all("img", "els => els.length")
        seen["class_rows"] = page.eval_on_selector_all("#classes tr", "els => els.length")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    seen["requests"] = [
        u for u in seen["requests"] if u != path.resolve().as_uri() and not u.startswith("data:")
    ]
    return seen


def test_the_report_renders_in_a_headless_browser_without_errors(diagnosis_file, tmp_path):
    out = write_report(load_report_inputs(diagnosis_file), tmp_path / "report.html")
    seen = open_in_browser(out, tmp_path / "report.png")
    assert seen["console_errors"] == [] and seen["page_errors"] == []
    assert seen["requests"] == []  # nothing fetched, not even a font
    assert seen["sections"] == [
        "classes",
        "pr",
        "f1",
        "tide",
        "hoiem",
        "properties",
        "confusion",
        "errors",
    ]
    assert seen["images"] == 4 and seen["broken_images"] == 0
    assert seen["class_rows"] == 1 + 20 + 1  # header, 20 classes, mAP
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_the_drawn_errors_render_in_a_headless_browser(diagnosis_file, tmp_path):
    """``report --images``: the gallery's thumbnails are data URIs the browser decodes."""
    import dataclasses

    image = pytest.importorskip("PIL.Image")
    inputs = load_report_inputs(diagnosis_file)
    folder = tmp_path / "JPEGImages"
    folder.mkdir()
    d = inputs.diagnosis
    ids = {e["image_id"] for e in d["top_false_positives"] + d["top_missed"]}
    for image_id in ids:
        image.new("RGB", (320, 240), (120, 90, 60)).save(folder / f"{image_id}.jpg")
    out = write_report(dataclasses.replace(inputs, images=folder), tmp_path / "report.html")
    seen = open_in_browser(out)
    assert seen["console_errors"] == [] and seen["page_errors"] == []
    assert seen["requests"] == []
    assert seen["sections"][-1] == "gallery"
    assert seen["images"] > 4 and seen["broken_images"] == 0


def test_the_browser_check_catches_a_page_that_fetches(tmp_path):
    """The harness itself can fail: a page that loads a remote image is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
    seen = open_in_browser(page)
    assert seen["requests"] == ["http://example.invalid/x.png"]
    assert seen["console_errors"]


def test_vocmap_help_lists_the_new_commands():
    out = subprocess.run(
        [sys.executable, "-c", "from vocmap.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
    ).stdout
    assert "diagnose" in out and "report" in out


MARKUP = "<b>injected</b>"


def _leaf_patterns(data, path=()):
    """One path per leaf *pattern*: class names, bins and list positions collapsed to
    their first instance (a diagnosis has thousands of leaves, a few dozen kinds)."""
    seen = {}

    def walk(value, path, pattern):
        if isinstance(value, dict):
            for index, (key, child) in enumerate(value.items()):
                kind = key if index < 8 and key in _FIXED_KEYS else "*"
                walk(child, (*path, key), (*pattern, kind))
        elif isinstance(value, list):
            for index, child in enumerate(value[:1]):
                walk(child, (*path, index), (*pattern, "[]"))
        else:
            seen.setdefault(pattern, path)

    walk(data, (), ())
    return sorted(seen.values(), key=str)


_FIXED_KEYS = {
    "format", "version", "settings", "result", "tide", "hoiem", "sensitivity", "confusion",
    "top_false_positives", "top_missed", "metric", "iou", "semantics", "classes", "map", "ap",
    "npos", "detections", "tp", "fp", "ignored", "rec", "prec", "fg_iou", "bg_iou",
    "error_types", "overall", "dap", "false_positive_dap", "false_negative_dap", "counts",
    "ap_all_fixed", "types", "sets", "totals", "fractions", "impact", "properties", "missing",
    "objects", "true_positives", "recall", "threshold", "rows", "columns", "image_id",
    "class", "score", "box", "why", "why_label", "object", "overlap", "area",
}  # fmt: skip


def _put(data, path, value):
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


@pytest.mark.parametrize("replacement", [MARKUP, [MARKUP]], ids=["markup", "list"])
def test_every_field_of_a_diagnosis_is_type_checked_and_escaped(
    diagnosis_file, tmp_path, monkeypatch, replacement
):
    """Issue 18: values read from an input JSON went into the HTML unescaped (a string in
    a count field injected markup), and a wrong-typed field was a traceback. Each kind of
    field, replaced in turn: the report escapes it, or refuses the file in one error
    naming it; never another exception, never raw markup in the page."""
    from vocmap.report import html_figures

    for name in ("pr_curves", "tide_bars", "hoiem_trends", "sensitivity_bars"):
        monkeypatch.setattr(html_figures, name, lambda *a, **k: None)  # the text only
    original = json.loads(diagnosis_file.read_text())
    refused = 0
    for path in _leaf_patterns(original):
        data = json.loads(json.dumps(original))
        _put(data, path, replacement)
        crafted = tmp_path / "crafted.json"
        crafted.write_text(json.dumps(data))
        try:
            text = write_report(load_report_inputs(crafted), tmp_path / "r.html").read_text()
        except InputError as error:
            assert str(error).startswith(f"{crafted}"), (path, str(error))
            refused += 1
            continue
        assert "<b>" not in text, path
    assert refused > 10  # counts, numbers and structure are checked, not only escaped


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("classes", "dog", "npos"), "<img src=x onerror=alert(1)>"),
        (("classes", "dog", "tp"), "3"),
        (("classes", "dog", "fp"), True),
        (("classes", "dog", "detections"), -1),
        (("map",), "0.5"),
        (("iou",), "x"),
    ],
)
def test_a_result_field_of_the_wrong_type_is_one_error_naming_the_file(tmp_path, where, value):
    path = result_with_intervals(tmp_path)
    data = json.loads(path.read_text())
    _put(data, where, value)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as raised:
        write_report(load_report_inputs(path), tmp_path / "r.html")
    assert str(raised.value).startswith(f"{path}: ")
    assert not (tmp_path / "r.html").exists()


def test_an_unknown_tide_error_type_is_one_error(diagnosis_file, tmp_path):
    data = json.loads(diagnosis_file.read_text())
    data["tide"]["error_types"].append("<script>")
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="not a well-formed vocmap diagnosis"):
        write_report(load_report_inputs(path), tmp_path / "r.html")


def test_a_class_name_with_dollars_is_drawn_as_text(tmp_path):
    """Issue 18: `$...$` in a class name crashed matplotlib's mathtext."""
    pytest.importorskip("matplotlib")
    path = result_with_intervals(tmp_path, classes=("$x^$", "a$b$c"))
    data = json.loads(path.read_text())
    for entry in data["classes"].values():
        entry.update(rec=[0.1, 0.5], prec=[1.0, 0.5])
    path.write_text(json.dumps(data))
    text = write_report(load_report_inputs(path), tmp_path / "r.html").read_text()
    assert '<section id="pr">' in text and "$x^$" in text


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder-as-diagnosis"])
def test_a_special_file_as_report_input_is_refused_at_once(tmp_path, capsys, kind):
    """Issue 18: a FIFO input hung; /dev/zero gave a MemoryError traceback."""
    import os

    from cli_check import within_seconds

    good = result_with_intervals(tmp_path)
    if kind == "fifo":
        special = tmp_path / "fifo.json"
        os.mkfifo(special)
        argv = ["report", str(special)]
    elif kind == "dev-zero":
        special = Path("/dev/zero")
        argv = ["report", str(special)]
    else:
        special = tmp_path / "folder"
        special.mkdir()
        argv = ["report", str(good), "--diagnosis", str(special)]
    with within_seconds(20):
        status = main([*argv, "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"vocmap: error: {special}: ") and "not a regular file" in err
    assert not (tmp_path / "r.html").exists()
