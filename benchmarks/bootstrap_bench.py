"""The bootstrap benchmark: 1,000 resamples of a VOC2007-test-sized 1M-detection set.

Goal (issue 13): <= 3 s on 2 cores. Timed side by side in one run with a plain
NumPy bootstrap (the same replicates, vectorised per resample and class); medians
over repeats. The evaluation itself (matching, once) is not part of the figure.

    python -m benchmarks.bootstrap_bench              # the 1M case of benchmarks/data
    python -m benchmarks.bootstrap_bench --smoke      # tiny, to check that it runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vocmap
from benchmarks.cases import DATA, ensure_cases
from vocmap.analysis import bootstrap as bs
from vocmap.core import kernels
from vocmap.core.kernels import MATLAB_RECALL_THRESHOLDS


def numpy_bootstrap(inputs: bs.BootstrapInputs, weights: np.ndarray) -> np.ndarray:
    """(B,) replicate mAPs (11-point), plain NumPy: per resample and class, the
    weighted cumulative counts, then max(prec(rec >= t)) per threshold."""
    n_classes = len(inputs.classes)
    maps = np.empty(weights.shape[0])
    for b in range(weights.shape[0]):
        w = weights[b]
        total = 0.0
        for k in range(n_classes):
            d0, d1 = inputs.class_offsets[k], inputs.class_offsets[k + 1]
            p0, p1 = inputs.pos_offsets[k], inputs.pos_offsets[k + 1]
            dw = w[inputs.det_image[d0:d1]]
            code = inputs.outcome[d0:d1]
            keep = dw > 0
            dw, code = dw[keep], code[keep]
            tp = np.cumsum(np.where(code == kernels.TRUE_POSITIVE, dw, 0)).astype(np.float64)
            fp = np.cumsum(np.where(code == kernels.FALSE_POSITIVE, dw, 0)).astype(np.float64)
            npos = float(np.dot(w[inputs.pos_image[p0:p1]], inputs.pos_count[p0:p1]))
            with np.errstate(invalid="ignore", divide="ignore"):
                rec = tp / npos
                prec = tp / (fp + tp)
            ap = 0.0
            for t in MATLAB_RECALL_THRESHOLDS:
                selected = prec[rec >= t]
                if selected.size == 0:
                    p = 0.0
                else:
                    finite = selected[~np.isnan(selected)]
                    p = float(finite.max()) if finite.size else float("nan")
                ap = ap + p / 11.0
            total += ap
        maps[b] = total / n_classes
    return maps


def measure(gt, dets, resamples: int, repeats: int, numpy_resamples: int) -> dict:
    """Time ``resamples`` bootstrap resamples of ``dets`` (evaluated once first), and
    the NumPy baseline on ``numpy_resamples`` of the same resamples (scaled)."""
    result = vocmap.Evaluator(gt).evaluate(dets)
    inputs = bs.bootstrap_inputs(result, gt, dets)
    bs.replicates(inputs, bs.resample_weights(gt.num_images, 2, seed=1))  # compile / load
    samples, maps = [], np.zeros(0)
    for _ in range(repeats):
        start = time.perf_counter()
        maps = bs.replicates(inputs, bs.resample_weights(gt.num_images, resamples, seed=0))[1]
        samples.append(time.perf_counter() - start)
    numpy_resamples = min(resamples, numpy_resamples)
    weights = bs.resample_weights(gt.num_images, resamples, seed=0)[:numpy_resamples]
    start = time.perf_counter()
    numpy_maps = numpy_bootstrap(inputs, weights)
    numpy_seconds = (time.perf_counter() - start) * resamples / numpy_resamples
    return {
        "images": gt.num_images,
        "detections": int(inputs.det_image.shape[0]),
        "resamples": resamples,
        "cpus": os.cpu_count(),
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": repeats,
        "numpy_seconds": numpy_seconds,
        "numpy_resamples_timed": numpy_resamples,
        "same_replicates": bool(np.array_equal(maps[:numpy_resamples], numpy_maps, equal_nan=True)),
        "load_average": os.getloadavg(),
    }


def row(r: dict) -> str:
    """The benchmark table's row (benchmarks/run.py's columns)."""
    return (
        f"| bootstrap: {r['resamples']} resamples, {r['detections']:,} detections, "
        f"{r['images']} images, {r['cpus']} CPUs | <= 3 s on 2 cores | {r['median']:.3f} s "
        f"({r['min']:.3f}-{r['max']:.3f}) | plain NumPy {r['numpy_seconds']:.2f} s "
        f"({r['numpy_resamples_timed']} resamples timed, scaled) | "
        f"{r['median'] / r['numpy_seconds']:.4f} |"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bootstrap_bench")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--numpy-resamples", type=int, default=100, help="resamples the NumPy baseline times"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        root = Path(tempfile.mkdtemp(prefix="vocmap-bench-boot-"))
        cases = ensure_cases(root, scales={"1m": 4}, bulk_sets=0, images=100, log=lambda *a: None)
        resamples, repeats = 20, 1
    else:
        full = (DATA / ".complete-4952-10k-100k-1m-10m-20").exists()
        root = DATA if full else DATA.parent / "data_bootstrap"
        cases = ensure_cases() if full else ensure_cases(root, scales={"1m": 200}, bulk_sets=0)
        resamples, repeats = 1000, args.repeats
    gt = vocmap.read_voc(cases.voc_root)
    dets = vocmap.read_result_folder(cases.scales["1m"], gt)
    report = measure(gt, dets, resamples, repeats, args.numpy_resamples)
    print(row(report))
    print(
        f"same replicates as NumPy: {report['same_replicates']}; load average "
        f"{report['load_average'][0]:.1f}"
    )
    return report


if __name__ == "__main__":
    main()
    sys.exit(0)
