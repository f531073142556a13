"""The HTML report's figures: matplotlib PNGs as ``data:`` URIs (no file, no network).

Static images rather than interactive plots: the report must open anywhere with
no server and no script (its Content-Security-Policy forbids scripts and every
fetch), stay small (an interactive library would add megabytes of JavaScript)
and print as it looks.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from vocmap.report.plotting import plain_text, plot_ap_over_steps, plot_pr_curves
from vocmap.runs.tables import APTable

TIDE_COLORS = {
    "cls": "#e15759",
    "loc": "#4e79a7",
    "both": "#b07aa1",
    "dupe": "#f28e2b",
    "bkg": "#9c755f",
    "miss": "#76b7b2",
}
HOIEM_COLORS = {"loc": "#4f81bd", "sim": "#c0504d", "oth": "#60b356", "bg": "#8064a2"}
HOIEM_LABELS = {"loc": "Loc", "sim": "Sim", "oth": "Oth", "bg": "BG"}


def data_uri(figure, dpi: int = 100) -> str:
    """The figure as a base64 PNG data URI (the figure is closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def pr_curves(result: dict, points: dict | None = None) -> str | None:
    """The per-class PR panels (``vocmap plot``'s figure) when the result has curves;
    ``points`` (best-F1 operating points) star each class's F1 point."""
    if not any("rec" in entry for entry in result["classes"].values()):
        return None
    return data_uri(plot_pr_curves(result, None, points=points))


def ap_over_steps(table: APTable, ylabel: str) -> str:
    return data_uri(plot_ap_over_steps(table, None, ylabel=ylabel), dpi=90)


@plain_text
def tide_bars(tide: dict) -> str:
    """Overall dAP of each error type (and the two special fixes), as fractions like
    every AP of the report (TIDE's own plots show AP points, x100)."""
    overall = tide["overall"]
    names = list(tide["error_types"])
    values = [_finite(overall["dap"][t] or 0.0) for t in names]
    special = [
        _finite(overall["false_positive_dap"] or 0.0),
        _finite(overall["false_negative_dap"] or 0.0),
    ]
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(9, 2.8), gridspec_kw={"width_ratios": [3, 1.2]}
    )
    labels = {
        "cls": "classification",
        "loc": "localisation",
        "both": "cls + loc",
        "dupe": "duplicate",
        "bkg": "background",
        "miss": "missed",
    }
    y = np.arange(len(names))[::-1]
    left.barh(y, values, color=[TIDE_COLORS[t] for t in names])
    left.set_yticks(y, [labels[t] for t in names])
    for yi, v in zip(y, values):
        left.text(v, yi, f" {v:.4f}", va="center", fontsize=9)
    left.set_xlabel("AP gained by fixing this type alone (dAP)")
    left.set_xlim(0, max([*values, 0.001]) * 1.3)
    left.grid(axis="x", alpha=0.3)
    right.barh([1, 0], special, color=["#bab0ac", "#59a14f"])
    right.set_yticks([1, 0], ["all false pos.", "all false neg."])
    for yi, v in zip([1, 0], special):
        right.text(max(v, 0), yi, f" {v:.4f}", va="center", fontsize=9)
    right.set_xlim(0, max([*special, 0.001]) * 1.6)
    right.set_xlabel("dAP")
    right.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return data_uri(figure)


@plain_text
def hoiem_trends(hoiem: dict) -> str | None:
    """The paper's stacked areas: share of each FP type among the top false positives."""
    sets = [(name, t) for name, t in hoiem["sets"].items() if t["totals"]]
    if not sets:
        return None
    figure, axes = plt.subplots(1, len(sets), figsize=(3.2 * len(sets), 3.0), squeeze=False)
    types = list(hoiem["types"])
    for axis, (name, trend) in zip(axes[0], sets):
        x = np.arange(len(trend["totals"]))
        stack = np.array([[100 * (v or 0.0) for v in trend["fractions"][t]] for t in types])
        if len(x) == 1:
            axis.bar(
                [0],
                stack[:, 0],
                bottom=np.concatenate([[0], np.cumsum(stack[:-1, 0])]),
                color=[HOIEM_COLORS[t] for t in types],
            )
        else:
            axis.stackplot(x, stack, colors=[HOIEM_COLORS[t] for t in types], alpha=0.95)
        axis.set_xticks(x, [str(v) for v in trend["totals"]], fontsize=8, rotation=45)
        axis.set_ylim(0, 100)
        axis.set_xlim(x[0] - (0.5 if len(x) == 1 else 0), x[-1] + (0.5 if len(x) == 1 else 0))
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("total false positives", fontsize=8)
    axes[0][0].set_ylabel("percentage of each type")
    handles = [plt.Rectangle((0, 0), 1, 1, color=HOIEM_COLORS[t]) for t in types]
    figure.legend(
        handles, [HOIEM_LABELS[t] for t in types], loc="upper center", ncol=4, frameon=False
    )
    figure.tight_layout(rect=(0, 0, 1, 0.9))
    return data_uri(figure)


@plain_text
def sensitivity_bars(sensitivity: dict) -> str | None:
    """The mean AP per bin of each property (Hoiem's sensitivity plot), as a fraction
    like every AP of the report, each bar with its number of objects (n)."""
    props = [(p, bins) for p, bins in sensitivity["properties"].items() if bins]
    if not props:
        return None
    figure, axis = plt.subplots(figsize=(11, 3.4))
    x = 0.0
    ticks, labels, separators = [], [], []
    palette = plt.get_cmap("tab10")
    for k, (prop, bins) in enumerate(props):
        start = x
        for label, per_class in bins.items():
            overall = per_class["overall"]
            value = overall["ap"] if overall["ap"] is not None else math.nan
            shown = value if math.isfinite(value) else 0.0
            axis.bar(
                x, shown, color=palette(k), width=0.8, alpha=1.0 if math.isfinite(value) else 0
            )
            text = f"{value:.2f}" if math.isfinite(value) else "-"
            axis.text(x, shown + 0.01, f"{text}\nn={overall['objects']}", ha="center", fontsize=6.5)
            ticks.append(x)
            labels.append(label)
            x += 1
        axis.text(
            (start + x - 1) / 2,
            -0.3,
            prop.replace("_", " "),
            ha="center",
            fontsize=9,
            weight="bold",
        )
        separators.append(x - 0.5)
        x += 0.8
    for s in separators[:-1]:
        axis.axvline(s + 0.4, color="#ccc", linewidth=0.8)
    axis.set_xticks(ticks, labels, fontsize=8, rotation=40, ha="right", rotation_mode="anchor")
    axis.set_ylim(0, 1.15)
    axis.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    axis.set_ylabel("AP (mean of classes)")
    axis.grid(axis="y", alpha=0.3)
    figure.subplots_adjust(bottom=0.3)
    return data_uri(figure)
