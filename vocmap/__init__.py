"""vocmap: the PASCAL VOC2007 devkit's detection AP, bit for bit, fast.

Typical use::

    import vocmap
    gt = vocmap.GroundTruth.from_voc("VOCdevkit/VOC2007", image_set="test")
    evaluator = vocmap.Evaluator(gt)                    # 20 VOC classes, VOC2007 rules
    result = evaluator.evaluate(vocmap.read_detections("results/", gt))
    print(result.map, result.classes["dog"].ap)

Names are imported lazily so that ``import vocmap`` (and ``vocmap --help``)
stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "GroundTruth": "vocmap.annotations",
    "ClassGroundTruth": "vocmap.annotations",
    "read_image_set": "vocmap.annotations",
    "Detections": "vocmap.detections",
    "ClassDetections": "vocmap.detections",
    "read_detections": "vocmap.detections",
    "read_result_folder": "vocmap.detections",
    "read_result_file": "vocmap.detections",
    "read_coco_results": "vocmap.detections",
    "Evaluator": "vocmap.evaluation",
    "DetectionAccumulator": "vocmap.evaluation",
    "evaluate_class": "vocmap.evaluation",
    "EvalResult": "vocmap.results",
    "ClassResult": "vocmap.results",
    "VocmapError": "vocmap.errors",
    "InputError": "vocmap.errors",
    "VOC_CLASSES": "vocmap.constants",
    "format_result": "vocmap.report",
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


def evaluate_folder(
    detections,
    voc_root=None,
    image_set: str = "test",
    classes=None,
    *,
    ground_truth=None,
    metric: str = "voc07",
    iou: float = 0.5,
    semantics: str = "devkit",
    ignore_unknown_images: bool = False,
):
    """Evaluate a folder of result files (or a results .json) in one call.

    Give ``voc_root`` (a VOC year folder) or an already loaded ``ground_truth``.
    Returns an :class:`EvalResult`.
    """
    from vocmap.annotations import GroundTruth
    from vocmap.detections import read_detections
    from vocmap.evaluation import Evaluator

    if ground_truth is None:
        if voc_root is None:
            raise TypeError("give voc_root or ground_truth")
        ground_truth = GroundTruth.from_voc(voc_root, image_set)
    evaluator = Evaluator(ground_truth, classes, metric=metric, iou=iou, semantics=semantics)
    dets = read_detections(
        detections,
        ground_truth,
        evaluator.classes,
        image_set=image_set,
        ignore_unknown_images=ignore_unknown_images,
    )
    return evaluator.evaluate(dets)
