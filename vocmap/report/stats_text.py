"""Text for ``compare-runs``: the paired differences with their intervals."""

from __future__ import annotations

from vocmap.report.text import format_number, render_table


def format_run_difference(difference, digits: int = 4) -> str:
    """Per class: A, B, B - A, its interval, and how often B beats A; mAP last."""
    level = f"{difference.level * 100:g}% CI"
    header = ["class", "A", "B", "B - A", level, "P(B > A)"]
    rows = []
    for d in [*difference.classes, difference.map]:
        rows.append(
            [
                d.name,
                format_number(d.a, digits),
                format_number(d.b, digits),
                format_number(d.diff, digits, sign=True),
                f"[{format_number(d.lo, digits, sign=True)}, {format_number(d.hi, digits, sign=True)}]",
                format_number(d.b_better, 3),
            ]
        )
    a, b = difference.labels
    title = (
        f"B - A, {difference.result_a.label}; A = {a}, B = {b}; paired {difference.method} "
        f"bootstrap over the images, {difference.resamples} resamples, seed {difference.seed}"
    )
    if difference.result_a.map_scope is not None:
        title += f"; {difference.result_a.map_row_label}: {difference.result_a.map_scope}"
    text = render_table(header, rows, title=title)
    m = difference.map
    if m.lo > 0 or m.hi < 0:
        verdict = (
            f"the mAP difference {m.diff:+.4f} is outside the test set's noise ({level} excludes 0)"
        )
    else:
        verdict = (
            f"the mAP difference {m.diff:+.4f} is within the test set's noise ({level} contains 0)"
        )
    return text + f"\n{verdict}; B beats A in {m.b_better:.1%} of the resamples.\n"
