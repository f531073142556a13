"""The hostile-input registry: every entry point of vocmap and ssd_ref, as data.

Each surface is one entry: how to invoke it with a valid baseline input, and which of
its arguments are paths or values of which kind. The tests of this folder mutate each
argument with the generic mutators of its kind (``mutators.py``) and assert a verdict;
``test_registry_is_complete.py`` fails when a command, option, public name, adapter or
config key exists that is not listed here, so a new surface cannot arrive untested.

To register a new option, add one line to the command's ``options`` (or to
``SHARED_OPTIONS`` when it means the same in every command that has it)::

    "--new-option": COUNT,              # a whole number >= 1
    "--new-path": INPUT_FILE,           # a file read by the command

A known failure is one line in ``KNOWN_FAILURES`` (a strict xfail with its reason):
delete the line when the bug is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------
# Kinds of arguments. A kind names the mutators that apply to it and their verdicts.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """What an argument is: ``refuse`` lists mutators that must be refused (exit 2,
    one line naming the option or file); ``tolerate`` lists mutators that may be
    accepted or refused, but always cleanly (no traceback, nothing raw on the terminal)."""

    name: str
    refuse: tuple[str, ...] = ()
    tolerate: tuple[str, ...] = ()
    path: bool = False


_NUMERIC_BAD = ("wrong_type", "empty", "nan", "inf", "minus_inf", "control", "bidi", "markup")

#: (0, 1]: an IoU.
UNIT_INTERVAL = Kind("unit interval", (*_NUMERIC_BAD, "negative", "zero", "huge", "above_one"))
#: [0, 1]: a score threshold.
PROBABILITY = Kind("probability", (*_NUMERIC_BAD, "negative", "huge", "above_one"), ("zero",))
#: (0, 1) exclusive: a confidence level.
LEVEL = Kind("level", (*_NUMERIC_BAD, "negative", "zero", "huge", "above_one"))
#: a whole number >= 1 (with a sane upper bound).
COUNT = Kind("count", (*_NUMERIC_BAD, "negative", "zero", "huge", "fraction"))
#: a whole number >= 0.
SEED = Kind("seed", (*_NUMERIC_BAD, "negative", "fraction"), ("zero", "huge"))
#: a whole number >= 0 (a count of things to show, a cap: 0 and huge are fine).
CAP = Kind("cap", (*_NUMERIC_BAD, "negative", "fraction"), ("zero", "huge"))
#: a whole number >= 1 with no harm in a huge one (a cap such as max_dets).
POSITIVE_CAP = Kind("positive cap", (*_NUMERIC_BAD, "negative", "zero", "fraction"), ("huge",))
#: digits after the point (0 to 17).
DIGITS = Kind("digits", (*_NUMERIC_BAD, "negative", "huge", "fraction"), ("zero",))
#: any finite real number (a score threshold: detectors' scores are not bounded).
REAL = Kind("real", _NUMERIC_BAD, ("negative", "zero", "huge", "above_one"))
#: [0, 1): a background overlap.
OVERLAP_FLOOR = Kind("overlap floor", (*_NUMERIC_BAD, "negative", "huge", "above_one"), ("zero",))
#: one of a fixed list.
CHOICE = Kind("choice", ("wrong_type", "empty", "nan", "control", "bidi", "markup"))
#: free text shown back to the user (a title, a label): anything, escaped.
TEXT = Kind("text", (), ("wrong_type", "empty", "control", "bidi", "markup", "long"))
#: class names (nargs=+).
CLASSES = Kind("classes", (), ("empty", "wrong_type", "control", "bidi", "markup", "long"))
#: a list of steps ("100,200" or a range).
STEPS = Kind("steps", ("wrong_type", "nan", "negative", "control", "bidi", "markup"), ("empty",))
#: a name of an image set ("test") or a device: looked up, so refused when unknown.
NAME = Kind("name", ("control", "bidi"), ("wrong_type", "empty", "markup", "long"))
#: a flag without a value: nothing to mutate, listed so that a new one is noticed.
FLAG = Kind("flag")

_INPUT_PATH_BAD = ("missing", "fifo", "dev_zero", "control_name", "bidi_name", "empty_name")
#: a file the command reads.
INPUT_FILE = Kind("input file", (*_INPUT_PATH_BAD, "folder", "empty_file", "garbage"), path=True)
#: a result file: empty is valid (no detections of that class).
RESULT_FILE = Kind(
    "result file", (*_INPUT_PATH_BAD, "folder", "garbage"), ("empty_file",), path=True
)
#: a folder the command reads (``inner`` of the entry: a file it reads inside).
INPUT_FOLDER = Kind(
    "input folder", (*_INPUT_PATH_BAD, "file", "empty_folder", "link_out"), path=True
)
#: a file or a folder (a result JSON or a run folder, devkit files or a COCO JSON).
INPUT_EITHER = Kind(
    "file or folder",
    (*_INPUT_PATH_BAD, "empty_file", "garbage", "empty_folder", "link_out"),
    path=True,
)
#: a file the command writes.
OUTPUT_FILE = Kind(
    "output file", ("folder", "empty_name"), ("control_name", "bidi_name"), path=True
)
#: a folder the command writes files into.
OUTPUT_FOLDER = Kind(
    "output folder", ("file", "empty_name"), ("control_name", "bidi_name"), path=True
)


# --------------------------------------------------------------------------------------
# The vocmap command line
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One ``vocmap`` command: its baseline argv (placeholders ``{results}`` ... are the
    workspace's files, see conftest.py) and the kind of every option and positional."""

    baseline: tuple[str, ...]
    options: dict[str, Kind] = field(default_factory=dict)
    #: a positional's argparse ``dest`` -> (its index in ``baseline``, its kind)
    positionals: dict[str, tuple[int, Kind]] = field(default_factory=dict)
    #: options whose baseline value is given (the mutation replaces it)
    #: for INPUT_FOLDER arguments: the file inside that the link_out mutator replaces
    inner: dict[str, str] = field(default_factory=dict)
    #: does the command write its --out/--json into ``{out}``?
    writes: tuple[str, ...] = ()
    #: option -> the argv used instead of ``baseline`` when that option is mutated
    #: (an option that only acts with another, or excludes one of the baseline's)
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)


