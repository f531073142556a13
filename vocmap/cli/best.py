"""``vocmap table RUN --best``: the best checkpoint, and how sure that is.

The run's stored mAPs choose the best checkpoint and the ``--against N`` next best;
their detections are evaluated again against the ground truth the options name
(which must be the one they were scored against) and compared by the paired image
bootstrap (:mod:`vocmap.analysis.best_checkpoint`). ``vocmap report RUN --voc-root``
shows the same section.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from vocmap.cli import options
from vocmap.core.errors import InputError, VocmapError

if TYPE_CHECKING:
    from vocmap.analysis.best_checkpoint import BestCheckpoint

EXIT_OK = 0
DEFAULT_AGAINST = 3
_GROUND_TRUTH = (
    "voc_root",
    "annotations",
    "image_set",
    "image_set_file",
    "ground_truth",
    "coco_image_ids",
)


def add_best_options(parser: argparse.ArgumentParser, switch: bool = True) -> None:
    """``--best`` (when ``switch``), ``--against N``, the ground truth and the bootstrap's
    options (``vocmap report`` has no switch: the ground truth asks for the section)."""
    group = parser.add_argument_group(
        "the best checkpoint",
        ("--best names" if switch else "For a run folder, with the ground truth: names")
        + " the checkpoint with the highest mAP and compares it with the next best by a "
        "paired bootstrap over the test images (Holm's correction); it needs the run's "
        "detections and its ground truth.",
    )
    if switch:
        options.add(group, "best")
    options.add(group, "against")
    options.add_ground_truth(parser)
    options.add_ci_options(parser, switch=False)


def _given(args: argparse.Namespace) -> list[str]:
    """The options given that only the best-checkpoint comparison uses."""
    given = [f"--{name.replace('_', '-')}" for name in _GROUND_TRUTH if getattr(args, name)]
    if args.against is not None:
        given.insert(0, "--against")
    if getattr(args, "no_cache", False):
        given.append("--no-cache")
    defaults = {"resamples": 1000, "seed": 0, "level": 0.95}
    return given + [f"--{k}" for k, value in defaults.items() if getattr(args, k) != value]


def wanted(args: argparse.Namespace) -> bool:
    """True with ``--best``; options that only ``--best`` uses are refused without it."""
    if args.best:
        return True
    given = _given(args)
    if given:
        raise VocmapError(f"{', '.join(given)} go{'es' if len(given) == 1 else ''} with --best")
    return False


def for_report(args: argparse.Namespace) -> BestCheckpoint | None:
    """``vocmap report RUN --voc-root DIR``: the best-checkpoint section's numbers (None
    without ground-truth options); those options are refused for a result file."""
    given = _given(args)
    if not given:
        return None
    if not Path(args.source).is_dir():
        raise VocmapError(
            f"{', '.join(given)} go{'es' if len(given) == 1 else ''} with a run folder (the "
            "best checkpoint section), not with a result file"
        )
    if not any(getattr(args, name) for name in _GROUND_TRUTH):
        raise VocmapError(
            f"{', '.join(given)} need{'s' if len(given) == 1 else ''} the ground truth: "
            "give --voc-root"
        )
    return best_of_run(args, Path(args.source), args.against or DEFAULT_AGAINST)


def best_of_run(args: argparse.Namespace, root: Path, against: int) -> BestCheckpoint:
    """The best of a scored run's (chosen) steps against its ``against`` next best."""
    from vocmap.analysis.best_checkpoint import best_checkpoint
    from vocmap.core.settings import EvalSettings
    from vocmap.io.read import read_detections
    from vocmap.runs.contract import RunFolder
    from vocmap.runs.stored import ground_truth_key, result_provenance
    from vocmap.runs.tables import load_result, load_table, select_steps

    # `report` shows the voc07 results a run folder has; `table` takes the settings options
    has_settings = hasattr(args, "metric")
    evaluation = options.eval_settings(args) if has_settings else EvalSettings.create("voc07")
    if evaluation.metric not in ("voc07", "voc12") or not evaluation.semantics.is_devkit:
        raise VocmapError(
            "--best resamples the devkit's AP (--metric voc07 or voc12, devkit semantics), "
            f"not {evaluation.metric} with {evaluation.semantics.name} semantics"
        )
    run = RunFolder(root)
    table = select_steps(
        load_table(root, evaluation.key),
        options.step_list(getattr(args, "steps", None)),
        getattr(args, "every", None),
    )
    ranked = sorted(
        range(len(table.steps)),
        key=lambda k: (math.isnan(table.map[k]), -table.map[k], table.steps[k]),
    )
    chosen = [table.steps[k] for k in ranked[: against + 1]]
    ground_truth, image_set_file = options.load_ground_truth(args)
    paths = run.evaluated(evaluation.key)
    stored = result_provenance(load_result(paths[chosen[0]], curves=False))
    if stored is not None and (
        stored.ground_truth != ground_truth_key(ground_truth)
        or stored.image_set != image_set_file.stem
    ):
        raise InputError(
            "the run was scored against other ground truth than the options name "
            "(give the --voc-root it was scored with)",
            paths[chosen[0]],
        )
    detections = {}
    for step in chosen:
        folder = run.detection_dir(step)
        if not folder.is_dir():
            raise InputError(f"step {step} has no detections to resample", folder)
        detections[step] = read_detections(
            folder, ground_truth, table.classes, image_set=image_set_file.stem
        )
    best = best_checkpoint(
        ground_truth,
        detections,
        table.classes,
        settings=evaluation,
        resamples=args.resamples,
        seed=args.seed,
        level=args.level,
    )
    for step, value in [(best.step, best.map), *((r.step, r.map) for r in best.rivals)]:
        if value != table.map[table.steps.index(step)]:
            raise InputError(
                f"the stored mAP of step {step} is not that of its detections; run "
                "`vocmap score --force` on it",
                paths[step],
            )
    return best


def run_table_best(args: argparse.Namespace, outputs: list) -> int:
    from vocmap.cli.output import emit
    from vocmap.report.stats_text import format_best_checkpoint
    from vocmap.runs.tables import is_table_file

    if args.best_per or args.compare:
        raise VocmapError("--best goes alone: not with --best-per or --compare")
    if any(o.style == "csv" for o in outputs):
        raise VocmapError("--best writes text, markdown or json, not csv")
    if is_table_file(args.source):
        raise InputError(
            "--best needs a run folder (its detections are resampled), not an AP table",
            args.source,
        )
    best = best_of_run(args, Path(args.source), args.against or DEFAULT_AGAINST)
    emit(
        outputs,
        lambda style: (
            json.dumps(best.to_dict(), indent=1) + "\n"
            if style == "json"
            else format_best_checkpoint(best, style)
        ),
    )
    return EXIT_OK
