"""Measure each semantics rule's effect on the golden random cases (for SEMANTICS.md).

    python -m benchmarks.semantics_effects

For every preset, each rule that differs from the devkit is switched alone (all
other rules the devkit's), then the whole preset; reported per rule: how many
class APs change over the four random cases (80 classes), the largest |delta AP|,
and the largest |delta mAP|.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import vocmap
from vocmap.core.semantics import PRESETS, RULE_ORDER

GOLDEN = Path(__file__).resolve().parents[1] / "data_fixtures" / "golden"
CASES = ["random_11", "random_12", "random_13", "random_large_14"]


def _changed(x: float, y: float) -> bool:
    return not ((x != x and y != y) or x == y)


def main() -> None:
    data = []
    for case in CASES:
        gt = vocmap.read_voc(GOLDEN / case, cache=False)
        data.append((gt, vocmap.read_detections(GOLDEN / case / "results", gt)))
    devkit = PRESETS["devkit"]
    baseline = [vocmap.Evaluator(gt).evaluate(d) for gt, d in data]
    print(
        "| preset | rule switched alone | classes changed (of 80) | of which to or from NaN "
        "| max abs delta AP | max abs delta mAP |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name, preset in PRESETS.items():
        if name == "devkit":
            continue
        rules = [r for r in RULE_ORDER if r in devkit.differences(preset)]
        variants = [(r, replace(devkit, **{r: getattr(preset, r)}, name=r)) for r in rules]
        variants.append(("**all of them**", preset))
        for label, semantics in variants:
            changed, nan, max_ap, max_map = 0, 0, 0.0, 0.0
            for (gt, dets), base in zip(data, baseline):
                result = vocmap.Evaluator(gt, semantics=semantics).evaluate(dets)
                for cls, r in result.classes.items():
                    if _changed(r.ap, base.classes[cls].ap):
                        changed += 1
                        delta = abs(r.ap - base.classes[cls].ap)
                        if delta != delta:
                            nan += 1
                        else:
                            max_ap = max(max_ap, delta)
                if _changed(result.map, base.map):
                    delta = abs(result.map - base.map)
                    max_map = max(max_map, delta) if delta == delta else float("nan")
            print(f"| {name} | {label} | {changed} | {nan} | {max_ap:.4g} | {max_map:.4g} |")


if __name__ == "__main__":
    main()
