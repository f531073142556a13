"""Box conventions: the one place where other frames are mapped to VOC pixels.

vocmap evaluates boxes in the devkit's frame: ``(xmin, ymin, xmax, ymax)`` in
VOC pixels, 1-based and inclusive (width = ``xmax - xmin + 1``). Frameworks
produce other frames; each array entry point takes ``box_format=`` naming one of
these (the README's table says the same):

=========  ==========================================  =============================
name       what it is                                  to VOC
=========  ==========================================  =============================
``voc``    1-based inclusive pixels (result files)     unchanged
``xyxy``   0-based continuous corners (torchvision,    ``(x1 + 1, y1 + 1, x2, y2)``
           detectron2, mmdet's CocoDataset)
``xywh``   COCO ``[x, y, w, h]``, 0-based continuous   ``(x + 1, y + 1, x + w, y + h)``
``voc0``   0-based inclusive pixels (mmdet's           ``(x1 + 1, y1 + 1, x2 + 1, y2 + 1)``
           XMLDataset: every XML coordinate minus 1)
=========  ==========================================  =============================

YOLO's ``class cx cy w h`` lines hold a box normalised by the image's width
``W`` and height ``H`` (centre and size in [0, 1], continuous): see
:func:`yolo_to_voc`, which scales to pixels first (``cx * W``, ``w * W``), takes
the corners (``cx * W - w * W / 2``) and then maps them as ``xyxy`` does. That
order of operations is globox's (``rel_to_abs`` then ``xywh_to_ltrb``), so both
give the same doubles.

A continuous 0-based frame puts VOC pixel ``p`` on ``[p - 1, p)``, so its corner
``x1`` is pixel ``x1 + 1`` and its corner ``x2`` ends pixel ``x2``: the VOC width
``xmax - xmin + 1`` is ``x2 - x1``. The sums are done in float64, as the COCO
results reader does them (``x + 1.0``, ``x + w``), so the same numbers give the
same doubles on every path.

Tensors are taken as they come (any device, with or without ``requires_grad``):
they are recognised by their methods, detached and copied to host memory; torch
itself is never imported here.
"""

from __future__ import annotations

import numpy as np

from vocmap.core.errors import VocmapError

BOX_FORMATS = ("voc", "xyxy", "xywh", "voc0")

_MISSING_FORMAT = (
    "box_format is required: 'voc' (1-based inclusive pixels, as in result files), "
    "'xyxy' (0-based corners: torchvision, detectron2, mmdet), 'xywh' (COCO) or "
    "'voc0' (mmdet's XMLDataset); unconverted 0-based boxes would shift the AP"
)


def check_box_format(box_format: object) -> str:
    """``box_format`` if it names a known frame; a VocmapError otherwise (None included)."""
    if box_format is None:
        raise VocmapError(_MISSING_FORMAT)
    if not isinstance(box_format, str) or box_format not in BOX_FORMATS:
        raise VocmapError(
            f"unknown box_format {box_format!r}: use one of {', '.join(map(repr, BOX_FORMATS))}"
        )
    return box_format


def as_host_array(value: object) -> np.ndarray:
    """``value`` as a NumPy array in host memory; a tensor is detached and moved first.

    A tensor (anything with ``detach`` and ``cpu``) becomes a NumPy array without
    importing its framework; dtypes NumPy lacks (bfloat16) go through float64,
    which holds them exactly. The result may share memory with ``value``:
    callers that keep it copy it.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        host = value.detach().cpu()
        try:
            return np.asarray(host.numpy())
        except (TypeError, RuntimeError):  # bfloat16 and other dtypes NumPy lacks
            return np.asarray(host.double().numpy())
    return np.asarray(value)


def to_voc_boxes(boxes: object, box_format: str, what: str = "boxes") -> np.ndarray:
    """``boxes`` (n, 4) in ``box_format`` as a new float64 (n, 4) array of VOC boxes.

    Only shape (n, 4) is accepted (and an empty array for no boxes): (2n, 2) or
    (n, 2, 2) are refused, not reshaped. The result never shares memory with
    ``boxes``.
    """
    box_format = check_box_format(box_format)
    array = as_host_array(boxes)
    if array.size == 0 and array.ndim <= 2:
        return np.zeros((0, 4), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        hint = " (write [[x1, y1, x2, y2]] for one box)" if array.shape == (4,) else ""
        raise VocmapError(f"{what} must have shape (n, 4), not {array.shape}{hint}")
    if array.dtype.kind not in "iuf":
        raise VocmapError(f"{what} must be numbers, not {array.dtype}")
    out = np.array(array, dtype=np.float64, order="C", copy=True)
    with np.errstate(over="ignore"):  # an overflow is inf, which callers refuse
        _shift(out, box_format)
    return out


def _shift(out: np.ndarray, box_format: str) -> None:
    """Map ``out`` (n, 4) float64 from ``box_format`` to VOC pixels, in place."""
    if box_format == "xyxy":
        out[:, 0] += 1.0
        out[:, 1] += 1.0
    elif box_format == "xywh":
        x = out[:, 0].copy()
        y = out[:, 1].copy()
        out[:, 0] = x + 1.0
        out[:, 1] = y + 1.0
        out[:, 2] = x + out[:, 2]
        out[:, 3] = y + out[:, 3]
    elif box_format == "voc0":
        out += 1.0


def to_vector(values: object, what: str, dtype: type | None = np.float64) -> np.ndarray:
    """``values`` (n,) as a new 1-D array (``dtype`` None keeps the kind, for labels).

    A 0-d value, or any other shape than (n,), is refused, not flattened.
    """
    array = as_host_array(values)
    if array.size == 0 and array.ndim <= 1:
        return np.zeros(0, dtype=dtype or array.dtype)
    if array.ndim != 1:
        raise VocmapError(f"{what} must have shape (n,), not {array.shape}")
    if dtype is None:
        return np.array(array, copy=True)
    if array.dtype.kind not in "iuf":
        raise VocmapError(f"{what} must be numbers, not {array.dtype}")
    return np.array(array, dtype=dtype, copy=True)


def yolo_to_voc(normalised: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """YOLO boxes (n, 4) ``(cx, cy, w, h)``, normalised by each box's image size,
    as a new float64 (n, 4) array of VOC boxes (1-based, inclusive pixels).

    ``widths`` and ``heights`` are (n,): the size in pixels of each box's image.
    Pixels first, then corners, then the ``xyxy`` shift: ``xmin = cx*W - w*W/2 + 1``,
    ``xmax = cx*W + w*W/2`` (VOC width ``xmax - xmin + 1`` is ``w * W``).
    """
    boxes = np.asarray(normalised, dtype=np.float64).reshape(-1, 4)
    width = np.asarray(widths, dtype=np.float64)
    height = np.asarray(heights, dtype=np.float64)
    centre_x, centre_y = boxes[:, 0] * width, boxes[:, 1] * height
    half_w, half_h = boxes[:, 2] * width / 2, boxes[:, 3] * height / 2
    out = np.empty((boxes.shape[0], 4), dtype=np.float64)
    out[:, 0] = centre_x - half_w
    out[:, 1] = centre_y - half_h
    out[:, 2] = centre_x + half_w
    out[:, 3] = centre_y + half_h
    _shift(out, "xyxy")
    return out
