"""Which class a results record's category is: one mapping for every results reader.

A record names its category by ``category`` (a class name) or ``category_id``.
An id goes through, in this order of precedence:

* the ``categories`` the caller gives (names; id ``k`` is the ``k``-th, from 1);
* the ground truth's own ``categories`` (COCO-format annotations: ``id`` to
  ``name``), exactly as pycocotools matches them: ids, never positions;
* only where neither exists (VOC XML), the documented VOC order: 1 is aeroplane,
  20 is tvmonitor (or the evaluated classes' order when some class is not VOC's).

The result is the index of the class among those evaluated, SKIP for a known
category that is not evaluated, or UNKNOWN (an error, or dropped and counted on
request). The exact reader (:mod:`vocmap.io.coco_json`) and the numba fast path
(:mod:`vocmap.io.coco_fast`) both read through :func:`category_map`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.core.constants import VOC_CLASSES
from vocmap.core.ground_truth import GroundTruth

#: A category that neither the ground truth nor the documented order lists.
UNKNOWN = -1
#: A known category that is not being evaluated (its records are skipped).
SKIP = -2


@dataclass(frozen=True)
class CategoryMap:
    """``category_id`` and ``category`` to the evaluated classes.

    Attributes:
        by_id: category id to class name.
        known: every name a record may give (the ids' names and the classes).
        class_of: evaluated class name to its index in ``classes``.
        from_ground_truth: the ids are the ground truth's (COCO-format annotations).
    """

    by_id: Mapping[int, str]
    known: frozenset[str]
    class_of: Mapping[str, int]
    from_ground_truth: bool

    def name_of_id(self, category_id: int) -> str | None:
        """The class name of an id (None: an id not listed)."""
        return self.by_id.get(category_id)

    def code(self, name: str | None) -> int:
        """A class index into ``classes``, SKIP or UNKNOWN."""
        if name is None or name not in self.known:
            return UNKNOWN
        return self.class_of.get(name, SKIP)

    def unknown_id(self, category_id: int) -> str:
        """Why ``category_id`` is not known, for a message."""
        if self.from_ground_truth:
            ids = sorted(self.by_id)
            listed = ", ".join(str(i) for i in ids[:8]) + (", ..." if len(ids) > 8 else "")
            return (
                f"category_id {category_id} is not one of the ground truth's "
                f"{len(ids)} category ids ({listed})"
            )
        return f"category_id {category_id} is not in 1..{len(self.by_id)}"

    def id_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, codes)``: (n,) int64 category ids in increasing order and each one's
        code (class index or SKIP), for the numba reader's binary search. Ids outside
        int64 are left out (the fast reader hands such records to the exact one)."""
        limit = np.iinfo(np.int64)
        pairs = sorted(
            (cid, self.code(name))
            for cid, name in self.by_id.items()
            if limit.min <= cid <= limit.max
        )
        ids = np.array([p[0] for p in pairs], dtype=np.int64)
        codes = np.array([p[1] for p in pairs], dtype=np.int64)
        return ids, codes

    def name_list(self) -> tuple[list[str], np.ndarray]:
        """``(names, codes)``: every known name and its code (class index or SKIP)."""
        names = sorted(self.known)
        return names, np.array([self.code(n) for n in names], dtype=np.int64)


def category_map(
    ground_truth: GroundTruth,
    classes: Sequence[str],
    categories: Sequence[str] | None = None,
) -> CategoryMap:
    """The mapping of the module docstring for these classes (a list of names)."""
    from_ground_truth = False
    by_id: dict[int, str]
    if categories is not None:
        by_id = {k + 1: name for k, name in enumerate(categories)}
    elif ground_truth.categories is not None:
        by_id = dict(ground_truth.categories)
        from_ground_truth = True
    else:
        order = VOC_CLASSES if set(classes) <= set(VOC_CLASSES) else classes
        by_id = {k + 1: name for k, name in enumerate(order)}
    return CategoryMap(
        by_id=by_id,
        known=frozenset(by_id.values()) | frozenset(classes),
        class_of={name: k for k, name in enumerate(classes)},
        from_ground_truth=from_ground_truth,
    )


def default_classes(ground_truth: GroundTruth) -> list[str]:
    """The classes evaluated when none are named: a COCO-format ground truth's
    categories in the order of their ids (pycocotools' order), else the 20 VOC classes."""
    if ground_truth.categories is not None:
        return [name for _, name in sorted(ground_truth.categories)]
    return list(VOC_CLASSES)