#: Options with one meaning in every command that has them (a command's own
#: ``options`` entry overrides).
SHARED_OPTIONS: dict[str, Kind] = {
    "--voc-root": INPUT_FOLDER,
    "--image-set": NAME,
    "--annotations": INPUT_FOLDER,
    "--image-set-file": INPUT_FILE,
    "--imageset": INPUT_FILE,  # the deprecated spelling of --image-set-file
    "--no-cache": FLAG,
    "--classes": CLASSES,
    "--metric": CHOICE,
    "--iou": UNIT_INTERVAL,
    "--semantics": CHOICE,
    "--ignore-unknown-images": FLAG,
    "--ignore-unknown-categories": FLAG,
    "--prefix": NAME,
    "--follow-symlinks": FLAG,
    "--ci": FLAG,
    "--resamples": COUNT,
    "--seed": SEED,
    "--level": LEVEL,
    "--format": CHOICE,
    "--out": OUTPUT_FILE,
    "--json": OUTPUT_FILE,
    "--csv": OUTPUT_FILE,
    "--markdown": FLAG,
    "--quiet": FLAG,
    "--steps": STEPS,
    "--every": COUNT,
    "--jobs": COUNT,
    "--device": NAME,
    "--force": FLAG,
    "--version": FLAG,
    # COCO json ground truth (issue 20)
    "--ground-truth": INPUT_FILE,
    "--coco-image-ids": CHOICE,
    # YOLO data (issue 22)
    "--yolo-labels": INPUT_FOLDER,
    "--yolo-classes": INPUT_FILE,
    "--yolo-images": INPUT_FOLDER,
    "--yolo-missing-labels": CHOICE,
    "--yolo-predictions": FLAG,
    # the best checkpoint (table, report)
    "--best": FLAG,
    "--against": COUNT,
}

_YOLO = (
    "--yolo-labels",
    "{yolo}/labels",
    "--yolo-classes",
    "{yolo}/data.yaml",
    "--yolo-predictions",
)
_COCO = ("--ground-truth", "{coco}/instances.json")


