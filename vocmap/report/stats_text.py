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


def format_best_checkpoint(best, style: str = "text", digits: int = 4) -> str:
    """``table --best``: the best checkpoint, a row a rival (its mAP, best - it with its
    interval, how often it beats the best, Holm's p), then a sentence a rival."""
    level = f"{best.level * 100:g}%"
    header = ["step", "mAP", f"{best.step} - it", f"{level} CI", f"beats {best.step}", "p (Holm)"]
    # the interval is at the level, not adjusted; the verdict is Holm's p
    rows = [[f"{best.step} (best)", format_number(best.map, digits), "", "", "", ""]]
    for r in best.rivals:
        rows.append(
            [
                str(r.step),
                format_number(r.map, digits),
                format_number(r.diff, digits, sign=True),
                f"[{format_number(r.lo, digits, sign=True)}, {format_number(r.hi, digits, sign=True)}]",
                f"{r.beats:.1%}",
                best.p_text(r.p_holm),
            ]
        )
    title = (
        f"best checkpoint: step {best.step}, mAP {format_number(best.map, digits)}; paired "
        f"{best.method} bootstrap over the {best.images} test images, {best.resamples} "
        f"resamples, seed {best.seed}; p-values two-sided, Holm-adjusted over the "
        f"{best.pairs} pair{'s' if best.pairs != 1 else ''} of the {len(best.rivals) + 1} "
        "checkpoints (the intervals are not)"
    )
    if not best.rivals:
        return f"best checkpoint: step {best.step}, mAP {format_number(best.map, digits)} (the only one)\n"
    text = render_table(header, rows, style=style, title=title)
    return text + "".join(f"\n{line}" for line in best.verdicts()) + "\n"
