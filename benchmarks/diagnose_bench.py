"""Time ``vocmap diagnose`` on VOC2007-test-shaped cases, beside tidecv.

    python -m benchmarks.diagnose_bench [--repeat 3] [--no-tidecv]

Cases (generated once into benchmarks/data/diagnose/): 4,952 images, about 15,000
objects; 100k (20 per image) and 1M (200 per image) detections. Rows: reading
the detections, the devkit evaluation, ``diagnose`` (voc07: every analysis) and
``diagnose --metric coco50``, each the median of ``--repeat`` runs in this
process after a warm-up (numba compiled); tidecv's ``evaluate`` +
``summarize``-equivalent (main and special errors) on the 100k case, once (it
is pure Python), and whether its figures equal vocmap's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import vocmap
from benchmarks.cases import DATA, ensure_cases
from vocmap.analysis.diagnose import diagnose


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-tidecv", action="store_true")
    args = parser.parse_args(argv)
    cases = ensure_cases(DATA / "diagnose", scales={"100k": 20, "1m": 200}, bulk_sets=0)
    gt = vocmap.read_voc(cases.voc_root)
    classes = list(vocmap.VOC_CLASSES)
    print(f"{'case':<6} {'step':<34} {'median s':>9}")
    for name in ("100k", "1m"):
        folder = cases.scales[name]
        dets = vocmap.read_detections(folder, gt, classes)
        evaluator = vocmap.Evaluator(gt, classes)
        diagnose(gt, dets, classes)  # warm-up: compile
        diagnose(gt, dets, classes, metric="coco50")
        rows = [
            ("read detections", lambda f=folder: vocmap.read_detections(f, gt, classes)),
            ("evaluate (devkit)", lambda d=dets, e=evaluator: e.evaluate(d)),
            ("diagnose voc07 (all analyses)", lambda d=dets: diagnose(gt, d, classes)),
            (
                "diagnose coco50 (all analyses)",
                lambda d=dets: diagnose(gt, d, classes, metric="coco50"),
            ),
        ]
        for label, fn in rows:
            print(f"{name:<6} {label:<34} {_median(fn, args.repeat):9.3f}", flush=True)
    if args.no_tidecv:
        return
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))
        from tide_oracle import run_tidecv
    except ImportError:
        print("tidecv not installed: skipped")
        return
    dets = vocmap.read_detections(cases.scales["100k"], gt, classes)
    start = time.perf_counter()
    tide, run = run_tidecv(gt, dets, classes)
    main_errors = tide.get_main_errors()["run"]
    special = tide.get_special_errors()["run"]
    elapsed = time.perf_counter() - start
    ours = diagnose(gt, dets, classes, metric="coco50").tide.overall
    same = ours.ap == run.ap / 100 and all(
        ours.dap[k] == main_errors[s] / 100
        for k, s in (
            ("cls", "Cls"),
            ("loc", "Loc"),
            ("both", "Both"),
            ("dupe", "Dupe"),
            ("bkg", "Bkg"),
            ("miss", "Miss"),
        )
    )
    same = same and ours.false_positive_dap == special["FalsePos"] / 100
    print(f"{'100k':<6} {'tidecv 1.0.1 (once)':<34} {elapsed:9.3f}   equal to vocmap: {same}")


if __name__ == "__main__":
    main()
