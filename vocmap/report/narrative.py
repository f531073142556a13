"""A short reading of a training run's summary, in words (for the notebook and reports)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vocmap.core.errors import InputError
from vocmap.runs.history import lr_drops
from vocmap.runs.tables import APTable, pair_tables


def describe_run(
    table: APTable,
    history: dict[str, np.ndarray] | None = None,
    reference: APTable | None = None,
    milestones: Sequence[int] = (),
) -> list[str]:
    """Sentences on the mAP's course, the best and worst classes, the losses and
    learning-rate drops, and (given a reference run) how the final numbers compare.

    A drop is seen between two logged steps; it is named by the schedule's
    ``milestones`` (a run's ``config.json``) that lies between them, else by the two
    steps: trainers differ in whether a row shows the lr its step used or the next.
    """
    lines = []
    maps = table.map
    if len(table.steps):
        best = int(np.nanargmax(maps)) if np.isfinite(maps).any() else len(maps) - 1
        lines.append(
            f"mAP went from {maps[0]:.4f} at step {table.steps[0]} to {maps[-1]:.4f} at step "
            f"{table.steps[-1]}; the best was {maps[best]:.4f} at step {table.steps[best]}."
        )
        final = table.ap[:, -1]
        order = [i for i in np.argsort(final) if math.isfinite(final[i])]
        if order:
            worst = ", ".join(f"{table.classes[i]} {final[i]:.3f}" for i in order[:3])
            top = ", ".join(f"{table.classes[i]} {final[i]:.3f}" for i in order[::-1][:3])
            lines.append(f"At the last step the best classes are {top}; the weakest {worst}.")
        if len(table.steps) > 1:
            gains = table.ap[:, -1] - table.ap[:, 0]
            if np.isfinite(gains).any():
                i = int(np.nanargmax(gains))
                lines.append(
                    f"{table.classes[i]} gained the most ({gains[i]:+.3f} AP between the first "
                    "and the last step)."
                )
    if history is not None and "step" in history:
        steps = history["step"]
        for step, before, after in lr_drops(steps, history.get("lr", np.array([]))):
            following = int(steps[steps > step].min())
            named = [m for m in milestones if step <= m <= following]
            when = (
                f"at step {named[0]} (the schedule's milestone)"
                if len(named) == 1
                else f"between steps {step} and {following}"
            )
            lines.append(f"The learning rate dropped from {before:g} to {after:g} {when}.")
        val = history.get("val_loss")
        if val is not None and np.isfinite(val).any():
            k = int(np.nanargmin(val))
            lines.append(
                f"The validation loss was lowest ({val[k]:.3f}) at step {int(steps[k])} and "
                f"{val[np.isfinite(val)][-1]:.3f} at the last evaluation."
            )
        train = history.get("loss")
        if train is not None and np.isfinite(train).any():
            finite = train[np.isfinite(train)]
            lines.append(f"The training loss fell from {finite[0]:.3f} to {finite[-1]:.3f}.")
    if reference is not None:
        lines.append(_against(table, reference))
    return lines


def _against(table: APTable, reference: APTable) -> str:
    """The mAP beside the reference's at the last step both have, when both are means
    over the same classes; else why not (a step is never paired with another)."""
    name = reference.label or "the reference"
    try:
        pairing = pair_tables(table, reference)
    except InputError as error:
        return f"Not compared with {name}: {error.message.removeprefix('--compare: ')}."
    step = pairing.steps[-1]
    if not pairing.map_compared:
        return (
            f"Not compared with {name} on the mAP: the means are over different classes "
            f"({len(table.classes)} here, {len(reference.classes)} there)."
        )
    mine = table.map[table.steps.index(step)]
    theirs = pairing.reference.map[-1]
    return (
        f"At step {step}, which both have, the mAP is {mine:.4f} against {theirs:.4f} for "
        f"{name} ({mine - theirs:+.4f})."
    )
