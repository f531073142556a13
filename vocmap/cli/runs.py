"""``vocmap score``, ``vocmap table`` and ``vocmap plot``: a whole training run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vocmap.cli import options, stats
from vocmap.cli.output import Output, check_outputs, emit, note, write_stdout

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
    options.add_classes(score)
    options.add_settings(score)
    options.add_steps(score)
    score.add_argument(
        "--jobs",
        type=options.bounded_int(1, 256),
        default=1,
        help="processes evaluating steps in parallel (default 1)",
    )
    score.add_argument(
        "--device", help="device for making detections (cpu, cuda; default: cuda if available)"
    )
    score.add_argument(
        "--force",
        action="store_true",
        help="score the chosen steps again even if they have results (replacing them)",
    )
    options.add_quiet(score)
    stats.add_ci_options(score)
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
    table.add_argument(
        "--best-per",
        type=options.step_count,
        metavar="STEPS",
        help="one column per window of STEPS steps with each class's best AP in it "
        "(the published summary uses 20000), then the final step (always the final model)",
    )
    options.add_output(table, TABLE_FORMATS)
    table.add_argument(
        "--compare", metavar="CSV_OR_RUN", help="put another table beside (e.g. the published run)"
    )
    table.add_argument(
        "--digits",
        type=options.bounded_int(0, 17),
        default=4,
        help="decimals in text and markdown (default 4)",
    )
    options.add_labels(table)
    options.add_quiet(table)
    options.add_settings(table, "which results (the settings the run was scored with)")
    table.set_defaults(run=run_table)

    plot = commands.add_parser(
        "plot",
        help="loss history, AP over steps and PR curves as PNG files",
        description="Writes loss_history.png, ap_over_steps.png and pr_curves.png for a run "
        "folder (into RUN_DIR/plots by default), or ap_over_steps.png for an AP-table CSV.",
        allow_abbrev=False,
    )
    plot.add_argument("source", metavar="SOURCE", help="run folder or AP-table CSV")
    plot.add_argument(
        "--out", metavar="DIR", help="output folder (default: RUN_DIR/plots, or ./plots for a CSV)"
    )
    plot.add_argument(
        "--step",
        type=options.bounded_int(0, options.MAX_STEP),
        help="the step of the PR curves (default: the last)",
    )
    plot.add_argument(
        "--compare", metavar="CSV_OR_RUN", help="draw another run's mAP beside (e.g. the published)"
    )
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
        f"{run.eval_dir(settings.key)}\n"
    )
    return EXIT_OK


def run_table(args: argparse.Namespace) -> int:
    from vocmap.report.run_tables import render
    from vocmap.runs.tables import best_per_window, load_table, select_steps

    outputs = check_outputs([Output(args.format or "text", args.out or "-", "--out")])
    key = options.eval_settings(args).key
    table = select_steps(
        load_table(args.source, key, args.label), options.step_list(args.steps), args.every
    )
    if args.best_per:
        table = best_per_window(table, args.best_per)
    reference = load_table(args.compare, key, args.compare_label) if args.compare else None
    emit(outputs, lambda style: render(table, style, args.digits, reference))
    return EXIT_OK


def run_plot(args: argparse.Namespace) -> int:
    from vocmap.core.errors import InputError
    from vocmap.report import plotting
    from vocmap.runs.contract import RunFolder
    from vocmap.runs.history import read_history
    from vocmap.runs.tables import load_result, load_table

    source = Path(args.source)
    evaluation = options.eval_settings(args)
    key = evaluation.key
    reference = load_table(args.compare, key, args.compare_label) if args.compare else None
    ylabel = evaluation.axis_label
    written = []
    if source.is_file():
        out = Path(args.out or "plots")
        table = load_table(source, key, args.label)
        written.append(
            plotting.plot_ap_over_steps(table, out / "ap_over_steps.png", reference, ylabel=ylabel)
        )
    else:
        # Everything is read (and checked) before the first figure is written.
        run = RunFolder(source)
        out = Path(args.out) if args.out else run.root / "plots"
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
    write_stdout("".join(f"{path}\n" for path in written))
    return EXIT_OK