def _input_variants(command: str, out: str) -> dict[str, tuple[str, ...]]:
    """The YOLO and COCO options mutated on a YOLO or COCO baseline of ``command``."""
    yolo = (command, "{yolo}/pred", *_YOLO, *out.split())
    coco = (command, "{coco}/results.json", *_COCO, *out.split())
    return {
        **{name: yolo for name in _YOLO if name.startswith("--yolo-")},
        "--yolo-images": (*yolo, "--yolo-images", "{yolo}/images"),
        "--yolo-missing-labels": (*yolo, "--yolo-missing-labels", "empty"),
        "--ground-truth": coco,
        "--coco-image-ids": (*coco, "--coco-image-ids", "id"),
    }


_GT = ("--voc-root", "{voc}")
_ALT_GT = (
    "--annotations",
    "{voc}/Annotations",
    "--image-set-file",
    "{voc}/ImageSets/Main/test.txt",
)
_CI = ("--ci", "--resamples", "20")


def _variants(baseline: tuple[str, ...], ci: bool = False) -> dict[str, tuple[str, ...]]:
    """The ground truth as --annotations + --image-set-file for those options (and
    --ci for the bootstrap's options)."""
    at = baseline.index("--voc-root")
    alternative = (*baseline[:at], *_ALT_GT, *baseline[at + 2 :])
    out = {name: alternative for name in ("--annotations", "--image-set-file", "--imageset")}
    if ci:
        at = baseline.index("--classes")
        with_ci = (*baseline[:at], *_CI, *baseline[at:])
        out.update({name: with_ci for name in ("--resamples", "--seed", "--level")})
    return out


#: run_builder's classes (the workspace's data set)
_CLASSES = ("--classes", "bottle", "car", "cat", "dog", "person")
_BASELINES: dict[str, tuple[str, ...]] = {
    "evaluate": ("evaluate", "{results}", *_GT, "--json", "{out}/r.json", *_CLASSES),
    "compare": (
        "compare",
        "{results}",
        *_GT,
        "--semantics",
        "py-faster-rcnn",
        "--json",
        "{out}/c.json",
        *_CLASSES,
    ),
    "score": ("score", "{run}", *_GT, "--quiet", "--force", *_CLASSES),
    "table": ("table", "{run}", "--out", "{out}/t.txt"),
    # a table CSV draws one figure (a run folder three): --step needs the run folder
    "plot": ("plot", "{table_csv}", "--out-dir", "{out}/plots"),
    "check": ("check", "{results}", *_GT, "--json", "{out}/k.json", *_CLASSES),
    "diagnose": ("diagnose", "{results}", *_GT, "--top", "3", "--out", "{out}/d.txt", *_CLASSES),
    "report": ("report", "{result_json}", "--out", "{out}/r.html"),
    "compare-runs": (
        "compare-runs",
        "{results}",
        "{results_b}",
        *_GT,
        "--resamples",
        "20",
        "--json",
        "{out}/cr.json",
        *_CLASSES,
    ),
}
_IN_RESULTS = "comp4_det_test_dog.txt"


def _best_variants(command: str, switch: tuple[str, ...], out: str) -> dict[str, tuple[str, ...]]:
    """``table --best`` / ``report RUN``: the ground truth and bootstrap options act
    only on a run with its ground truth."""
    base = (command, "{run}", *switch, *_GT, "--resamples", "20", "--out", out)
    alternative = (command, "{run}", *switch, *_ALT_GT, "--resamples", "20", "--out", out)
    names = ("--voc-root", "--image-set", "--no-cache", "--against", "--resamples", "--seed")
    return {
        **{name: base for name in (*names, "--level")},
        **{name: alternative for name in ("--annotations", "--image-set-file", "--imageset")},
    }


_BEST_VARIANTS = {
    "table": _best_variants("table", ("--best",), "{out}/t.txt"),
    "report": _best_variants("report", (), "{out}/r.html"),
}
_IN_VOC = "Annotations/000001.xml"

