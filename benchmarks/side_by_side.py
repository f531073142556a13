"""Two versions of vocmap timed side by side, alternating, on the 1M-line case.

    python -m benchmarks.side_by_side --base 85a8054        # a commit, checked out once
    python -m benchmarks.side_by_side --base-tree ../other  # or another source tree

Each round runs the whole ``vocmap evaluate`` process (annotations cached) for the
base and for this tree, in alternating order, so that a shared machine's load
falls on both alike; then the same for in-process parse and match + AP. Prints
medians, min-max and the ratio this / base, and checks that both print the same
mAP. The base tree is put on ``PYTHONPATH`` with the same interpreter, so only
vocmap's code differs (each tree keeps its own numba cache).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cases import ensure_cases

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "data_side_by_side"

# In-process timing, for either tree (old and new layouts have different imports).
IN_PROCESS = r"""
import sys, time, json
import vocmap
voc_root, results, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
read_gt = getattr(vocmap, "read_voc", None) or vocmap.GroundTruth.from_voc
gt = read_gt(voc_root)
evaluator = vocmap.Evaluator(gt)
dets = vocmap.read_result_folder(results, gt)
evaluator.evaluate(dets)
parse, match = [], []
for _ in range(repeats):
    t = time.perf_counter(); dets = vocmap.read_result_folder(results, gt)
    parse.append(time.perf_counter() - t)
    t = time.perf_counter(); result = evaluator.evaluate(dets)
    match.append(time.perf_counter() - t)
print(json.dumps({"parse": parse, "match": match, "map": result.map}))
"""


def checkout(rev: str) -> Path:
    """A detached worktree of ``rev`` in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="vocmap-base-")) / "tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), rev],
        check=True,
        capture_output=True,
    )
    return folder


def run_process(tree: Path, args: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "vocmap", *args], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: vocmap failed: {done.stderr.strip()}")
    return wall, done.stdout.strip()


def in_process(tree: Path, voc_root: Path, results: Path, repeats: int) -> dict:

    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(voc_root), str(results), str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def line(name: str, base: list[float], this: list[float]) -> str:
    mb, mt = statistics.median(base), statistics.median(this)
    return (
        f"| {name} | {mb:.3f} s ({min(base):.3f}-{max(base):.3f}) | "
        f"{mt:.3f} s ({min(this):.3f}-{max(this):.3f}) | {mt / mb:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.side_by_side")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--base", help="a git revision to compare with")
    group.add_argument("--base-tree", help="a source tree to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    base = Path(args.base_tree) if args.base_tree else checkout(args.base)
    cases = ensure_cases(DATA, scales={"1m": 200}, bulk_sets=0)
    results = cases.scales["1m"]
    # --json - is understood by old and new versions alike (the mAP is read from it).
    evaluate = ["evaluate", str(results), "--voc-root", str(cases.voc_root), "--json", "-"]
    trees = {"base": base, "this": REPO}
    for tree in trees.values():  # compile, fill the annotation cache
        run_process(tree, evaluate)
    walls: dict[str, list[float]] = {"base": [], "this": []}
    maps = set()
    for k in range(args.rounds):
        order = ["base", "this"] if k % 2 == 0 else ["this", "base"]
        for name in order:
            wall, out = run_process(trees[name], evaluate)
            walls[name].append(wall)
            maps.add(repr(json.loads(out)["map"]))
    # In-process figures alternate too: a few processes per tree, taking turns.
    inner: dict[str, dict] = {name: {"parse": [], "match": [], "map": None} for name in trees}
    for k in range(5):
        for name in ["base", "this"] if k % 2 == 0 else ["this", "base"]:
            got = in_process(trees[name], cases.voc_root, results, max(1, args.rounds // 5))
            inner[name]["parse"] += got["parse"]
            inner[name]["match"] += got["match"]
            inner[name]["map"] = got["map"]
    print(f"base: {base}\nthis: {REPO}\n")
    print("| figure | base | this | this / base |\n|---|---|---|---|")
    print(
        line(
            "`vocmap evaluate` process, 1M lines, annotations cached", walls["base"], walls["this"]
        )
    )
    print(line("parse 1M lines (in process)", inner["base"]["parse"], inner["this"]["parse"]))
    print(
        line("match + AP, 20 classes (in process)", inner["base"]["match"], inner["this"]["match"])
    )
    same = len(maps) == 1 and inner["base"]["map"] == inner["this"]["map"]
    print(f"\nSame mAP from both: {same} ({sorted(maps)})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
