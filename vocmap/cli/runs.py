"""``vocmap score``, ``vocmap table`` and ``vocmap plot``: a whole training run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vocmap.cli import best, options, stats
from vocmap.cli.output import emit, note, planned_outputs, write_stdout
from vocmap.core.atomic import shown

EXIT_OK = 0
EXIT_INTERRUPTED = 130
TABLE_FORMATS = ("text", "markdown", "csv", "json")


def add_commands(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score",
        help="evaluate every checkpoint of a training run (resumable)",
        description="For each step of RUN_DIR (checkpoints/step_XXXXXX.pt or "
        "detections/step_XXXXXX/): make detections where missing (through ssd_ref), "
        "evaluate, and store eval/<settings>/step_XXXXXX.json. Finished steps are "
        "skipped, so an interrupted run continues where it stopped; a stored result "
        "scored against other ground truth, image set, classes or settings is an error "
        "(--force replaces it), an invalid one is scored again.",
        allow_abbrev=False,
    )
    score.add_argument("run_dir", metavar="RUN_DIR", help="the run folder")
    options.add_ground_truth(score)
    options.add(
        score,
        "classes",
        help="classes to evaluate, in table order, space or comma separated (default: those "
        "of the run's config.json; without one, the 20 VOC classes)",
    )
    options.add_settings(score)
    options.add_steps(score)
    for name in ("jobs", "device", "force"):
        options.add(score, name)
    options.add(
        score,
        "follow_symlinks",
        help="read checkpoints, detections and annotation files that are symbolic links "
        "leading outside their folder (refused by default)",
    )
    options.add_quiet(score)
    options.add_ci_options(score)
    score.set_defaults(run=run_score)

    table = commands.add_parser(
        "table",
        help="the summary table: per-class AP by step, mAP last",
        description="SOURCE is a run folder scored by `vocmap score`, or a CSV like the "
        "published data_fixtures/seed_summary/ap_by_step.csv.",
        allow_abbrev=False,
    )
    table.add_argument("source", metavar="SOURCE", help="run folder or AP-table CSV")
    options.add_steps(table)
    options.add(table, "best_per")
    options.add_output(table, TABLE_FORMATS)
    options.add(table, "compare")
    options.add(table, "digits")
    options.add_labels(table)
    options.add_quiet(table)
    options.add_settings(table, "which results (the settings the run was scored with)")
    best.add_best_options(table)
    table.set_defaults(run=run_table)

    plot = commands.add_parser(
        "plot",
        help="loss history, AP over steps and PR curves as PNG files",
        description="Writes loss_history.png, ap_over_steps.png and pr_curves.png for a run "
        "folder (into RUN_DIR/plots by default), or ap_over_steps.png for an AP-table CSV.",
        allow_abbrev=False,
    )
    plot.add_argument("source", metavar="SOURCE", help="run folder or AP-table CSV")
    options.add(
        plot,
        "out_dir",
        help="the folder of the PNG files (default: RUN_DIR/plots, or ./plots for a CSV)",
    )
    options.add_renamed(
        plot,
        "--out",
        "is --out-dir for plot (it writes a folder of PNG files; --out names one file)",
    )
    options.add(plot, "step")
    options.add(plot, "compare")
    options.add_labels(plot)
    options.add_settings(plot, "which results (the settings the run was scored with)")
    options.add_quiet(plot)
    plot.set_defaults(run=run_plot)


def run_score(args: argparse.Namespace) -> int:
    from vocmap.cli.notices import announce_first_compile
    from vocmap.report.progress import Progress
    from vocmap.runs.contract import RunFolder, run_classes
    from vocmap.runs.scoring import ScoreSettings, score_run

    evaluation = options.eval_settings(args)
    announce_first_compile(args.quiet)
    run = RunFolder(Path(args.run_dir))
    classes = options.class_list(args.classes) or run_classes(run)
    ground_truth, image_set_file = options.load_ground_truth(args)
    annotations = options.ground_truth_paths(args)[0]
    settings = ScoreSettings(
        classes=tuple(classes) if classes else None,
        evaluation=evaluation,
        image_set=image_set_file.stem,
        voc_root=annotations.parent if annotations.name == "Annotations" else None,
        device=args.device,
        follow_symlinks=args.follow_symlinks,
        progress=not args.quiet,
    )
    try:
        scored = score_run(
            run.root,
            ground_truth,
            settings,
            steps=options.step_list(args.steps),
            every=args.every,
            jobs=args.jobs,
            progress=None if args.quiet else (lambda total: Progress(total, "score ")),
            force=args.force,
            note=lambda message: note(args, message),
        )
    except KeyboardInterrupt:
        print(
            "vocmap: interrupted; finished steps are kept, run the same command to continue",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.ci:
        print(
            f"bootstrap intervals added to {stats.add_run_intervals(args, run.root, ground_truth, settings)} step(s)"
        )
    total = len(run.evaluated(settings.key))
    write_stdout(
        f"scored {len(scored)} step(s); {total} evaluated in all under "
        f"{shown(str(run.eval_dir(settings.key)))}\n"
    )
    return EXIT_OK


def say_published_schedule(args: argparse.Namespace, source: str) -> None:
    """With ``--compare published``: say on stderr when SOURCE's run trained on another
    schedule than the published run (steps then do not mean the same point of training)."""
    from vocmap.data import PUBLISHED, PUBLISHED_SCHEDULE, schedule_words
    from vocmap.runs.contract import RunFolder, run_schedule

    if args.compare != PUBLISHED or Path(PUBLISHED).exists() or not Path(source).is_dir():
        return
    schedule = run_schedule(RunFolder(Path(source)))
    if schedule is not None and schedule != PUBLISHED_SCHEDULE:
        note(
            args,
            f"--compare published: the published run trained with "
            f"{schedule_words(PUBLISHED_SCHEDULE)}; this run with {schedule_words(schedule)}, "
            "so the same step is not the same point of training",
        )


def run_table(args: argparse.Namespace) -> int:
    from vocmap.report.run_tables import render
    from vocmap.runs.tables import best_per_window, load_table, select_steps

    outputs = planned_outputs(args, {"json": "json", "csv": "csv"})
    if best.wanted(args):
        return best.run_table_best(args, outputs)
    key = options.eval_settings(args).key
    table = select_steps(
        load_table(args.source, key, args.label), options.step_list(args.steps), args.every
    )
    if args.best_per:
        table = best_per_window(table, args.best_per)
    reference = load_table(args.compare, key, args.compare_label) if args.compare else None
    say_published_schedule(args, args.source)
    emit(outputs, lambda style: render(table, style, args.digits, reference))
    return EXIT_OK


def run_plot(args: argparse.Namespace) -> int:
    from vocmap.cli.notices import require_extra

    require_extra("plot", "plot")
    from vocmap.core.errors import InputError
    from vocmap.report import plotting
    from vocmap.runs.contract import RunFolder
    from vocmap.runs.history import read_history
    from vocmap.runs.tables import is_table_file, load_result, load_table

    source = Path(args.source)
    evaluation = options.eval_settings(args)
    key = evaluation.key
    reference = load_table(args.compare, key, args.compare_label) if args.compare else None
    say_published_schedule(args, args.source)
    ylabel = evaluation.axis_label
    written = []
    if is_table_file(args.source):
        out = Path(args.out_dir or "plots")
        table = load_table(source, key, args.label)
        written.append(
            plotting.plot_ap_over_steps(table, out / "ap_over_steps.png", reference, ylabel=ylabel)
        )
    else:
        # Everything is read (and checked) before the first figure is written.
        run = RunFolder(source)
        out = Path(args.out_dir) if args.out_dir else run.root / "plots"
        history = read_history(run.history_path) if run.history_path.exists() else None
        table = load_table(run.root, key, args.label)
        results = run.evaluated(key)
        step = args.step if args.step is not None else max(results)
        if step not in results:
            raise InputError(f"step {step} has not been evaluated (run `vocmap score`)", run.root)
        curves = load_result(results[step])
        if history is not None:
            written.append(
                plotting.plot_loss_history(
                    history, out / "loss_history.png", title=f"Loss history: {run.root.name}"
                )
            )
        written.append(
            plotting.plot_ap_over_steps(table, out / "ap_over_steps.png", reference, ylabel=ylabel)
        )
        written.append(plotting.plot_pr_curves(curves, out / "pr_curves.png"))
    write_stdout("".join(f"{shown(str(path))}\n" for path in written))
    return EXIT_OK