COMMANDS: dict[str, Command] = {
    "evaluate": Command(
        _BASELINES["evaluate"],
        options={"--threshold": REAL, "--curves": OUTPUT_FILE, "--operating-point": FLAG},
        positionals={"detections": (1, INPUT_EITHER)},
        inner={"detections": _IN_RESULTS, "--voc-root": _IN_VOC},
        writes=("--json",),
        variants={
            **_variants(_BASELINES["evaluate"], ci=True),
            **_input_variants("evaluate", "--json {out}/r.json"),
        },
    ),
    "check": Command(
        _BASELINES["check"],
        positionals={"detections": (1, INPUT_EITHER)},
        inner={"detections": _IN_RESULTS, "--voc-root": _IN_VOC},
        writes=("--json",),
        variants={
            **_variants(_BASELINES["check"]),
            **_input_variants("check", "--json {out}/k.json"),
        },
    ),
    "compare": Command(
        _BASELINES["compare"],
        positionals={"detections": (1, INPUT_EITHER)},
        inner={"detections": _IN_RESULTS, "--voc-root": _IN_VOC},
        writes=("--json",),
        variants={
            **_variants(_BASELINES["compare"]),
            **_input_variants("compare", "--semantics py-faster-rcnn --json {out}/c.json"),
        },
    ),
    "score": Command(
        _BASELINES["score"],
        options={"--device": TEXT},  # only used to make detections: these exist
        positionals={"run_dir": (1, INPUT_FOLDER)},
        inner={"run_dir": "detections/step_000100", "--voc-root": _IN_VOC},
        variants=_variants(_BASELINES["score"], ci=True),
    ),
    "table": Command(
        _BASELINES["table"],
        options={
            "--best-per": COUNT,
            "--digits": DIGITS,
            "--label": TEXT,
            "--compare-label": TEXT,
            "--compare": INPUT_EITHER,
        },
        positionals={"source": (1, INPUT_EITHER)},
        inner={"source": "eval/voc07/step_000100.json"},
        writes=("--out",),
        variants=_BEST_VARIANTS["table"],
    ),
    "plot": Command(
        _BASELINES["plot"],
        variants={"--step": ("plot", "{run}", "--out-dir", "{out}/plots")},
        options={
            "--out-dir": OUTPUT_FOLDER,
            "--step": COUNT,
            "--label": TEXT,
            "--compare-label": TEXT,
            "--compare": INPUT_EITHER,
        },
        positionals={"source": (1, INPUT_EITHER)},
        writes=("--out-dir",),
    ),
    "diagnose": Command(
        _BASELINES["diagnose"],
        options={
            "--background-iou": OVERLAP_FLOOR,
            "--score-threshold": REAL,
            "--top": CAP,
            "--max-dets": POSITIVE_CAP,
        },
        positionals={"detections": (1, INPUT_EITHER)},
        inner={"detections": _IN_RESULTS, "--voc-root": _IN_VOC},
        writes=("--out",),
        variants={
            **_variants(_BASELINES["diagnose"]),
            **_input_variants("diagnose", "--top 3 --out {out}/d.txt"),
        },
    ),
    "report": Command(
        _BASELINES["report"],
        options={"--diagnosis": INPUT_FILE, "--title": TEXT, "--images": INPUT_FOLDER},
        positionals={"source": (1, INPUT_EITHER)},
        writes=("--out",),
        variants={
            **_BEST_VARIANTS["report"],
            "--images": ("report", "{diagnosis_json}", "--out", "{out}/r.html"),
        },
    ),
    "compare-runs": Command(
        _BASELINES["compare-runs"],
        positionals={"a": (1, INPUT_EITHER), "b": (2, INPUT_EITHER)},
        inner={"a": _IN_RESULTS, "b": _IN_RESULTS, "--voc-root": _IN_VOC},
        writes=("--json",),
        variants=_variants(_BASELINES["compare-runs"]),
    ),
}


def option_kind(command: str, option: str) -> Kind | None:
    """The registered kind of ``option`` in ``command`` (its own entry, else shared)."""
    entry = COMMANDS.get(command)
    if entry is not None and option in entry.options:
        return entry.options[option]
    return SHARED_OPTIONS.get(option)


