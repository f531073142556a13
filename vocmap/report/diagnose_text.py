"""``vocmap diagnose`` as text tables (from a Diagnosis's JSON form).

Everything here reads the dict of ``Diagnosis.to_dict()`` (or the JSON file), so
the text and the HTML report show the same numbers. APs and dAPs are printed in
AP points (x 100), as TIDE prints them.
"""

from __future__ import annotations

from vocmap.report.text import render_table

TIDE_COLUMNS = ("cls", "loc", "both", "dupe", "bkg", "miss")
HOIEM_TYPES = ("loc", "sim", "oth", "bg")


def points(value: float | None, digits: int = 2, sign: bool = False) -> str:
    """An AP fraction in points (x 100); '-' for null."""
    if value is None:
        return "-"
    return f"{value * 100:+.{digits}f}" if sign else f"{value * 100:.{digits}f}"


def safe(text: object) -> str:
    """A name from a file, with control characters escaped (\\x1b, \\n, ...)."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def tide_table(d: dict) -> str:
    tide = d["tide"]
    metric = {"coco50": "TIDE's own AP50 (tidecv)", "voc12": "VOC2010+ area AP"}.get(
        tide["metric"], "VOC2007 11-point AP"
    )
    header = ["class", "AP", *(f"d{t}" for t in TIDE_COLUMNS), "dFP", "dFN", "all fixed"]
    rows = []
    for name, b in [*tide["classes"].items(), ("mean", tide["overall"])]:
        rows.append(
            [
                safe(name),
                points(b["ap"]),
                *(points(b["dap"][t]) for t in TIDE_COLUMNS),
                points(b["false_positive_dap"]),
                points(b["false_negative_dap"]),
                points(b["ap_all_fixed"]),
            ]
        )
    counts = [["class", *TIDE_COLUMNS]]
    for name, b in [*tide["classes"].items(), ("total", tide["overall"])]:
        counts.append([name, *(str(b["counts"][t]) for t in TIDE_COLUMNS)])
    title = (
        f"TIDE: AP gained by fixing each error type (dAP, AP points) on {metric}, "
        f"IoU fg {tide['fg_iou']:g} / bg {tide['bg_iou']:g}"
    )
    return (
        f"{title}\n{render_table(header, rows)}\n"
        f"TIDE: errors of each type (cls = classification, loc = localisation, both = "
        f"cls+loc, dupe = duplicate, bkg = background, miss = missed)\n"
        f"{render_table(counts[0], counts[1:])}\n"
    )


def hoiem_table(d: dict) -> str:
    hoiem = d["hoiem"]
    header = ["class", "FPs", *HOIEM_TYPES, "AP", *(f"AP w/o {t}" for t in HOIEM_TYPES)]
    rows = []
    for name, trend in hoiem["classes"].items():
        total = sum(trend["counts"].values())
        impact = hoiem["impact"][name]
        rows.append(
            [
                name,
                str(total),
                *(_percent(trend["counts"][t], total) for t in HOIEM_TYPES),
                points(impact["ap"], 1),
                *(points(impact[f"without_{t}"], 1) for t in HOIEM_TYPES),
            ]
        )
    mean = hoiem["impact"]["mean"]
    total = sum(hoiem["sets"]["overall"]["counts"].values())
    rows.append(
        [
            "all",
            str(total),
            *(_percent(hoiem["sets"]["overall"]["counts"][t], total) for t in HOIEM_TYPES),
            points(mean["ap"], 1),
            *(points(mean[f"without_{t}"], 1) for t in HOIEM_TYPES),
        ]
    )
    trend_rows = []
    for set_name, trend in hoiem["sets"].items():
        for k, total_fp in enumerate(trend["totals"]):
            trend_rows.append(
                [
                    set_name,
                    str(total_fp),
                    *(f"{100 * trend['fractions'][t][k]:.0f}%" for t in HOIEM_TYPES),
                ]
            )
    return (
        "Hoiem: false positives by type (loc = localisation or duplicate, sim = similar "
        "class, oth = other class, bg = background) and the AP without each type\n"
        f"{render_table(header, rows)}\n"
        "Hoiem: share of each type among the top-ranked false positives\n"
        f"{render_table(['set', 'top FPs', *HOIEM_TYPES], trend_rows)}\n"
    )


def sensitivity_table(d: dict) -> str:
    sens = d["sensitivity"]
    rows = []
    for prop, bins in sens["properties"].items():
        for label, per_class in bins.items():
            o = per_class["overall"]
            rows.append(
                [
                    prop,
                    label,
                    str(o["objects"]),
                    "-" if o["recall"] is None else f"{o['recall']:.3f}",
                    points(o["ap"], 1),
                ]
            )
    note = ""
    if sens["missing"]:
        note = f"(not in this ground truth: {', '.join(sens['missing'])})\n"
    return (
        "Sensitivity: recall and AP (mean over classes) per bin of each object property\n"
        f"{render_table(['property', 'bin', 'objects', 'recall', 'AP'], rows)}\n{note}"
    )


def confusion_table(d: dict) -> str:
    conf = d["confusion"]
    short = [name[:5] for name in conf["columns"]]
    rows = [[r, *(str(v) for v in row)] for r, row in zip(conf["rows"], conf["counts"])]
    return (
        f"Confusion matrix at score >= {conf['threshold']:g} (rows: true class, columns: "
        "predicted class)\n"
        f"{render_table(['', *short], rows)}\n"
    )


def top_errors_table(d: dict, top: int) -> str:
    fp_rows = [
        [
            safe(e["image_id"]),
            safe(e["class"]),
            f"{e['score']:.4g}",
            " ".join(f"{v:g}" for v in e["box"]),
            e["why_label"],
            "" if e["object"] is None else f"{safe(e['object']['class'])} {_overlap(e['overlap'])}",
        ]
        for e in d["top_false_positives"][:top]
    ]
    miss_rows = [
        [
            safe(e["image_id"]),
            safe(e["class"]),
            " ".join(f"{v:g}" for v in e["box"]),
            f"{e['area']:g}",
            e["why_label"],
            "" if e["score"] is None else f"{e['score']:.4g}",
        ]
        for e in d["top_missed"][:top]
    ]
    return (
        "Top false positives\n"
        f"{render_table(['image', 'class', 'score', 'box', 'why', 'object'], fp_rows)}\n"
        "Largest objects not found (why: the nearest error, or missed)\n"
        f"{render_table(['image', 'class', 'box', 'area', 'why', 'score'], miss_rows)}\n"
    )


def _overlap(value: float | None) -> str:
    return "" if value is None else f"IoU {value:.2f}"


def format_diagnosis(d: dict, top: int = 10) -> str:
    """Every table of a diagnosis (its dict form), separated by blank lines; first, when
    the classes diagnosed leave classes of the ground truth out, a line saying so (the
    "mean" rows are then means over a subset, not the mAP)."""
    from vocmap.core.results import subset_scope

    result = d.get("result") or {}
    left_out = result.get("map_left_out")
    scope = None
    if isinstance(left_out, list):
        scope = subset_scope(len(result.get("classes") or {}), [str(c) for c in left_out])
    parts = [
        *([f"the mean rows below: {scope}\n"] if scope else []),
        tide_table(d),
        hoiem_table(d),
        sensitivity_table(d),
        confusion_table(d),
        top_errors_table(d, top),
    ]
    return "\n".join(parts)
