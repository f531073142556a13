"""``make bench-coco``: COCO's twelve numbers, vocmap against the Rust evaluators.

    python -m benchmarks.coco_bench [--rounds 5] [--peer-python .venv-bench/bin/python]

Two COCO-val2017-shaped cases, generated (seeded) into benchmarks/data/coco/:
5,000 images, COCO's 80 category ids (1..90 with gaps), about 36k objects with
``area`` and 1% crowd regions, and 40,000 or 500,000 detections. Each evaluator
runs the whole in-process pipeline (read the ground-truth json, read the results
json, evaluate, the twelve numbers) in its own warm process
(benchmarks/coco_worker.py): vocmap in this interpreter, hotcoco and
ultrafast-pycocotools in the benchmark-only environment. The rounds alternate
the evaluators (the order rotating), so that a shared machine's load falls on
all alike; printed are the medians, min-max, the ratio vocmap / peer, and whether
all give the same twelve numbers. A peer that is not installed is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "data" / "coco"
WORKER = Path(__file__).resolve().parent / "coco_worker.py"
PEER_PYTHON = REPO / ".venv-bench" / "bin" / "python"
#: vocmap's ground-truth cache in the workers: "on" or "off" (--gt-cache)
GT_CACHE = ["on"]
PEERS = {"hotcoco": "hotcoco", "ultrafast": "ultrafast_pycocotools"}
#: (name, images, categories, detections)
CASES = (("40k", 5000, 80, 40_000), ("500k", 5000, 80, 500_000))
SMOKE_CASES = (("smoke", 30, 6, 400),)
SEED = 2017


def ensure_case(folder: Path, name: str, n_images: int, n_categories: int, n_dets: int):
    """The case's ground-truth and results json (generated once; the key names the sizes)."""
    from vocmap.testing.coco_cases import coco_case

    key = f"{n_images}-{n_categories}-seed{SEED}"
    gt_path = folder / f"instances_{key}.json"
    results_path = folder / f"results_{key}-{n_dets}.json"
    if not (gt_path.exists() and results_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        ground_truth, results = coco_case(n_images, n_categories, n_dets, seed=SEED)
        for path, content in ((gt_path, ground_truth), (results_path, results)):
            partial = path.with_suffix(".partial")
            partial.write_text(json.dumps(content))
            partial.replace(path)
    return gt_path, results_path


class Worker:
    """One evaluator's warm process."""

    def __init__(self, tool: str, python: str, gt_path: Path, results_path: Path) -> None:
        env = (
            {**os.environ, "PYTHONPATH": str(REPO), "VOCMAP_BENCH_GT_CACHE": GT_CACHE[0]}
            if tool == "vocmap"
            else None
        )
        self.tool = tool
        self.process = subprocess.Popen(
            [python, str(WORKER), tool, str(gt_path), str(results_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.tool} worker failed (see its stderr above)")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def available_peers(peer_python: Path) -> list[str]:
    if not peer_python.exists():
        return []
    found = []
    for tool, module in PEERS.items():
        probe = subprocess.run(
            [str(peer_python), "-c", f"import {module}"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            found.append(tool)
    return found


def side_by_side(gt_path: Path, results_path: Path, tools: list[str], rounds: int, peer_python):
    """Per tool: seconds of each round, and the twelve numbers."""
    workers = [
        Worker(t, sys.executable if t == "vocmap" else str(peer_python), gt_path, results_path)
        for t in tools
    ]
    times: dict[str, list[float]] = {t: [] for t in tools}
    stats: dict[str, list[float]] = {}
    phases: dict[str, dict[str, list[float]]] = {t: {} for t in tools}
    try:
        for worker in workers:  # warm: imports, numba's cache, first allocation
            stats[worker.tool] = worker.run()["stats"]
        for r in range(rounds):
            shift = r % len(workers)
            for worker in workers[shift:] + workers[:shift]:
                answer = worker.run()
                times[worker.tool].append(answer["seconds"])
                stats[worker.tool] = answer["stats"]
                for phase, seconds in answer.get("phases", {}).items():
                    phases[worker.tool].setdefault(phase, []).append(seconds)
    finally:
        for worker in workers:
            worker.close()
    return times, stats, phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cases", default=None, help="comma-separated case names (40k,500k)")
    parser.add_argument("--smoke", action="store_true", help="a tiny case, one round")
    parser.add_argument(
        "--gt-cache",
        choices=("on", "off"),
        default="on",
        help="vocmap reads the ground truth through its content-keyed cache (on, the "
        "default: after the first round a cache hit) or parses it every round (off)",
    )
    args = parser.parse_args(argv)
    GT_CACHE[0] = args.gt_cache
    print(f"vocmap's ground-truth cache: {args.gt_cache}")
    cases = SMOKE_CASES if args.smoke else CASES
    if args.cases:
        wanted = set(args.cases.split(","))
        cases = tuple(c for c in cases if c[0] in wanted)
    rounds = 1 if args.smoke else args.rounds
    peers = available_peers(args.peer_python)
    missing = sorted(set(PEERS) - set(peers))
    if missing:
        print(f"(not installed in {args.peer_python}: {', '.join(missing)}; left out)")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for name, n_images, n_categories, n_dets in cases:
        started = time.perf_counter()
        gt_path, results_path = ensure_case(args.data, name, n_images, n_categories, n_dets)
        print(
            f"\ncase {name}: {n_images:,} images, {n_categories} categories, "
            f"{n_dets:,} detections ({gt_path.name}, {results_path.name}; "
            f"ready in {time.perf_counter() - started:.1f} s)"
        )
        tools = ["vocmap", *peers]
        times, stats, phases = side_by_side(gt_path, results_path, tools, rounds, args.peer_python)
        medians = {t: statistics.median(times[t]) for t in tools}
        print(f"  whole pipeline, median of {rounds} alternating rounds (seconds):")
        for tool in tools:
            print(
                f"    {tool:10s} {medians[tool]:8.3f}  "
                f"(min {min(times[tool]):.3f}, max {max(times[tool]):.3f})"
            )
        print("  phases (medians, seconds): read ground truth, read results, metric")
        for tool in tools:
            print(
                f"    {tool:10s} "
                + "  ".join(f"{statistics.median(v):8.3f}" for v in phases[tool].values())
            )
        for peer in peers:
            print(f"  vocmap / {peer}: {medians['vocmap'] / medians[peer]:.2f}")
        if peers:
            fastest = min(peers, key=lambda p: medians[p])
            ratio = medians["vocmap"] / medians[fastest]
            verdict = "met" if ratio <= 1.0 else "not met"
            print(f"  vocmap / the faster peer ({fastest}): {ratio:.2f} (goal <= 1.00: {verdict})")
            metric = statistics.median(phases["vocmap"]["metric"])
            print(
                f"  vocmap's metric alone / {fastest}'s whole pipeline: {metric / medians[fastest]:.2f}"
            )
        same = all(stats[t] == stats["vocmap"] for t in tools)
        print(f"  the same twelve numbers from all: {same}")
        print(f"  vocmap's twelve numbers: {json.dumps(stats['vocmap'])}")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
