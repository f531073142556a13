"""Plots of a training run (matplotlib, headless). Imported only by ``vocmap plot``.

* :func:`plot_loss_history`: training and validation loss against steps, with the
  learning-rate drops marked;
* :func:`plot_ap_over_steps`: per-class AP against steps, labelled at the line
  ends, mAP in bold, optionally a reference run's mAP;
* :func:`plot_pr_curves`: one small precision-recall panel per class for a step.

Every figure is written atomically (temporary file, then rename); with
``path=None`` the function returns the matplotlib Figure instead (for notebooks
and tests).
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from vocmap.core.atomic import atomic_open
from vocmap.runs.history import lr_drops
from vocmap.runs.tables import APTable


def plain_text(function):
    """Draw every label as given: a ``$`` in a class name or step label is text, not
    matplotlib's mathtext (``$x^$`` would stop the drawing with a ValueError)."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with matplotlib.rc_context({"text.parse_math": False}):
            return function(*args, **kwargs)

    return wrapped


def _save(figure, path: str | os.PathLike | None):
    """Write the figure as PNG (atomically) and close it; with no path, return it."""
    if path is None:
        return figure
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def _smooth(values: np.ndarray, points: int) -> np.ndarray:
    """Running mean over ``points`` samples (NaNs ignored), same length."""
    if points <= 1:
        return values
    finite = np.where(np.isnan(values), 0.0, values)
    counts = np.convolve(~np.isnan(values), np.ones(points), mode="same")
    sums = np.convolve(finite, np.ones(points), mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


@plain_text
def plot_loss_history(
    history: dict[str, np.ndarray], path: str | os.PathLike | None, title: str = "Loss history"
) -> Path:
    """Training loss (raw and smoothed) and validation loss against steps."""
    steps = history["step"]
    figure, axis = plt.subplots(figsize=(9, 4.8))
    train = history.get("loss")
    if train is not None and np.isfinite(train).any():
        window = max(1, len(train) // 60)
        if window > 1:
            axis.plot(steps, train, color="tab:blue", alpha=0.25, linewidth=0.8)
            axis.plot(
                steps,
                _smooth(train, window),
                color="tab:blue",
                linewidth=1.8,
                label=f"training loss (running mean of {window} logs)",
            )
        else:
            axis.plot(steps, train, color="tab:blue", linewidth=1.8, label="training loss")
    val = history.get("val_loss")
    if val is not None and np.isfinite(val).any():
        keep = np.isfinite(val)
        axis.plot(
            steps[keep],
            val[keep],
            color="tab:orange",
            marker="o",
            markersize=3.5,
            linewidth=1.8,
            label="validation loss",
        )
    lr = history.get("lr")
    if lr is not None:
        for step, before, after in lr_drops(steps, lr):
            axis.axvline(step, color="grey", linestyle="--", linewidth=1)
            axis.annotate(
                f"lr {before:.0e} → {after:.0e}",
                xy=(step, 0.97),
                xycoords=("data", "axes fraction"),
                xytext=(-4, 0),
                textcoords="offset points",
                rotation=90,
                ha="right",
                va="top",
                fontsize=8,
                color="dimgrey",
            )
    axis.set_xlabel("training step (iterations)")
    axis.set_ylabel("loss (localization + confidence)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:  # below the plot: it never hides a curve
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    return _save(figure, path)


def _spread_labels(values: list[float], gap: float, low: float, high: float) -> list[float]:
    """Label heights near ``values`` but at least ``gap`` apart, kept within [low, high]."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [0.0] * len(values)
    previous = low - gap
    for i in order:  # upwards: push labels up until they clear the one below
        previous = max(values[i], previous + gap)
        placed[i] = previous
    ceiling = high
    for i in reversed(order):  # downwards: pull labels under the top, keeping gaps
        placed[i] = min(placed[i], ceiling)
        ceiling = placed[i] - gap
    return placed


def _ap_limits(values: np.ndarray) -> tuple[float, float, float, float]:
    """``(low, high)`` rounded to 0.05 inside [0, 1] around ``values``, and the view
    limits padded beyond them, so that an AP of 1.0 (or 0) never lies on the frame."""
    finite = values[np.isfinite(values)]
    low = max(0.0, math.floor((finite.min() - 0.02) * 20) / 20) if finite.size else 0.0
    high = min(1.0, math.ceil((finite.max() + 0.02) * 20) / 20) if finite.size else 1.0
    pad = 0.03 * (high - low if high > low else 1.0)
    return low, high, low - pad, high + pad


def _step_text(value: float, _position=None) -> str:
    """A step tick: ``40k`` for whole thousands from 10000 on, else the number."""
    if abs(value) >= 10_000 and value % 1000 == 0:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _step_axis(axis, steps: np.ndarray, ticks: int = 6) -> None:
    """Steps are whole numbers: integer ticks (a one-step run gets no 0.5 ticks), at
    most ``ticks`` of them, and a little room either side of the first and last step."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(nbins=ticks, integer=True, min_n_ticks=1))
    axis.xaxis.set_major_formatter(FuncFormatter(_step_text))
    first, last = float(steps[0]), float(steps[-1])
    span = last - first if last > first else max(abs(last), 1.0)
    axis.set_xlim(first - 0.04 * span, last + 0.04 * span)


#: From this many classes on, AP over steps is drawn as small multiples (one panel a
#: class): ten colours cannot tell 20 lines apart at a glance.
SMALL_MULTIPLES_FROM = 7


def _reference_lines(axis, table: APTable, reference: APTable | None, steps: np.ndarray) -> None:
    """The reference's mAP: its line where the steps overlap, else where it ended."""
    if reference is None or not reference.steps:
        return
    if reference.steps[0] <= steps[-1] and reference.steps[-1] >= steps[0]:
        axis.plot(
            reference.steps,
            reference.map,
            color="dimgrey",
            linewidth=2.2,
            linestyle=":",
            marker="s",
            markersize=4,
            label=f"mAP ({reference.label})",
        )
    else:  # another schedule: show where the reference ended
        axis.axhline(
            reference.map[-1],
            color="dimgrey",
            linewidth=2.0,
            linestyle=":",
            label=f"final mAP of {reference.label} (step {reference.steps[-1]}): "
            f"{reference.map[-1]:.4f}",
        )


def _draw_map(axis, table: APTable, reference, steps: np.ndarray, band_prefix: str) -> None:
    """The mAP line (bold black), its bootstrap band when the table has one, and the
    reference's lines."""
    if table.ci is not None:
        axis.fill_between(
            steps,
            table.ci[-1, :, 0],
            table.ci[-1, :, 1],
            color="black",
            alpha=0.18,
            linewidth=0,
            label=f"{band_prefix}{(table.ci_level or 0.95) * 100:g}% bootstrap interval",
        )
    axis.plot(
        steps,
        table.map,
        color="black",
        linewidth=3.2,
        marker="o",
        markersize=4,
        label=f"mAP ({table.label})" if table.label else "mAP",
    )
    _reference_lines(axis, table, reference, steps)


def _small_multiples(table: APTable, reference: APTable | None, title: str | None, ylabel: str):
    """The mAP on top (with its interval band and the reference), then one small panel
    a class (its line, the mAP faint behind it, the final AP in the title), all on one
    AP scale, so a reader compares classes by position, not by colour."""
    steps = np.array(table.steps, dtype=float)
    n = len(table.classes)
    columns = 5
    rows = math.ceil(n / columns)
    figure = plt.figure(figsize=(13, 3.6 + 2.1 * rows), layout="constrained")
    grid = figure.add_gridspec(rows + 1, columns, height_ratios=[1.7] + [1.0] * rows)
    top = figure.add_subplot(grid[0, :])
    _draw_map(top, table, reference, steps, band_prefix="")
    values = [table.map]
    if reference is not None:
        values.append(np.asarray(reference.map))
    _, _, bottom, ceiling = _ap_limits(np.concatenate(values))
    top.set_ylim(bottom, ceiling)
    _step_axis(top, steps)
    if reference is not None and reference.steps and reference.steps[0] <= steps[-1]:
        both = np.array([*table.steps, *reference.steps], dtype=float)
        _step_axis(top, np.array([both.min(), both.max()]))
    top.set_ylabel("mAP")
    top.grid(alpha=0.3)
    final = table.map[-1]
    top.set_title(
        title
        or f"AP over training steps{f' — {table.label}' if table.label else ''}: mAP "
        f"{final:.3f} at step {table.steps[-1]}; below, one panel a class ({ylabel})",
        fontsize=11,
    )
    top.legend(loc="lower right", fontsize=9)  # the top panel has no labels to cover
    _, _, bottom, ceiling = _ap_limits(table.ap)
    first = None
    for i, name in enumerate(table.classes):
        axis = figure.add_subplot(grid[1 + i // columns, i % columns], sharey=first)
        first = first or axis
        axis.plot(steps, table.map, color="0.75", linewidth=1.4, zorder=1)
        axis.plot(
            steps,
            table.ap[i],
            color="tab:blue",
            linewidth=1.6,
            marker="." if len(steps) < 30 else None,
            zorder=2,
        )
        if table.ci is not None:
            axis.fill_between(
                steps, table.ci[i, :, 0], table.ci[i, :, 1], color="tab:blue", alpha=0.12
            )
        value = table.ap[i, -1]
        axis.set_title(
            f"{name}  {'nan' if not math.isfinite(value) else f'{value:.3f}'}", fontsize=9.5
        )
        axis.set_ylim(bottom, ceiling)
        _step_axis(axis, steps, ticks=3)
        axis.tick_params(labelsize=7.5)
        axis.grid(alpha=0.3)
        if i % columns:
            axis.tick_params(labelleft=False)
        if i < n - columns:
            axis.tick_params(labelbottom=False)
    figure.supxlabel("training step (iterations); grey: the mAP, for comparison", fontsize=10)
    return figure


def _band(line_style: dict) -> dict:
    """A line's colour for its interval band."""
    return {"color": line_style["color"]}


@plain_text
def plot_ap_over_steps(
    table: APTable,
    path: str | os.PathLike | None,
    reference: APTable | None = None,
    title: str | None = None,
    ylabel: str = "AP (VOC2007 11-point, IoU 0.5)",
) -> Path:
    """Per-class AP against steps; mAP bold. Up to 6 classes: one plot, each line
    labelled at its end; from 7 on: small multiples, one panel a class under the mAP."""
    steps = np.array(table.steps, dtype=float)
    if len(table.classes) >= SMALL_MULTIPLES_FROM:
        return _save(_small_multiples(table, reference, title, ylabel), path)
    figure, axis = plt.subplots(figsize=(11, 7))
    # Ten strong colours, solid then dashed: every label stays readable on white.
    palette = plt.get_cmap("tab10")

    def style(i: int) -> dict:
        return {"color": palette(i % 10), "linestyle": "-" if i < 10 else "--"}

    finals = []
    for i in range(len(table.classes)):
        axis.plot(
            steps,
            table.ap[i],
            linewidth=1.2,
            alpha=0.9,
            marker="." if len(steps) < 30 else None,
            **style(i),
        )
        finals.append(table.ap[i, -1])
        if table.ci is not None and len(table.classes) <= 6:  # stored intervals (score --ci);
            # with more classes only the mAP's band is drawn, or the bands hide the lines
            axis.fill_between(
                steps,
                table.ci[i, :, 0],
                table.ci[i, :, 1],
                alpha=0.07,
                linewidth=0,
                **_band(style(i)),
            )
    _draw_map(axis, table, reference, steps, band_prefix="mAP, ")
    values = np.concatenate([table.ap.ravel(), table.map])
    if reference is not None:
        values = np.concatenate([values, np.asarray(reference.map)])
    low, high, bottom, ceiling = _ap_limits(values)
    axis.set_ylim(bottom, ceiling)
    if (
        reference is not None
        and reference.steps[0] <= steps[-1]
        and reference.steps[-1] >= steps[0]
    ):
        _step_axis(
            axis, np.array([min(steps[0], reference.steps[0]), max(steps[-1], reference.steps[-1])])
        )
    else:
        _step_axis(axis, steps)
    gap = (high - low) / 40
    labelled = [(i, v) for i, v in enumerate(finals) if math.isfinite(v)]
    if math.isfinite(table.map[-1]):
        labelled.append((-1, float(table.map[-1])))
    heights = _spread_labels([v for _, v in labelled], gap, low, high)
    for (i, value), y in zip(labelled, heights):
        name, color, weight, dash = (
            ("mAP", "black", "bold", "-")
            if i < 0
            else (table.classes[i], style(i)["color"], "normal", style(i)["linestyle"])
        )
        axis.annotate(
            f"{name} {value:.3f}",
            xy=(steps[-1], value),
            xytext=(1.04, y),
            textcoords=("axes fraction", "data"),
            fontsize=8.5,
            color=color,
            fontweight=weight,
            va="center",
            # The leader line repeats the class's line style (solid or dashed) and
            # ends at the label's left edge (relpos), never across its text.
            arrowprops={
                "arrowstyle": "-",
                "color": color,
                "linewidth": 1.0,
                "linestyle": dash,
                "relpos": (0.0, 0.5),
                "shrinkA": 2,
                "shrinkB": 0,
            },
            annotation_clip=False,
        )
    axis.set_xlabel("training step (iterations)")
    axis.set_ylabel(ylabel)
    axis.set_title(title or f"AP over training steps{f' — {table.label}' if table.label else ''}")
    axis.grid(alpha=0.3)
    # below the plot: the legend never covers a line or a label
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, frameon=False)
    figure.subplots_adjust(right=0.8)
    return _save(figure, path)


@plain_text
def plot_pr_curves(
    result: dict,
    path: str | os.PathLike | None,
    title: str | None = None,
    points: dict | None = None,
) -> Path:
    """One panel per class: precision against recall, the 11-point samples marked;
    ``points`` (``operating_points``' JSON, best F1) adds each class's F1 point."""
    from vocmap.core.kernels import MATLAB_RECALL_THRESHOLDS

    classes = list(result["classes"])
    columns = 5 if len(classes) > 4 else len(classes)
    rows = math.ceil(len(classes) / columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(2.6 * columns, 2.4 * rows + 0.6),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for k, cls in enumerate(classes):
        axis = axes[k // columns][k % columns]
        entry = result["classes"][cls]
        rec = np.array([math.nan if v is None else v for v in entry.get("rec", [])], dtype=float)
        prec = np.array([math.nan if v is None else v for v in entry.get("prec", [])], dtype=float)
        keep = np.isfinite(rec) & np.isfinite(prec)
        if keep.any():
            axis.plot(rec[keep], prec[keep], color="tab:blue", linewidth=1.2)
            sampled = []
            for t in MATLAB_RECALL_THRESHOLDS:
                chosen = prec[keep][rec[keep] >= t]
                sampled.append(chosen.max() if chosen.size else 0.0)
            axis.plot(
                MATLAB_RECALL_THRESHOLDS,
                sampled,
                linestyle="none",
                marker="o",
                markersize=3,
                color="tab:red",
            )
        point = (points or {}).get("classes", {}).get(cls)
        if point and point.get("recall") is not None and point.get("precision") is not None:
            axis.plot(
                [point["recall"]],
                [point["precision"]],
                linestyle="none",
                marker="*",
                markersize=9,
                color="tab:orange",
                markeredgecolor="black",
                markeredgewidth=0.5,
            )
        ap = entry["ap"]
        axis.set_title(f"{cls}  AP {'nan' if ap is None else f'{ap:.3f}'}", fontsize=9)
        # padded, and no top or right frame: a precision of 1 (or a recall of 1) is a
        # line of its own, never merged into the frame
        axis.set_xlim(-0.03, 1.03)
        axis.set_ylim(-0.03, 1.07)
        axis.spines[["top", "right"]].set_visible(False)
        axis.set_xticks([0, 0.5, 1])
        axis.set_yticks([0, 0.5, 1])
        axis.grid(alpha=0.3)
    for k in range(len(classes), rows * columns):
        axes[k // columns][k % columns].axis("off")
    for axis in axes[-1]:
        axis.set_xlabel("recall")
    for row in axes:
        row[0].set_ylabel("precision")
    step = result.get("step")
    figure.suptitle(
        title
        or f"Precision-recall per class{f' at step {step}' if step is not None else ''}"
        f" (red: the 11 sampled points), mAP {result['map']:.4f}"
        if result.get("map") is not None
        else "Precision-recall per class"
    )
    figure.tight_layout()
    return _save(figure, path)
