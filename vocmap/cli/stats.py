"""``vocmap compare-runs``, the ``--ci`` options, and ``compare`` against coco50.

``A`` and ``B`` of ``compare-runs`` are each a folder of result files, a results
``.json``, or ``RUN_DIR@STEP`` (the ``detections/step_XXXXXX/`` of a run folder; a
path that exists as written is taken as a path, ``@`` and all).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from vocmap.cli import options
from vocmap.core.errors import InputError

if TYPE_CHECKING:
    from vocmap.core.detections import Detections
    from vocmap.core.ground_truth import GroundTruth
    from vocmap.core.results import EvalResult
    from vocmap.runs.scoring import ScoreSettings

EXIT_OK = 0


#: ``--ci``, ``--resamples``, ``--seed``, ``--level`` (declared in :mod:`vocmap.cli.options`).
add_ci_options = options.add_ci_options


def attach_intervals(
    args: argparse.Namespace,
    result: EvalResult,
    ground_truth: GroundTruth,
    detections: Detections,
) -> EvalResult:
    """``result`` with bootstrap intervals when ``--ci`` was given."""
    if not getattr(args, "ci", False):
        return result
    from vocmap.analysis.bootstrap import with_intervals

    return with_intervals(
        result, ground_truth, detections, resamples=args.resamples, seed=args.seed, level=args.level
    )


def add_run_intervals(
    args: argparse.Namespace,
    run_dir: Path,
    ground_truth: GroundTruth,
    settings: ScoreSettings,
) -> int:
    """``vocmap score --ci``: bootstrap intervals into the stored result of every chosen
    step that has none with these parameters; returns how many were added.

    A stored result is trusted only if its mAP equals the one recomputed from the
    step's detections (otherwise: re-score it).
    """
    import json

    from vocmap.analysis.bootstrap import METHOD, bootstrap
    from vocmap.core.atomic import atomic_write_text
    from vocmap.core.evaluate import Evaluator
    from vocmap.core.results import json_float
    from vocmap.io.read import read_detections
    from vocmap.runs.contract import RunFolder, choose_steps
    from vocmap.runs.tables import load_result

    run = RunFolder(run_dir)
    evaluated = run.evaluated(settings.key)
    chosen = choose_steps(sorted(evaluated), options.step_list(args.steps), args.every)
    evaluator = Evaluator(ground_truth, settings.classes, settings=settings.evaluation)
    wanted = {"level": args.level, "resamples": args.resamples, "seed": args.seed, "method": METHOD}
    added = 0
    for step in chosen:
        path = evaluated[step]
        data = load_result(path)
        stored = data.get("ci")
        if isinstance(stored, dict) and all(stored.get(k) == v for k, v in wanted.items()):
            continue
        detections = read_detections(
            run.detection_dir(step), ground_truth, evaluator.classes, image_set=settings.image_set
        )
        result = evaluator.evaluate(detections)
        if data.get("map") != json_float(result.map):
            raise InputError(
                f"the stored mAP of step {step} is not that of its detections; delete the file "
                "and run `vocmap score` again",
                path,
            )
        data["ci"] = bootstrap(
            result,
            ground_truth,
            detections,
            resamples=args.resamples,
            seed=args.seed,
            level=args.level,
        ).to_dict()
        atomic_write_text(path, json.dumps(data) + "\n")
        added += 1
    return added


def add_commands(commands: argparse._SubParsersAction) -> None:
    runs = commands.add_parser(
        "compare-runs",
        help="is B better than A? the paired bootstrap difference of every AP",
        description="Evaluate two detection sets against the same annotations and "
        "bootstrap the images (the same resamples for both): per class and for the mAP, "
        "B - A with its interval and the fraction of resamples where B beats A. "
        "A and B: a folder of result files, a results .json, or RUN_DIR@STEP.",
    )
    runs.add_argument("a", metavar="A", help="detections, a .json, or RUN_DIR@STEP")
    runs.add_argument("b", metavar="B", help="the same for the other run")
    options.add_ground_truth(runs)
    options.add_classes(runs)
    options.add_settings(runs, metrics=("voc07", "voc12"), semantics=False, iou=False)
    options.add_unknown_images(runs)
    options.add_reading(runs)
    add_ci_options(runs, switch=False)
    options.add_output(runs, ("text", "json", "csv"))
    options.add_quiet(runs)
    runs.set_defaults(run=run_compare_runs)


_RUN_STEP = re.compile(r"^(?P<run>.+)@(?P<step>\d+)$")


def detections_source(text: str) -> tuple[Path, list[str] | None]:
    """A path as given, or ``RUN_DIR@STEP`` resolved to the step's detections folder;
    with the class list of the run's config.json, if any."""
    path = Path(text)
    if path.exists():
        return path, None
    match = _RUN_STEP.match(text)
    if not match:
        raise InputError("no such detections folder or file", path)
    from vocmap.runs.contract import RunFolder, run_classes

    run = RunFolder(Path(match["run"]))
    if not run.root.is_dir():
        raise InputError("run folder not found", run.root)
    step = int(match["step"])
    folder = run.detection_dir(step)
    if not folder.is_dir():
        raise InputError(
            f"step {step} has no detections (steps with detections: "
            f"{', '.join(map(str, sorted(run.detection_folders()))) or 'none'})",
            run.root,
        )
    return folder, run_classes(run)


def run_compare_runs(args: argparse.Namespace) -> int:
    from vocmap.analysis.compare_runs import compare_runs, run_difference_to_json
    from vocmap.cli.output import emit, planned_outputs
    from vocmap.core.evaluate import class_list
    from vocmap.io.read import read_detections
    from vocmap.report.stats_text import format_run_difference

    outputs = planned_outputs(args, {"json": "json", "csv": "csv"})
    (path_a, classes_a), (path_b, classes_b) = (detections_source(s) for s in (args.a, args.b))
    sources = [path_a, path_b]
    ground_truth, image_set_file = options.load_ground_truth(args)
    classes = class_list(options.class_list(args.classes) or classes_a or classes_b)
    a, b = (
        read_detections(
            source,
            ground_truth,
            classes,
            image_set=image_set_file.stem,
            **options.reading(args),
        )
        for source in sources
    )
    difference = compare_runs(
        ground_truth,
        a,
        b,
        classes,
        metric=args.metric,
        resamples=args.resamples,
        seed=args.seed,
        level=args.level,
        labels=(args.a, args.b),
    )

    def render(style: str) -> str:
        if style == "json":
            return run_difference_to_json(difference)
        if style == "csv":
            from vocmap.analysis.compare_runs import run_difference_to_dict
            from vocmap.report.csv_forms import per_class_csv

            data = run_difference_to_dict(difference)
            return per_class_csv(data["classes"], data["map"])
        return format_run_difference(difference)

    emit(outputs, render)
    return EXIT_OK
