"""vocmap: the PASCAL VOC2007 devkit's detection AP, bit for bit, fast.

Typical use::

    import vocmap
    gt = vocmap.read_voc("VOCdevkit/VOC2007", image_set="test")
    evaluator = vocmap.Evaluator(gt)                    # 20 VOC classes, VOC2007 rules
    result = evaluator.evaluate(vocmap.read_detections("results/", gt))
    print(result.map, result.classes["dog"].ap)

Names are imported lazily so that ``import vocmap`` (and ``vocmap --help``)
stays cheap. The package is in layers (see ARCHITECTURE.md): ``core`` (arrays,
kernels, evaluation), ``io`` (files), ``analysis``, ``runs``, ``report``, ``cli``.
"""

from __future__ import annotations

__version__ = "0.2.0"

# Before any numba kernel is imported: a read-only installation gets a private cache.
from vocmap.core.jit_cache import ensure_writable_cache as _ensure_writable_cache

_ensure_writable_cache()

_EXPORTS = {
    "GroundTruth": "vocmap.core.ground_truth",
    "ClassGroundTruth": "vocmap.core.ground_truth",
    "Detections": "vocmap.core.detections",
    "ClassDetections": "vocmap.core.detections",
    "Evaluator": "vocmap.core.evaluate",
    "evaluate_class": "vocmap.core.evaluate",
    "DetectionAccumulator": "vocmap.core.accumulator",
    "EvalResult": "vocmap.core.results",
    "ClassResult": "vocmap.core.results",
    "EvalSettings": "vocmap.core.settings",
    "Semantics": "vocmap.core.semantics",
    "VocmapError": "vocmap.core.errors",
    "InputError": "vocmap.core.errors",
    "VOC_CLASSES": "vocmap.core.constants",
    "read_voc": "vocmap.io.voc",
    "read_annotations": "vocmap.io.voc",
    "read_image_set": "vocmap.io.voc",
    "read_detections": "vocmap.io.read",
    "read_result_folder": "vocmap.io.result_files",
    "read_result_file": "vocmap.io.result_files",
    "read_coco_results": "vocmap.io.coco_json",
    "read_coco_ground_truth": "vocmap.io.coco_ground_truth",
    "read_yolo_ground_truth": "vocmap.io.yolo",
    "read_yolo_predictions": "vocmap.io.yolo",
    "read_yolo_classes": "vocmap.io.yolo",
    "YoloData": "vocmap.io.yolo",
    "BOX_FORMATS": "vocmap.core.boxes",
    "IncompleteImageSetWarning": "vocmap.core.accumulator",
    "format_result": "vocmap.report.text",
    "diagnose": "vocmap.analysis.diagnose",
    "check": "vocmap.analysis.check",
    "CheckReport": "vocmap.analysis.check",
    "bootstrap": "vocmap.analysis.bootstrap",
    "with_intervals": "vocmap.analysis.bootstrap",
    "compare_runs": "vocmap.analysis.compare_runs",
    "compare_with_coco50": "vocmap.analysis.compare_metrics",
    "operating_points": "vocmap.analysis.operating_point",
    "pr_curves": "vocmap.analysis.operating_point",
}

__all__ = [*sorted(_EXPORTS), "__version__", "evaluate_folder"]


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'vocmap' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def evaluate_folder(
    detections,
    voc_root=None,
    image_set: str = "test",
    classes=None,
    *,
    ground_truth=None,
    metric: str = "voc07",
    iou: float = 0.5,
    semantics="devkit",
    ignore_unknown_images: bool = False,
):
    """Evaluate a folder of result files (or a results .json) in one call.

    Give ``voc_root`` (a VOC year folder) or an already loaded ``ground_truth``.
    Returns an :class:`EvalResult`.
    """
    from vocmap.core.evaluate import Evaluator
    from vocmap.io.inputs import read_inputs
    from vocmap.io.voc import read_voc

    if ground_truth is None:
        if voc_root is None:
            raise TypeError("give voc_root or ground_truth")
        ground_truth = read_voc(voc_root, image_set)
    evaluator = Evaluator(ground_truth, classes, metric=metric, iou=iou, semantics=semantics)
    inputs = read_inputs(
        detections,
        ground_truth,
        evaluator.classes,
        image_set=image_set,
        ignore_unknown_images=ignore_unknown_images,
    )
    return evaluator.evaluate(inputs.detections)
