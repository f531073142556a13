"""The sections of the HTML report, each an HTML fragment (inputs escaped)."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from vocmap.report import html_figures as figures

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
color:#1d1d1f;background:#fafafa;line-height:1.4}
header{background:#22313f;color:#fff;padding:14px 28px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
.summary{margin:0 0 8px;color:#d6e2ec}
nav a{color:#fff;margin-right:14px;font-size:14px;text-decoration:none;border-bottom:1px dotted #9fb6c9}
main{padding:8px 28px 28px;max-width:1280px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}
h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:3px 9px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{background:#f3f5f7;font-weight:600}
td:first-child,th:first-child{text-align:left}
tr.total td{font-weight:700;border-top:2px solid #bbb}
td.text{text-align:left}
td.barcell{text-align:left;width:130px}
.bar{display:inline-block;height:9px;background:#4e79a7;vertical-align:middle;margin-right:6px}
.note{color:#555;font-size:13px;margin:4px 0}
img{max-width:100%;height:auto;display:block;margin:6px 0}
details summary{cursor:pointer;color:#22313f;font-weight:600;margin:8px 0}
ul{font-size:13px;margin:6px 0;padding-left:22px}
.scroll{overflow-x:auto}
footer{color:#777;font-size:12px;padding:0 28px 20px}
"""


class MalformedField(ValueError):
    """A value of an input JSON has the wrong type (a string where a count belongs)."""


def number(value, what: str = "a value") -> float:
    """``value`` if it is a number (not a bool, not a string); else MalformedField."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedField(f"{what} must be a number, not {type(value).__name__} {value!r:.40}")
    return value


def fmt(value, digits: int = 4) -> str:
    """A number for a table cell; '-' for null/NaN; anything else is MalformedField."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{number(value):.{digits}f}"


def points(value, digits: int = 2) -> str:
    """An AP or an AP difference as a fraction, like every AP in the report (TIDE and
    Hoiem print AP points, x100: ``digits`` are those points' decimals, so 0.9870 is
    TIDE's 98.70); '-' for null."""
    return "-" if value is None else f"{number(value):.{digits + 2}f}"


def count(value, what: str = "a count") -> str:
    """A whole number for a cell; '-' for a missing one; anything else is MalformedField."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedField(f"{what} must be a whole number, not {value!r:.40}")
    return str(value)


def general(value) -> str:
    """A number in ``:g`` style (an IoU, a threshold)."""
    return f"{number(value):g}"


def string(value) -> str:
    """A string from the input, HTML-escaped (a number is shown as it is)."""
    if isinstance(value, str):
        return escape(value)
    return escape(f"{number(value):g}")


def table(
    header: list[str], rows: list[list[str]], total_last: bool = False, left: tuple = ()
) -> str:
    """An HTML table of already-escaped cells; columns ``left`` (and bars) left-aligned."""
    head = "".join(
        f'<th style="text-align:left">{h}</th>' if i in left else f"<th>{h}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for k, row in enumerate(rows):
        cls = ' class="total"' if total_last and k == len(rows) - 1 else ""
        cells = "".join(
            f'<td class="barcell">{c}</td>'
            if 'class="bar"' in c
            else (f'<td class="text">{c}</td>' if i in left else f"<td>{c}</td>")
            for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def image(uri: str | None, alt: str) -> str:
    return "" if uri is None else f'<img src="{uri}" alt="{escape(alt)}">'


def metric_label(result: dict) -> str:
    names = {"voc07": "VOC2007 11-point AP", "voc12": "VOC2010+ area AP"}
    label = names.get(str(result.get("metric")), str(result.get("metric", "AP")))
    label += f" at IoU {general(result.get('iou', 0.5))}"
    semantics = result.get("semantics", "devkit")
    if semantics != "devkit":
        label += f", {semantics} semantics"
    return label


def _left_out(r: dict) -> tuple[str, ...]:
    """The result's ``map_left_out`` (classes its mAP does not cover), as strings."""
    left_out = r.get("map_left_out")
    if not isinstance(left_out, list):
        return ()
    return tuple(str(c) for c in left_out)


def map_words(r: dict) -> tuple[str, str]:
    """The mAP's label and, for a mean over a subset of the classes, what it covers."""
    from vocmap.core.results import map_label, subset_scope

    n = len(r.get("classes") or {})
    left_out = _left_out(r)
    return map_label(n, left_out), subset_scope(n, left_out) or ""


def summary_line(inputs) -> str:
    r = inputs.result
    if r is None:
        return ""
    label, scope = map_words(r)
    text = f"{escape(label)} {fmt(r.get('map'))} ({escape(metric_label(r))})"
    if scope:
        text += f", {escape(scope)}"
    ci = r.get("ci")
    if ci and ci.get("map"):
        lo, hi = ci["map"]
        text += f", {escape(str(ci.get('level', '')))} interval [{fmt(lo)}, {fmt(hi)}]"
    if inputs.step is not None:
        text += f", step {inputs.step}"
    return text