# --------------------------------------------------------------------------------------
# The Python API: every name of vocmap.__all__
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """One public name. ``call``: the name of a function in test_api_hostile.py that
    calls it with the baseline and one argument replaced (None: not called, and
    ``why`` says why); ``arguments``: the argument name -> its kind."""

    call: str | None
    arguments: dict[str, Kind] = field(default_factory=dict)
    why: str = ""


_VALUE = "a value, not a function: checked by the functions that take it"

API: dict[str, Api] = {
    "__version__": Api(None, why="a string"),
    "VOC_CLASSES": Api(None, why="a tuple of names"),
    "BOX_FORMATS": Api(None, why="a tuple of names"),
    "VocmapError": Api(None, why="the error class"),
    "InputError": Api(None, why="the error class"),
    "IncompleteImageSetWarning": Api(None, why="a warning class"),
    "GroundTruth": Api(None, why=_VALUE + " (made by the readers)"),
    "ClassGroundTruth": Api(None, why=_VALUE),
    "Detections": Api(None, why=_VALUE + " (made by the readers)"),
    "ClassDetections": Api(None, why=_VALUE),
    "EvalResult": Api(None, why=_VALUE + " (made by Evaluator)"),
    "ClassResult": Api(None, why=_VALUE),
    "Semantics": Api(None, why=_VALUE + " (a preset name is mutated through Evaluator)"),
    "EvalSettings": Api("eval_settings", {"metric": CHOICE, "iou": UNIT_INTERVAL}),
    "Evaluator": Api(
        "evaluator",
        {
            "classes": CLASSES,
            "metric": CHOICE,
            "iou": UNIT_INTERVAL,
            "semantics": CHOICE,
        },
    ),
    "evaluate_class": Api("evaluate_class", {"name": TEXT}),
    "DetectionAccumulator": Api(
        "accumulator", {"box_format": CHOICE, "label_offset": SEED, "duplicates": CHOICE}
    ),
    "read_voc": Api("read_voc", {"voc_root": INPUT_FOLDER, "image_set": NAME}),
    "read_annotations": Api(
        "read_annotations", {"annotations_dir": INPUT_FOLDER, "image_set_file": INPUT_FILE}
    ),
    "read_image_set": Api("read_image_set", {"path": INPUT_FILE}),
    "read_detections": Api("read_detections", {"source": INPUT_EITHER, "classes": CLASSES}),
    "read_result_folder": Api("read_result_folder", {"folder": INPUT_FOLDER, "prefix": NAME}),
    "read_result_file": Api("read_result_file", {"path": RESULT_FILE}),
    "read_coco_results": Api("read_coco_results", {"path": INPUT_FILE}),
    "read_coco_ground_truth": Api("read_coco_ground_truth", {"path": INPUT_FILE}),
    "format_result": Api("format_result", {"style": CHOICE, "digits": DIGITS}),
    "diagnose": Api(
        "diagnose",
        {
            "iou": UNIT_INTERVAL,
            "background_iou": OVERLAP_FLOOR,
            "score_threshold": REAL,
            "top": CAP,
            "max_dets": POSITIVE_CAP,
        },
    ),
    "bootstrap": Api("bootstrap", {"resamples": COUNT, "seed": SEED, "level": LEVEL}),
    "with_intervals": Api("with_intervals", {"resamples": COUNT, "seed": SEED, "level": LEVEL}),
    "compare_runs": Api("compare_runs", {"resamples": COUNT, "seed": SEED, "level": LEVEL}),
    "compare_with_coco50": Api("compare_with_coco50", {"metric": CHOICE}),
    "check": Api("check", {"classes": CLASSES}),
    "CheckReport": Api(None, why=_VALUE + " (made by check)"),
    "read_yolo_ground_truth": Api(
        "read_yolo_ground_truth",
        {"labels_folder": INPUT_FOLDER, "classes": INPUT_FILE, "missing_labels": CHOICE},
    ),
    "read_yolo_predictions": Api("read_yolo_predictions", {"folder": INPUT_FOLDER}),
    "read_yolo_classes": Api("read_yolo_classes", {"path": INPUT_FILE}),
    "YoloData": Api(None, why=_VALUE + " (made by read_yolo_ground_truth)"),
    "operating_points": Api("operating_points", {"threshold": REAL}),
    "pr_curves": Api(None, why="takes a result and its detections: the result's own checks"),
    "evaluate_folder": Api(
        "evaluate_folder",
        {
            "detections": INPUT_EITHER,
            "voc_root": INPUT_FOLDER,
            "iou": UNIT_INTERVAL,
            "metric": CHOICE,
        },
    ),
}

