"""Plots a reader takes in at a glance (issue 19, 5): with 20 classes the 10-colour
cycle repeated (cat and sofa both grey); values of 1.0 sat on the frame; a one-step
run got fractional step ticks; the legend covered labels; precision-1 lines merged
into the PR panels' frame; the report showed TIDE's AP points (98.70) beside
fractions (0.9870) and the object-property chart had no counts."""

from __future__ import annotations

import numpy as np
import pytest

from vocmap.runs.tables import APTable

pytest.importorskip("matplotlib")

from vocmap.report import html_sections, plotting

CLASSES = tuple(f"class{k}" for k in range(20))


def table(steps=(1000, 2000, 3000), classes=CLASSES, top=1.0) -> APTable:
    ap = np.linspace(0.3, top, len(classes) * len(steps)).reshape(len(classes), len(steps))
    return APTable(steps, classes, ap, ap.mean(axis=0), "t")


def test_twenty_classes_are_small_multiples_on_one_scale():
    figure = plotting.plot_ap_over_steps(table(), None)
    panels = figure.axes[1:]
    assert len(panels) == 20
    assert len({axis.get_ylim() for axis in panels}) == 1  # one AP scale
    assert all(len({line.get_color() for line in a.get_lines()}) == 2 for a in panels)


@pytest.mark.parametrize("classes", [CLASSES, CLASSES[:4]])
def test_an_ap_of_one_is_not_on_the_frame(classes):
    figure = plotting.plot_ap_over_steps(table(classes=classes), None)
    for axis in figure.axes[1:] or figure.axes:
        low, high = axis.get_ylim()
        assert high > 1.0 and low < 0.3


@pytest.mark.parametrize("classes", [CLASSES, CLASSES[:4]])
def test_a_one_step_run_has_whole_step_ticks(classes):
    figure = plotting.plot_ap_over_steps(table(steps=(1,), classes=classes), None)
    figure.canvas.draw()
    for axis in figure.axes:
        ticks = [t for t in axis.get_xticks() if axis.get_xlim()[0] <= t <= axis.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_the_legend_is_below_the_plot_where_labels_are():
    figure = plotting.plot_ap_over_steps(table(classes=CLASSES[:4]), None)
    figure.canvas.draw()
    axis = figure.axes[0]
    legend = axis.get_legend().get_window_extent()
    assert legend.y1 < axis.get_window_extent().y0  # under the axes, not over a line


def test_precision_one_is_not_merged_into_the_frame():
    result = {
        "map": 0.9,
        "classes": {"cat": {"ap": 0.9, "rec": [0.5, 1.0], "prec": [1.0, 1.0]}},
    }
    axis = plotting.plot_pr_curves(result, None).axes[0]
    assert axis.get_ylim()[1] > 1.0 and axis.get_xlim()[1] > 1.0
    assert not axis.spines["top"].get_visible() and not axis.spines["right"].get_visible()


def test_the_report_shows_tide_as_fractions_and_bins_with_counts():
    assert html_sections.points(0.987) == "0.9870"  # was 98.70 beside 0.9870
    assert html_sections.points(0.5, 1) == "0.500"
    from vocmap.report import html_figures

    bins = {"size": {"small": {"overall": {"ap": 0.62, "objects": 2, "recall": 1.0}}}}
    uri = html_figures.sensitivity_bars({"properties": bins})
    assert uri is not None and uri.startswith("data:image/png;base64,")


def test_a_result_without_curves_says_where_they_are():
    text = html_sections.pr_section({"map": 0.5, "classes": {"cat": {"ap": 0.5}}})
    assert "holds no curves" in text and "vocmap diagnose --format json" in text