def class_table(inputs) -> str:
    r = inputs.result
    if r is None:
        return ""
    ci = r.get("ci") or {}
    intervals = ci.get("classes", {})
    header = ["class", "AP", ""]
    if ci:
        header.append("interval")
    header += ["objects", "detections", "TP", "FP", "recall"]
    rows = []
    for name, e in r["classes"].items():
        ap = e.get("ap")
        width = 0 if ap is None else max(0.0, min(1.0, ap)) * 120
        cells = [escape(name), fmt(ap), f'<span class="bar" style="width:{width:.0f}px"></span>']
        if ci:
            lo_hi = intervals.get(name)
            cells.append("-" if not lo_hi else f"[{fmt(lo_hi[0])}, {fmt(lo_hi[1])}]")
        cells += [count(e.get(k), k) for k in ("npos", "detections", "tp", "fp")]
        npos, tp = e.get("npos"), e.get("tp")
        recall = tp / npos if npos and tp is not None else None
        cells.append(fmt(recall))
        rows.append(cells)
    label, scope = map_words(r)
    total = [escape(label), fmt(r.get("map")), ""]
    if ci:
        m = ci.get("map")
        total.append("-" if not m else f"[{fmt(m[0])}, {fmt(m[1])}]")
    total += ["", "", "", "", ""]
    rows.append(total)
    note = f'<p class="note">{escape(metric_label(r))}.'
    if scope:
        note += f" {escape(label)}: {escape(scope)}."
    if ci:
        note += (
            f" Intervals: {escape(str(ci.get('level', '?')))} {escape(str(ci.get('method', '')))}"
            f" over test images, {escape(str(ci.get('resamples', '?')))} resamples,"
            f" seed {escape(str(ci.get('seed', '?')))}."
        )
    return note + "</p>" + table(header, rows, total_last=True)


def tide_section(d: dict) -> str:
    tide = d["tide"]
    types = tide["error_types"]
    names = {"coco50": "TIDE's own AP50 (equal to tidecv)", "voc12": "the devkit's area AP"}
    on = names.get(tide["metric"], "the devkit's VOC2007 11-point AP")
    rows = [
        [
            escape(n),
            points(b["ap"]),
            *(points(b["dap"][t]) for t in types),
            points(b["false_positive_dap"]),
            points(b["false_negative_dap"]),
        ]
        for n, b in [*tide["classes"].items(), ("mean", tide["overall"])]
    ]
    counts = [
        [escape(n), *(count(b["counts"][t], f"count of {t}") for t in types)]
        for n, b in [*tide["classes"].items(), ("total", tide["overall"])]
    ]
    return (
        f'<p class="note">AP gained by fixing each error type alone (dAP, a fraction like '
        f"every AP in this report: TIDE prints it x100), on {on}; "
        f"foreground IoU {general(tide['fg_iou'])}, background {general(tide['bg_iou'])}. "
        "With every type "
        f"fixed at once the mean becomes {points(tide['overall']['ap_all_fixed'])}.</p>"
        + image(figures.tide_bars(tide), "dAP per error type")
        + table(["class", "AP", *(f"d{t}" for t in types), "dFP", "dFN"], rows, True)
        + "<details><summary>Errors of each type</summary>"
        + table(["class", *types], counts, True)
        + "</details>"
    )


def hoiem_section(d: dict) -> str:
    h = d["hoiem"]
    types = h["types"]
    rows = []
    for name, t in h["classes"].items():
        total = sum(int(count(t["counts"][k], f"count of {k}")) for k in types)
        shares = [f"{100 * t['counts'][k] / total:.0f}%" if total else "-" for k in types]
        impact = h["impact"][name]
        rows.append(
            [
                escape(name),
                count(total),
                *shares,
                points(impact["ap"], 1),
                *(points(impact[f"without_{k}"], 1) for k in types),
            ]
        )
    return (
        '<p class="note">Hoiem et al. (ECCV 2012): the share of localisation (Loc, incl. '
        "duplicates), similar-class (Sim), other-class (Oth) and background (BG) errors "
        "among the top-ranked false positives, as more are taken.</p>"
        + image(figures.hoiem_trends(h), "false-positive types against their number")
        + table(["class", "FPs", *types, "AP", *(f"AP w/o {k}" for k in types)], rows)
    )