#: The framework adapters: module -> its public names (each fed hostile updates in
#: test_adapters_hostile.py, or named here with why not).
ADAPTERS: dict[str, dict[str, str]] = {
    "vocmap.integrations.torchmetrics": {"VocMeanAveragePrecision": "test_adapters_hostile"},
    "vocmap.integrations.torchvision": {"ground_truth_from_voc_targets": "test_adapters_hostile"},
    "vocmap.integrations.detectron2": {
        "VocDevkitEvaluator": "tests/vocmap/test_detectron2_adapter.py (needs detectron2's API)"
    },
    "vocmap.integrations.mmengine": {
        "VocDevkitMetric": "tests/vocmap/test_mmengine_adapter.py (needs mmengine's API)"
    },
    "vocmap.integrations.distributed": {
        "gather_accumulator": "test_adapters_hostile (states: the merge checks)",
        "all_gather_objects": "torch.distributed's all_gather_object: no input of its own",
        "world": "rank and size of torch.distributed: no input",
    },
}


# --------------------------------------------------------------------------------------
# ssd_ref: commands, config keys, checkpoints
# --------------------------------------------------------------------------------------

SSD_COMMANDS: dict[str, dict[str, Kind]] = {
    "train": {
        "--config": NAME,
        "--voc-root": INPUT_FOLDER,
        "--out": OUTPUT_FOLDER,
        "--resume": INPUT_FILE,
        "--override": TEXT,
        "--device": NAME,
        "--stop-at": COUNT,
        "--from-scratch": FLAG,
        "--eval-every": CAP,
    },
    "prepare": {
        "--config": NAME,
        "--voc-root": INPUT_FOLDER,
        "--out": OUTPUT_FOLDER,
        "--override": TEXT,
        "--quiet": FLAG,
    },
    # ``weights convert IN OUT [--preprocessing] [--sha256]``: its subcommand's
    # arguments are fed bad files in tests/ssd_ref/test_weights.py
    "weights": {},
    "detect": {
        "--checkpoint": INPUT_FILE,
        "--voc-root": INPUT_FOLDER,
        "--set": NAME,
        "--out": OUTPUT_FOLDER,
        "--device": NAME,
        "--batch-size": COUNT,
        "--num-workers": SEED,
        "--box-convention": CHOICE,
        "--quiet": FLAG,
    },
    "export-tensorboard": {"run": INPUT_FOLDER, "--out": OUTPUT_FOLDER},
    "make-synthetic": {
        "--out": OUTPUT_FOLDER,
        "--seed": SEED,
        "--trainval": COUNT,
        "--test": COUNT,
        "--folder": NAME,
    },
    "print-config": {"config": NAME, "--override": TEXT},
}

