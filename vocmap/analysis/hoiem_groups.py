"""Hoiem et al.'s groups of similar VOC classes, as their MATLAB code defines them.

From ``setDatasetParameters.m`` of the "Diagnosing Error in Object Detectors"
toolbox (ECCV 2012), 1-based indices into the 20 VOC classes::

    animals   = [3 8 10 12 13 15 17]   % bird cat cow dog horse person sheep ("animals + person")
    vehicles1 = [1 4 6 7 19 2 14]      % aeroplane boat bus car train bicycle motorbike
    vehicles2 = [2 14]                 % bicycle motorbike
    furniture = [9 11 18]              % chair diningtable sofa
    airobjects = [1 3]                 % aeroplane bird

Two classes are similar when some group holds both (``detectionAnalysisScript.m``
takes the union of the groups that contain a class). The code's groups differ
from the paper's words in two places: person counts as an animal, and aeroplane
and bird are similar. The summary sets (the paper's animals, vehicles and
furniture plots) leave person out.
"""

from __future__ import annotations

from collections.abc import Sequence

SIMILAR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("bird", "cat", "cow", "dog", "horse", "person", "sheep"),
    ("aeroplane", "boat", "bus", "car", "train", "bicycle", "motorbike"),
    ("bicycle", "motorbike"),
    ("chair", "diningtable", "sofa"),
    ("aeroplane", "bird"),
)

SUMMARY_SETS: dict[str, tuple[str, ...]] = {
    "animals": ("bird", "cat", "cow", "dog", "horse", "sheep"),
    "vehicles": ("aeroplane", "boat", "bus", "car", "train", "bicycle", "motorbike"),
    "furniture": ("chair", "diningtable", "sofa"),
}


def similar_classes(name: str) -> frozenset[str]:
    """The classes Hoiem's code calls similar to ``name`` (empty for a non-VOC name)."""
    found: set[str] = set()
    for group in SIMILAR_GROUPS:
        if name in group:
            found.update(group)
    found.discard(name)
    return frozenset(found)


def summary_sets(classes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Hoiem's summary sets restricted to ``classes`` (sets with no class left out)."""
    out = {}
    for set_name, members in SUMMARY_SETS.items():
        kept = tuple(c for c in classes if c in members)
        if kept:
            out[set_name] = kept
    return out