def sensitivity_section(d: dict) -> str:
    s = d["sensitivity"]
    rows = []
    for prop, bins in s["properties"].items():
        for label, per_class in bins.items():
            o = per_class["overall"]
            rows.append(
                [
                    string(prop),
                    string(label),
                    count(o["objects"], "objects"),
                    fmt(o["recall"], 3),
                    points(o["ap"], 1),
                ]
            )
    missing = ""
    if s["missing"]:
        missing = f'<p class="note">Not in this ground truth: {", ".join(string(m) for m in s["missing"])}.</p>'
    return (
        '<p class="note">AP (mean over classes) and recall of each bin: only its objects count, '
        "the class's other objects are treated like difficult ones. n: the bin's objects "
        "(an AP from a few objects is a rough one).</p>"
        + missing
        + image(figures.sensitivity_bars(s), "AP per object property")
        + table(["property", "bin", "objects", "recall", "AP"], rows, left=(1,))
    )


def confusion_section(d: dict) -> str:
    c = d["confusion"]
    peak = max((int(count(v)) for row in c["counts"] for v in row), default=0) or 1
    head = "<th>true \\ predicted</th>" + "".join(
        f'<th style="writing-mode:vertical-rl">{string(n)}</th>' for n in c["columns"]
    )
    body = []
    for name, row in zip(c["rows"], c["counts"]):
        cells = "".join(
            f'<td style="background:rgba(78,121,167,{0.08 + 0.8 * v / peak:.2f})">{count(v)}</td>'
            if v
            else "<td></td>"
            for v in row
        )
        body.append(f"<tr><td>{string(name)}</td>{cells}</tr>")
    return (
        f'<p class="note">Detections scoring at least {general(c["threshold"])}: a false positive '
        "overlapping another class's object by the IoU goes to that class's row, any other to "
        "background; objects no kept detection found are in the missed column.</p>"
        f'<div class="scroll"><table>{head}{"".join(body)}</table></div>'
    )


def _box(values) -> str:
    return " ".join(general(v) for v in values)


def errors_section(d: dict) -> str:
    fps = [
        [
            string(e["image_id"]),
            string(e["class"]),
            f"{number(e['score']):.4g}",
            _box(e["box"]),
            string(e["why_label"]),
            ""
            if e["object"] is None
            else string(e["object"]["class"]) + " " + _box(e["object"]["box"]),
            fmt(e["overlap"], 2),
        ]
        for e in d["top_false_positives"]
    ]
    missed = [
        [
            string(e["image_id"]),
            string(e["class"]),
            _box(e["box"]),
            general(e["area"]),
            string(e["why_label"]),
            "" if e["score"] is None else f"{number(e['score']):.4g}",
        ]
        for e in d["top_missed"]
    ]
    return (
        "<h3>Highest-scoring false positives</h3>"
        + table(
            ["image", "class", "score", "box (VOC pixels)", "why", "object", "IoU"],
            fps,
            left=(1, 3, 4, 5),
        )
        + "<h3>Largest objects not found</h3>"
        + table(
            ["image", "class", "box", "area", "nearest error", "its score"], missed, left=(1, 2, 4)
        )
    )


def run_section(inputs) -> str:
    if inputs.run_table is None:
        return ""
    out = image(
        figures.ap_over_steps(inputs.run_table, "AP (VOC2007 11-point, IoU 0.5)"), "AP over steps"
    )
    if inputs.history is not None and "step" in inputs.history:
        from vocmap.report.plotting import plot_loss_history

        out += image(figures.data_uri(plot_loss_history(inputs.history, None), 90), "loss history")
    return out


def best_f1_points(inputs) -> dict | None:
    """The best-F1 operating points the inputs carry (a diagnosis has them; a result
    JSON of ``evaluate --operating-point``), checked; None if there are none."""
    found = None
    if inputs.diagnosis is not None:
        found = inputs.diagnosis.get("operating_points")
    if found is None and inputs.result is not None:
        listed = inputs.result.get("operating_points")
        if listed is not None:
            if not isinstance(listed, list):
                raise MalformedField("operating_points must be a list")
            found = next(
                (p for p in listed if isinstance(p, dict) and p.get("rule") == "max-f1"), None
            )
    if found is None:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("classes"), dict):
        raise MalformedField("operating_points must be {rule, classes: {class: {...}}, micro}")
    for point in [*found["classes"].values(), found.get("micro")]:
        if not isinstance(point, dict):
            raise MalformedField("an operating point must be an object")
        for key in ("threshold", "precision", "recall", "f1"):
            if point.get(key) is not None:
                number(point[key], key)
    return found