#: Config values: (kind, the section.key names). Every key of SSDConfig is listed.
POSITIVE_INT, NONNEGATIVE_INT, POSITIVE_FLOAT, NONNEGATIVE_FLOAT, FRACTION, BOOL, OTHER = (
    "positive int",
    "non-negative int",
    "positive float",
    "non-negative float",
    "fraction [0, 1]",
    "bool",
    "other",
)
CONFIG_KEYS: dict[str, str] = {
    "model.image_size": POSITIVE_INT,
    "model.width_mult": POSITIVE_FLOAT,
    "model.min_channels": POSITIVE_INT,
    "model.feature_maps": OTHER,
    "model.steps": OTHER,
    "model.min_sizes": OTHER,
    "model.max_sizes": OTHER,
    "model.aspect_ratios": OTHER,
    "model.prior_offset": NONNEGATIVE_FLOAT,
    "model.clip_priors": BOOL,
    "model.variances": OTHER,
    "model.l2norm_scale": POSITIVE_FLOAT,
    "model.backbone_weights": OTHER,
    "model.backbone_weights_preprocessing": OTHER,
    "model.backbone_init": OTHER,
    "model.input_std_bgr": OTHER,
    "model.batch_norm": BOOL,
    "model.stem_crelu": BOOL,
    "model.from_scratch": BOOL,
    "model.backbone_weights_sha256": OTHER,
    "data.classes": OTHER,
    "data.voc_root": OTHER,
    "data.train_sets": OTHER,
    "data.val_sets": OTHER,
    "data.val_max_images": NONNEGATIVE_INT,
    "data.use_difficult": BOOL,
    "data.pixel_mean_bgr": OTHER,
    "data.num_workers": NONNEGATIVE_INT,
    "data.pin_memory": BOOL,
    "data.epoch_order": OTHER,
    "data.pipeline": OTHER,
    "data.prepared": OTHER,
    "augment.brightness_prob": FRACTION,
    "augment.brightness_delta": NONNEGATIVE_FLOAT,
    "augment.contrast_prob": FRACTION,
    "augment.contrast_lower": NONNEGATIVE_FLOAT,
    "augment.contrast_upper": NONNEGATIVE_FLOAT,
    "augment.saturation_prob": FRACTION,
    "augment.saturation_lower": NONNEGATIVE_FLOAT,
    "augment.saturation_upper": NONNEGATIVE_FLOAT,
    "augment.hue_prob": FRACTION,
    "augment.hue_delta": NONNEGATIVE_FLOAT,
    "augment.expand_prob": FRACTION,
    "augment.max_expand_ratio": POSITIVE_FLOAT,
    "augment.samplers": OTHER,
    "augment.interpolations": OTHER,
    "augment.flip_prob": FRACTION,
    "augment.jpeg_quality": OTHER,
    "solver.optimizer": OTHER,
    "solver.batch_size": POSITIVE_INT,
    "solver.base_lr": POSITIVE_FLOAT,
    "solver.momentum": NONNEGATIVE_FLOAT,
    "solver.weight_decay": NONNEGATIVE_FLOAT,
    "solver.bias_lr_factor": NONNEGATIVE_FLOAT,
    "solver.bias_weight_decay": NONNEGATIVE_FLOAT,
    "solver.milestones": OTHER,
    "solver.gamma": POSITIVE_FLOAT,
    "solver.max_iter": POSITIVE_INT,
    "solver.warmup_iters": NONNEGATIVE_INT,
    "solver.warmup_factor": POSITIVE_FLOAT,
    "loss.overlap_threshold": FRACTION,
    "loss.neg_pos_ratio": NONNEGATIVE_FLOAT,  # 0: no hard negatives
    "loss.neg_overlap": FRACTION,
    "loss.loc_weight": NONNEGATIVE_FLOAT,
    "detect.conf_threshold": FRACTION,
    "detect.nms_threshold": FRACTION,
    "detect.top_k": POSITIVE_INT,
    "detect.keep_top_k": POSITIVE_INT,
    "run.seed": NONNEGATIVE_INT,
    "run.log_every": POSITIVE_INT,
    "run.checkpoint_every": POSITIVE_INT,
    "run.val_every": NONNEGATIVE_INT,  # 0: no validation
    "run.max_consecutive_nonfinite": POSITIVE_INT,
    "run.bf16": BOOL,
    "run.allow_tf32": BOOL,
    "run.channels_last": BOOL,
    "run.compile": BOOL,
    "run.cudnn_benchmark": BOOL,
    "run.deterministic": BOOL,
    "run.tensorboard": BOOL,
    "run.eval_every": NONNEGATIVE_INT,
    "run.cpu_threads": NONNEGATIVE_INT,
}

# --------------------------------------------------------------------------------------
# Known failures: case id -> why (a strict xfail each; delete the line once fixed)
# --------------------------------------------------------------------------------------

KNOWN_FAILURES: dict[str, str] = {}

#: Known failures that hang: not run at all (an xfail that cannot pass: check them by hand)
KNOWN_HANGS: dict[str, str] = {
    "ssd_ref detect checkpoint fifo": "issue 18 §2: a FIFO as --checkpoint blocks in torch.load",
    "ssd_ref make-synthetic --trainval huge": "10**30 images: generates until stopped",
    "ssd_ref make-synthetic --test huge": "10**30 images: generates until stopped",
}
