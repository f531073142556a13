"""The ``vocmap`` command line. It parses options and orchestrates; the work is elsewhere.

Exit status: 0 on success, 2 on bad input or options (one line on stderr).
Heavy modules (numpy, numba, matplotlib, torch) are imported inside the
subcommands that need them, so ``vocmap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _class_list(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [name for value in values for name in value.split(",") if name]
    return names or None


def _add_ground_truth_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "ground truth",
        "Where the annotations are. Without options: $VOC_ROOT, then ./VOCdevkit/VOC2007.",
    )
    group.add_argument("--voc-root", metavar="DIR", help="a VOC year folder (VOCdevkit/VOC2007)")
    group.add_argument(
        "--image-set",
        default="test",
        metavar="NAME",
        help="ImageSets/Main/NAME.txt under --voc-root (default: test)",
    )
    group.add_argument("--annotations", metavar="DIR", help="a folder of <image id>.xml files")
    group.add_argument("--imageset", metavar="FILE", help="an image-set file (with --annotations)")
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="parse the XML files even if a current cache entry exists",
    )


def _add_evaluation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("evaluation")
    group.add_argument(
        "--classes",
        nargs="+",
        metavar="CLASS",
        help="classes to evaluate, in table order (default: the 20 VOC classes)",
    )
    group.add_argument(
        "--metric",
        choices=("voc07", "voc12"),
        default="voc07",
        help="voc07: 11-point AP, the VOC2007 number (default); voc12: area AP of VOC2010+",
    )
    group.add_argument(
        "--iou",
        type=float,
        default=0.5,
        help="overlap threshold (default 0.5; other values are not the VOC2007 number)",
    )
    group.add_argument(
        "--ignore-unknown-images",
        action="store_true",
        help="drop result lines whose image is not in the image set (and say how many)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vocmap",
        description="The PASCAL VOC2007 devkit's detection AP, bit for bit, fast.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate one set of detections and print the per-class table",
        description="Evaluate a folder of devkit result files (comp4_det_test_<class>.txt) "
        "or a COCO-style results .json against VOC annotations.",
    )
    evaluate.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    _add_ground_truth_options(evaluate)
    _add_evaluation_options(evaluate)
    evaluate.add_argument(
        "--semantics",
        default="devkit",
        metavar="NAME",
        help="evaluation rules (default: devkit, the official ones)",
    )
    out = evaluate.add_argument_group("output")
    out.add_argument(
        "--json",
        metavar="FILE",
        help="write the results as JSON (exact floats, NaN as null); - for stdout",
    )
    out.add_argument("--csv", metavar="FILE", help="write the results as CSV; - for stdout")
    out.add_argument("--markdown", action="store_true", help="print the table as markdown")
    out.add_argument("--quiet", action="store_true", help="print only the mAP")
    compare = commands.add_parser(
        "compare",
        help="evaluate under two semantics and explain every class whose AP differs",
        description="Reproduce two evaluators' numbers for the same detections and say, per "
        "class, which rule and which detections make the difference. Presets: devkit, "
        "py-faster-rcnn, mmdet, ssd_keras.",
    )
    compare.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    compare.add_argument(
        "--semantics",
        action="append",
        metavar="NAME",
        help="give twice (A then B); once compares devkit with NAME",
    )
    _add_ground_truth_options(compare)
    _add_evaluation_options(compare)
    compare.add_argument(
        "--json", metavar="FILE", help="write the comparison as JSON; - for stdout"
    )

    score = commands.add_parser(
        "score",
        help="evaluate every checkpoint of a training run (resumable)",
        description="For each step of RUN_DIR (checkpoints/step_XXXXXX.pt or "
        "detections/step_XXXXXX/): make detections where missing (through ssd_ref), "
        "evaluate, and store eval/<settings>/step_XXXXXX.json. Finished steps are "
        "skipped, so an interrupted run continues where it stopped.",
    )
    score.add_argument("run_dir", metavar="RUN_DIR")
    _add_ground_truth_options(score)
    _add_evaluation_options(score)
    score.add_argument(
        "--semantics", default="devkit", metavar="NAME", help="evaluation rules (default: devkit)"
    )
    _add_step_options(score)
    score.add_argument(
        "--jobs", type=int, default=1, help="processes evaluating steps in parallel (default 1)"
    )
    score.add_argument(
        "--device", help="device for making detections (cpu, cuda; default: cuda if available)"
    )
    score.add_argument("--quiet", action="store_true", help="no progress bar")

    table = commands.add_parser(
        "table",
        help="the summary table: per-class AP by step, mAP last",
        description="SOURCE is a run folder scored by `vocmap score`, or a CSV like the "
        "published data_fixtures/seed_summary/ap_by_step.csv.",
    )
    table.add_argument("source", metavar="SOURCE", help="run folder or AP-table CSV")
    _add_step_options(table)
    table.add_argument(
        "--best-per",
        type=int,
        metavar="STEPS",
        help="one column per window of STEPS steps with each class's best AP in it "
        "(the published summary uses 20000), then the final step",
    )
    table.add_argument("--format", choices=("text", "markdown", "csv", "json"), default="text")
    table.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    table.add_argument(
        "--compare", metavar="CSV_OR_RUN", help="put another table beside (e.g. the published run)"
    )
    table.add_argument("--digits", type=int, default=4, help="decimals in text and markdown")
    _add_label_options(table)
    _add_settings_options(table)

    plot = commands.add_parser(
        "plot",
        help="loss history, AP over steps and PR curves as PNG files",
        description="Writes loss_history.png, ap_over_steps.png and pr_curves.png for a run "
        "folder (into RUN_DIR/plots by default), or ap_over_steps.png for an AP-table CSV.",
    )
    plot.add_argument("source", metavar="SOURCE", help="run folder or AP-table CSV")
    plot.add_argument(
        "--out", metavar="DIR", help="output folder (default: RUN_DIR/plots, or ./plots for a CSV)"
    )
    plot.add_argument("--step", type=int, help="the step of the PR curves (default: the last)")
    plot.add_argument(
        "--compare", metavar="CSV_OR_RUN", help="draw another run's mAP beside (e.g. the published)"
    )
    _add_label_options(plot)
    _add_settings_options(plot)
    return parser


def _add_label_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label", help="name of SOURCE in titles (default: its folder or file name)"
    )
    parser.add_argument("--compare-label", help="name of the --compare table (default: its name)")


def _add_step_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("steps")
    group.add_argument("--steps", metavar="S[,S...]", help="only these steps")
    group.add_argument(
        "--every", type=int, metavar="N", help="only steps that are multiples of N (and the last)"
    )


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "which results", "The evaluation settings the run was scored with."
    )
    group.add_argument("--metric", choices=("voc07", "voc12"), default="voc07")
    group.add_argument("--iou", type=float, default=0.5)
    group.add_argument("--semantics", default="devkit", metavar="NAME")


def _step_list(text: str | None) -> list[int] | None:
    from vocmap.errors import VocmapError

    if not text:
        return None
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise VocmapError(f"--steps takes step numbers separated by commas, not {text!r}") from None


def resolve_ground_truth_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """``(annotations folder, image-set file)`` from the options and environment."""
    from vocmap.errors import VocmapError

    if args.annotations or args.imageset:
        if args.voc_root:
            raise VocmapError("give either --voc-root or --annotations with --imageset, not both")
        if not (args.annotations and args.imageset):
            raise VocmapError("--annotations and --imageset go together")
        return Path(args.annotations), Path(args.imageset)
    root = args.voc_root or os.environ.get("VOC_ROOT")
    if not root:
        default = Path("VOCdevkit") / "VOC2007"
        if not default.is_dir():
            raise VocmapError(
                "no annotations given: use --voc-root DIR, or --annotations DIR --imageset FILE, "
                "or set $VOC_ROOT (./VOCdevkit/VOC2007 does not exist)"
            )
        root = default
    root = Path(root)
    if not root.is_dir():
        raise VocmapError(f"VOC root folder not found: {root}")
    return root / "Annotations", root / "ImageSets" / "Main" / f"{args.image_set}.txt"


def load_ground_truth(args: argparse.Namespace):
    from vocmap.annotations import GroundTruth

    annotations, image_set = resolve_ground_truth_paths(args)
    return GroundTruth.from_folder(annotations, image_set, cache=not args.no_cache)


def announce_first_compile() -> None:
    """Say so on stderr when the numba kernels are about to be compiled."""
    from vocmap import kernels

    if not kernels.compiled_code_cached():
        print(
            "vocmap: compiling the numba kernels for this machine (first run only, a few seconds)",
            file=sys.stderr,
            flush=True,
        )


def run_evaluate(args: argparse.Namespace) -> int:
    from vocmap.detections import read_detections
    from vocmap.evaluation import Evaluator
    from vocmap.report import format_result

    announce_first_compile()
    classes = _class_list(args.classes)
    ground_truth = load_ground_truth(args)
    evaluator = Evaluator(
        ground_truth, classes, metric=args.metric, iou=args.iou, semantics=args.semantics
    )
    image_set_name = Path(resolve_ground_truth_paths(args)[1]).stem
    detections = read_detections(
        args.detections,
        ground_truth,
        evaluator.classes,
        image_set=image_set_name,
        ignore_unknown_images=args.ignore_unknown_images,
    )
    result = evaluator.evaluate(detections)
    for path, write in ((args.json, result.to_json), (args.csv, result.to_csv)):
        if path == "-":
            sys.stdout.write(write())
        elif path:
            write(path)
    if args.json == "-" or args.csv == "-":
        return EXIT_OK
    if args.quiet:
        print(repr(result.map))
    else:
        sys.stdout.write(format_result(result, "markdown" if args.markdown else "text"))
    return EXIT_OK


def run_compare(args: argparse.Namespace) -> int:
    from vocmap.compare import compare
    from vocmap.detections import read_detections
    from vocmap.errors import VocmapError
    from vocmap.evaluation import Evaluator
    from vocmap.report import format_comparison

    names = args.semantics or []
    if len(names) == 1:
        names = ["devkit", names[0]]
    if len(names) != 2:
        raise VocmapError("give --semantics once (compared with devkit) or twice")
    announce_first_compile()
    ground_truth = load_ground_truth(args)
    classes = Evaluator(ground_truth, _class_list(args.classes)).classes
    detections = read_detections(
        args.detections,
        ground_truth,
        classes,
        image_set=Path(resolve_ground_truth_paths(args)[1]).stem,
        ignore_unknown_images=args.ignore_unknown_images,
    )
    comparison = compare(
        ground_truth, detections, names[0], names[1], classes, metric=args.metric, iou=args.iou
    )
    if args.json:
        from vocmap.compare import comparison_to_json

        text = comparison_to_json(comparison, None if args.json == "-" else args.json)
        if args.json == "-":
            sys.stdout.write(text)
            return EXIT_OK
    sys.stdout.write(format_comparison(comparison))
    return EXIT_OK


def run_score(args: argparse.Namespace) -> int:
    from vocmap.runs import RunFolder, run_classes
    from vocmap.scoring import ScoreSettings, score_run

    announce_first_compile()
    run = RunFolder(Path(args.run_dir))
    classes = _class_list(args.classes) or run_classes(run)
    annotations, image_set_file = resolve_ground_truth_paths(args)
    from vocmap.annotations import GroundTruth

    ground_truth = GroundTruth.from_folder(annotations, image_set_file, cache=not args.no_cache)
    voc_root = annotations.parent if annotations.name == "Annotations" else None
    settings = ScoreSettings(
        classes=tuple(classes) if classes else None,
        metric=args.metric,
        iou=args.iou,
        semantics=args.semantics,
        image_set=image_set_file.stem,
        voc_root=voc_root,
        device=args.device,
    )
    try:
        scored = score_run(
            run.root,
            ground_truth,
            settings,
            steps=_step_list(args.steps),
            every=args.every,
            jobs=args.jobs,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        print(
            "vocmap: interrupted; finished steps are kept, run the same command to continue",
            file=sys.stderr,
        )
        return 130
    total = len(run.evaluated(settings.key))
    print(
        f"scored {len(scored)} step(s); {total} evaluated in all under {run.eval_dir(settings.key)}"
    )
    return EXIT_OK


def _settings_of(args: argparse.Namespace) -> str:
    from vocmap.runs import settings_key

    return settings_key(args.metric, args.iou, args.semantics)


def run_table(args: argparse.Namespace) -> int:
    from vocmap.runs import load_table
    from vocmap.tables import best_per_window, render, select_steps

    settings = _settings_of(args)
    table = select_steps(
        load_table(args.source, settings, args.label), _step_list(args.steps), args.every
    )
    if args.best_per:
        table = best_per_window(table, args.best_per)
    reference = load_table(args.compare, settings, args.compare_label) if args.compare else None
    text = render(table, args.format, args.digits, reference)
    if args.out:
        from vocmap.atomic import atomic_write_text

        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run_plot(args: argparse.Namespace) -> int:
    from vocmap.errors import InputError
    from vocmap.runs import RunFolder, load_result, load_table, read_history

    source = Path(args.source)
    settings = _settings_of(args)
    reference = load_table(args.compare, settings, args.compare_label) if args.compare else None
    from vocmap import plotting

    ylabel = plotting.ap_axis_label(args.metric, args.iou, args.semantics)
    written = []
    if source.is_file():
        out = Path(args.out or "plots")
        table = load_table(source, settings, args.label)
        written.append(
            plotting.plot_ap_over_steps(table, out / "ap_over_steps.png", reference, ylabel=ylabel)
        )
    else:
        run = RunFolder(source)
        out = Path(args.out) if args.out else run.root / "plots"
        if run.history_path.exists():
            written.append(
                plotting.plot_loss_history(
                    read_history(run.history_path),
                    out / "loss_history.png",
                    title=f"Loss history: {run.root.name}",
                )
            )
        table = load_table(run.root, settings, args.label)
        written.append(
            plotting.plot_ap_over_steps(table, out / "ap_over_steps.png", reference, ylabel=ylabel)
        )
        results = run.evaluated(settings)
        step = args.step if args.step is not None else max(results)
        if step not in results:
            raise InputError(f"step {step} has not been evaluated (run `vocmap score`)", run.root)
        written.append(plotting.plot_pr_curves(load_result(results[step]), out / "pr_curves.png"))
    for path in written:
        print(path)
    return EXIT_OK


COMMANDS = {
    "evaluate": run_evaluate,
    "compare": run_compare,
    "score": run_score,
    "table": run_table,
    "plot": run_plot,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from vocmap import __version__

        print(f"vocmap {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    from vocmap.errors import VocmapError

    try:
        return COMMANDS[args.command](args)
    except VocmapError as error:
        print(f"vocmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vocmap: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The console script: run, flush, and leave without interpreter teardown.

    Freeing hundreds of MB of arrays and numba's LLVM state at exit costs about
    0.2 s, a third of a whole evaluation; every output file is closed (and
    renamed into place) before main() returns, so nothing is lost by skipping it.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