def operating_point_section(inputs) -> str:
    """Each class at its best-F1 score threshold, and the micro row."""
    points = best_f1_points(inputs)
    if points is None:
        return ""
    rows = []
    for name, p in [*points["classes"].items(), ("micro", points["micro"])]:
        rows.append(
            [
                string(name),
                "-" if p.get("threshold") is None else general(p["threshold"]),
                fmt(p.get("precision")),
                fmt(p.get("recall")),
                fmt(p.get("f1")),
                count(p.get("tp"), "tp"),
                count(p.get("fp"), "fp"),
            ]
        )
    return (
        '<p class="note">Each class at the score threshold with the best F1 (F1 = 2 TP / '
        "(TP + FP + objects)), counted from the same matching as the AP (the star in the "
        "precision-recall panels); the micro row adds each class's counts at its own "
        "threshold.</p>"
        + table(["class", "score >=", "precision", "recall", "F1", "TP", "FP"], rows, True)
    )


def pr_section(result: dict | None, points: dict | None = None) -> str:
    """The PR panels (with each class's best-F1 point when known), or (a result JSON
    without curves) how to get them."""
    if result is None:
        return ""
    uri = figures.pr_curves(result, points)
    if uri is not None:
        return image(uri, "PR curves")
    return (
        '<p class="note">This result file holds no curves (<code>vocmap evaluate --json</code> '
        "keeps it small). The report of <code>vocmap diagnose --format json</code>'s file, or "
        "of a scored run folder, draws every class's precision-recall curve.</p>"
    )


def best_section(inputs) -> str:
    """A run's best checkpoint against the next best (``table --best``), or how to get it."""
    if inputs.run_table is None:
        return ""
    best = inputs.best
    if best is None:
        return (
            '<p class="note">Give the ground truth the run was scored with '
            "(<code>vocmap report RUN --voc-root DIR</code>) to compare the best checkpoint "
            "with the next best by a paired bootstrap over the test images.</p>"
        )
    level = f"{best.level * 100:g}%"
    rows = [[f"{best.step} (best)", fmt(best.map), "", "", "", ""]]
    for r in best.rivals:
        rows.append(
            [
                str(r.step),
                fmt(r.map),
                f"{r.diff:+.4f}",
                f"[{r.lo:+.4f}, {r.hi:+.4f}]",
                f"{r.beats:.1%}",
                escape(best.p_text(r.p_holm)),
            ]
        )
    header = ["step", "mAP", f"{best.step} - it", f"{level} interval", "beats it", "p (Holm)"]
    note = (
        f'<p class="note">Step {best.step} has the highest mAP. Paired {escape(best.method)} '
        f"bootstrap over the {best.images} test images, {best.resamples} resamples, seed "
        f"{best.seed}; p-values two-sided, Holm-adjusted over the {best.pairs} pair"
        f"{'s' if best.pairs != 1 else ''} of the {len(best.rivals) + 1} checkpoints "
        "(the intervals are not adjusted).</p>"
    )
    verdicts = "".join(f"<li>{escape(line)}</li>" for line in best.verdicts())
    return note + table(header, rows) + (f"<ul>{verdicts}</ul>" if verdicts else "")


def gallery_section(d: dict, images) -> str:
    """The top errors drawn on their images (:mod:`vocmap.report.html_thumbnails`)."""
    from vocmap.analysis.tide_types import ERROR_LABELS
    from vocmap.report.html_thumbnails import error_gallery

    return error_gallery(d, images, ERROR_LABELS)


def all_sections(inputs) -> list[tuple[str, str, Callable[[], str], str]]:
    """(anchor, heading, a function making the body, which input it shows: "result"
    or "diagnosis")."""
    d = inputs.diagnosis
    result = inputs.result
    out: list[tuple[str, str, Callable[[], str], str]] = [
        ("classes", "Per-class AP", lambda: class_table(inputs), "result"),
        ("steps", "AP over training steps", lambda: run_section(inputs), "result"),
        ("best", "The best checkpoint", lambda: best_section(inputs), "result"),
        (
            "pr",
            "Precision-recall curves",
            lambda: pr_section(result, best_f1_points(inputs)),
            "result",
        ),
        ("f1", "Operating point (best F1)", lambda: operating_point_section(inputs), "result"),
    ]
    if d is not None:
        out += [
            ("tide", "Error types (TIDE)", lambda: tide_section(d), "diagnosis"),
            ("hoiem", "False positives (Hoiem et al.)", lambda: hoiem_section(d), "diagnosis"),
            ("properties", "Object properties", lambda: sensitivity_section(d), "diagnosis"),
            ("confusion", "Confusion matrix", lambda: confusion_section(d), "diagnosis"),
            ("errors", "Top errors", lambda: errors_section(d), "diagnosis"),
        ]
        if inputs.images is not None:
            out.append(
                (
                    "gallery",
                    "Top errors, drawn",
                    lambda: gallery_section(d, inputs.images),
                    "diagnosis",
                )
            )
    return out
