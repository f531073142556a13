"""vocmap's speed and memory benchmark (`make bench`).

Prints, for each figure of the performance goals, the median and the spread
(min-max) over repeated runs, side by side in the same run with the plain-Python
devkit transcription in vocmap/testing/devkit_reference.py (the ratio
vocmap/reference), and the scaling table. Writes benchmarks/results/latest.md
and latest.json.

    python -m benchmarks.run            # the full benchmark (generates ~1.3 GB once)
    python -m benchmarks.run --smoke    # tiny sizes, to check that it runs

No figure here is asserted by a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vocmap
from benchmarks import bootstrap_bench
from benchmarks.cases import SCALES, ensure_cases, results_json
from vocmap.core.constants import VOC_CLASSES
from vocmap.io.result_files import id_table
from vocmap.testing import devkit_reference as reference_devkit

REPO = Path(__file__).resolve().parents[1]

VOCMAP = shutil.which("vocmap", path=str(Path(sys.executable).parent)) or "vocmap"


def summary(samples: list[float]) -> dict:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def fmt(s: dict, unit: str = "s") -> str:
    if unit == "MB":
        return f"{s['median']:.0f} MB ({s['min']:.0f}-{s['max']:.0f})"
    return f"{s['median']:.3f} s ({s['min']:.3f}-{s['max']:.3f})"


def timed(fn, repeats: int) -> tuple[dict, object]:
    samples, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        samples.append(time.perf_counter() - start)
    return summary(samples), value


def run_process(args: list[str], env: dict | None = None) -> tuple[float, str]:
    """Wall seconds and stderr of one child."""
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, env=env, text=True, check=True)
    return time.perf_counter() - start, proc.stderr


def process_rss(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child, via os.wait4."""
    return process_usage(args, env)[:2]


def process_usage(args: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system, all threads) of
    one child, via os.wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} exited with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def env_with(**values: str) -> dict:
    env = dict(os.environ)
    env.update(values)
    return env


# --------------------------------------------------------------------------- #
# The plain-Python reference, timed in the same run
# --------------------------------------------------------------------------- #


def reference_parse(results: Path) -> dict:
    return {
        cls: reference_devkit.read_results(results / f"comp4_det_test_{cls}.txt")
        for cls in VOC_CLASSES
    }


def reference_match(parsed: dict, image_ids: list[str], objects) -> list[float]:
    return [
        reference_devkit.evaluate_parsed(*parsed[cls], image_ids, objects, cls)[2]
        for cls in VOC_CLASSES
    ]


def json_side_by_side(
    evaluate_args: list[str], folder: Path, cache_dir: Path, repeats: int
) -> dict:
    """``vocmap evaluate`` of ``folder`` (result files) and of the same detections as
    a results JSON, runs alternating: wall and peak RSS of each, and whether the
    printed mAP (``--format map``) is the same bits."""
    json_args = [*evaluate_args[:2], str(results_json(folder)), *evaluate_args[3:]]
    env = env_with(VOCMAP_CACHE_DIR=str(cache_dir))
    printed = [
        subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
        for args in (evaluate_args, json_args)
    ]
    side: dict[str, tuple[list, list, list]] = {"files": ([], [], []), "json": ([], [], [])}
    for _ in range(repeats):
        for name, args in (("files", evaluate_args), ("json", json_args)):
            for column, value in zip(side[name], process_usage(args, env)):
                column.append(value)
    out: dict = {"json_same_map_bits": printed[0] == printed[1]}
    for name, (walls, peaks, cpus) in side.items():
        out[f"side_{name}_wall"] = summary(walls)
        out[f"side_{name}_rss_mb"] = summary(peaks)
        out[f"side_{name}_cpu"] = summary(cpus)
    return out


def coco_gt_cached_load(root: Path, repeats: int, cache_dir: Path) -> dict:
    """``read_coco_ground_truth`` of a COCO-val2017-shaped json (5,000 images, 80
    categories with COCO's ids, about 36k objects with areas, polygons and 1% crowd),
    once cached: seconds (median), and the parse without the cache."""
    from vocmap.io.coco_ground_truth import read_coco_ground_truth

    path = coco_val_shaped(root / "instances_val_shaped.json")
    old = os.environ.get("VOCMAP_CACHE_DIR")
    os.environ["VOCMAP_CACHE_DIR"] = str(cache_dir)
    try:
        parsed, gt = timed(lambda: read_coco_ground_truth(path, cache=False), max(1, repeats // 3))
        read_coco_ground_truth(path)  # stores the entry
        cached, _ = timed(lambda: read_coco_ground_truth(path), repeats)
    finally:
        if old is None:
            os.environ.pop("VOCMAP_CACHE_DIR", None)
        else:
            os.environ["VOCMAP_CACHE_DIR"] = old
    return {**cached, "parsed": parsed, "objects": int(gt.object_image.size)}


#: COCO's 80 category ids (1..90 with gaps).
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def coco_val_shaped(path: Path, images: int = 5000, objects: int = 36_000) -> Path:
    """A seeded COCO-format annotation file shaped like instances_val2017.json."""
    if path.exists():
        return path
    rng = np.random.default_rng(2017)
    ids = rng.choice(600_000, images, replace=False)
    records = []
    for k in range(objects):
        x, y, w, h = (round(float(v), 2) for v in rng.uniform(1, 300, 4))
        records.append(
            {
                "id": k + 1,
                "image_id": int(ids[rng.integers(images)]),
                "category_id": int(rng.choice(COCO_IDS)),
                "bbox": [x, y, w, h],
                "area": round(w * h * 0.7, 3),
                "iscrowd": int(rng.random() < 0.01),
                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
            }
        )
    document = {
        "images": [
            {"id": int(i), "file_name": f"{i:012d}.jpg", "width": 640, "height": 480} for i in ids
        ],
        "annotations": records,
        "categories": [{"id": c, "name": f"category {c}", "supercategory": "x"} for c in COCO_IDS],
    }
    path.write_text(json.dumps(document))
    return path


SCALE_1M = SCALES["1m"]


def json_only(root: Path, repeats: int) -> int:
    """``--json-only``: the results JSON beside the result files, and the COCO
    ground truth once cached, printed as the full benchmark's rows."""
    cases = ensure_cases(root, scales={"1m": SCALE_1M}, bulk_sets=0)
    cache_dir = Path(tempfile.mkdtemp(prefix="vocmap-bench-cache-"))
    evaluate_args = [VOCMAP, "evaluate", str(cases.scales["1m"]), "--voc-root"]
    evaluate_args += [str(cases.voc_root), "--format", "map"]
    load = os.getloadavg()[0]
    side = json_side_by_side(evaluate_args, cases.scales["1m"], cache_dir, repeats)
    coco_gt = coco_gt_cached_load(root, repeats, cache_dir)
    for what in ("wall", "cpu", "rss_mb"):
        unit = "MB" if what == "rss_mb" else "s"
        files, json_ = side[f"side_files_{what}"], side[f"side_json_{what}"]
        print(
            f"{what}: json {fmt(json_, unit)}, files {fmt(files, unit)}, "
            f"json / files {json_['median'] / files['median']:.3f}"
        )
    print(f"same mAP bits: {side['json_same_map_bits']}")
    print(
        f"COCO json ground truth, {coco_gt['objects']:,} objects: cached {fmt(coco_gt)}, "
        f"parsed {fmt(coco_gt['parsed'])}"
    )
    print(f"load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return 0


# --------------------------------------------------------------------------- #


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument(
        "--json-only",
        metavar="DATA",
        help="only the results-JSON and COCO ground-truth figures, on cases generated "
        "under DATA (the 1M case only: quicker than the whole benchmark)",
    )
    args = parser.parse_args(argv)
    if args.json_only:
        return json_only(Path(args.json_only), args.repeats)

    if args.smoke:
        root = Path(tempfile.mkdtemp(prefix="vocmap-bench-smoke-"))
        cases = ensure_cases(root, scales={"10k": 2, "1m": 6}, bulk_sets=2, images=200)
        repeats, ref_repeats, scale_names = 1, 1, ["10k", "1m"]
    else:
        cases = ensure_cases()
        repeats, ref_repeats, scale_names = args.repeats, 3, ["10k", "100k", "1m", "10m"]
    main_case = cases.scales["1m"]
    main_case_lines = sum(f.read_bytes().count(b"\n") for f in main_case.glob("*.txt"))
    load_start = os.getloadavg()
    report: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "numpy": np.__version__,
        "load_average_at_start": load_start,
        "lines_1m_case": main_case_lines,
    }
    out: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        out.append(text)

    # Byte-compile vocmap as its first import does on a normal machine (some
    # sandboxes set PYTHONDONTWRITEBYTECODE, which would time the compiling).
    compileall.compile_dir(str(Path(vocmap.__file__).parent), quiet=1)
    cache_dir = Path(tempfile.mkdtemp(prefix="vocmap-bench-cache-"))
    evaluate_args = [
        VOCMAP,
        "evaluate",
        str(main_case),
        "--voc-root",
        str(cases.voc_root),
        "--format",
        "map",
    ]

    # Warm-up: compile (if needed) and fill the annotation cache.
    subprocess.run(
        evaluate_args,
        env=env_with(VOCMAP_CACHE_DIR=str(cache_dir)),
        check=True,
        capture_output=True,
    )

    # 1. whole process, warm annotation cache, and its peak RSS
    walls, rss = [], []
    for _ in range(repeats):
        wall, peak = process_rss(evaluate_args, env_with(VOCMAP_CACHE_DIR=str(cache_dir)))
        walls.append(wall)
        rss.append(peak)
    report["process_warm"] = summary(walls)
    report["process_peak_rss_mb"] = summary(rss)

    # 1b. the same detections as a COCO-style results JSON, side by side
    report.update(json_side_by_side(evaluate_args, main_case, cache_dir, repeats))
    report["coco_gt_cached"] = coco_gt_cached_load(cases.root, repeats, cache_dir)

    # 2. whole process, cold annotation cache (4,952 XML files parsed)
    walls = []
    for _ in range(repeats):
        cold = tempfile.mkdtemp(prefix="vocmap-bench-cold-")
        walls.append(process_rss(evaluate_args, env_with(VOCMAP_CACHE_DIR=cold))[0])
        shutil.rmtree(cold)
    report["process_cold"] = summary(walls)

    # 3. start-up
    help_repeats = repeats if args.smoke else max(repeats, 10)
    walls = [process_rss([VOCMAP, "--help"])[0] for _ in range(help_repeats)]
    report["help"] = summary(walls)
    # The floor under any numba program on this machine right now (none of vocmap's
    # code): the interpreter, importing numpy and numba, and the first call of a
    # cached njit function (which initialises LLVM and loads the cached code), then
    # os._exit as vocmap does (skipping the interpreter teardown).
    floor_dir = Path(tempfile.mkdtemp(prefix="vocmap-bench-floor-"))
    (floor_dir / "floor_kernel.py").write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef one(x):\n    return x + 1\n"
    )
    floor_args = [
        sys.executable,
        "-c",
        "import os, numpy, floor_kernel; floor_kernel.one(1); os._exit(0)",
    ]
    floor_env = env_with(PYTHONPATH=str(floor_dir), NUMBA_CACHE_LOCATOR_CLASSES="")
    run_process(floor_args, floor_env)  # compile and cache it once
    walls = [process_rss(floor_args, floor_env)[0] for _ in range(repeats)]
    report["numba_floor"] = summary(walls)
    shutil.rmtree(floor_dir, ignore_errors=True)
    probe = (
        "import sys\nfrom vocmap.cli import main\nmain(sys.argv[1:])\n"
        "print('HEAVY:', *(m for m in ('torch', 'matplotlib', 'pandas') if m in sys.modules))"
    )
    printed = subprocess.run(
        [sys.executable, "-c", probe, *evaluate_args[1:]],
        env=env_with(VOCMAP_CACHE_DIR=str(cache_dir)),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    heavy_line = next(line for line in printed.splitlines() if line.startswith("HEAVY:"))
    report["heavy_imports_in_evaluate"] = heavy_line.split()[1:]

    # 4. first run on a machine: empty numba cache
    walls, noticed = [], True
    for _ in range(1 if args.smoke else 3):
        numba_cache = tempfile.mkdtemp(prefix="vocmap-bench-numba-")
        wall, err = run_process(
            evaluate_args,
            # numba's own locators (a test session may name a shared one: tests/conftest.py)
            env_with(
                VOCMAP_CACHE_DIR=str(cache_dir),
                NUMBA_CACHE_DIR=numba_cache,
                NUMBA_CACHE_LOCATOR_CLASSES="",
            ),
        )
        noticed = noticed and "compiling the numba kernels" in err
        walls.append(wall)
        shutil.rmtree(numba_cache)
    report["first_run_compile"] = summary(walls)
    report["first_run_says_so"] = noticed

    # 5. in-process: parse and match separately, against the reference
    gt = vocmap.read_voc(cases.voc_root)
    id_table(gt)  # built once per ground truth, as in a process that evaluates
    evaluator = vocmap.Evaluator(gt)
    report["parse_1m"], dets = timed(lambda: vocmap.read_result_folder(main_case, gt), repeats)
    report["match_ap_1m"], result = timed(lambda: evaluator.evaluate(dets), repeats)
    report["total_in_process_1m"], _ = timed(
        lambda: evaluator.evaluate(vocmap.read_result_folder(main_case, gt)), repeats
    )
    image_ids = list(gt.image_ids)
    objects = reference_devkit.load_ground_truth(cases.voc_root / "Annotations", image_ids)
    report["ref_parse_1m"], parsed = timed(lambda: reference_parse(main_case), ref_repeats)
    report["ref_match_ap_1m"], ref_aps = timed(
        lambda: reference_match(parsed, image_ids, objects), ref_repeats
    )
    report["ref_total_1m"] = summary(
        [report["ref_parse_1m"]["median"] + report["ref_match_ap_1m"]["median"]]
    )
    same = [a == b or (a != a and b != b) for a, b in zip(result.aps.values(), ref_aps)]
    report["same_aps_as_reference"] = all(same)

    # 6. scaling
    scaling = {}
    for name in scale_names:
        folder = cases.scales[name]
        n = sum(len(vocmap.read_result_file(f, gt)[0]) for f in sorted(folder.glob("*.txt")))
        reps = 3 if name == "10m" else repeats
        stat, _ = timed(
            lambda folder=folder: evaluator.evaluate(vocmap.read_result_folder(folder, gt)), reps
        )
        scaling[name] = {"detections": n, **stat, "ns_per_detection": stat["median"] / n * 1e9}
    report["scaling"] = scaling

    # 7. bulk: twenty 1M-line sets against one parsed annotation set
    def bulk() -> list[float]:
        return [evaluator.evaluate(vocmap.read_result_folder(f, gt)).map for f in cases.bulk]

    report["bulk"], _ = timed(bulk, 3 if not args.smoke else 1)
    report["bulk_sets"] = len(cases.bulk)

    # 8. the bootstrap (--ci): 1,000 resamples of the 1M case, beside plain NumPy
    report["bootstrap"] = bootstrap_bench.measure(
        gt, dets, 20 if args.smoke else 1000, repeats, 20 if args.smoke else 100
    )
    report["load_average_at_end"] = os.getloadavg()

    # ------------------------------------------------------------------ report
    def ratio(key: str, ref: str) -> str:
        return f"{report[key]['median'] / report[ref]['median']:.4f}"

    say(f"# vocmap benchmark ({time.strftime('%Y-%m-%d %H:%M')})")
    say()
    say(
        f"Machine: {report['machine']}; NumPy {report['numpy']}; load average "
        f"{load_start[0]:.2f} at start, {report['load_average_at_end'][0]:.2f} at end."
    )
    say(
        f"Main case: {len(image_ids)} images, {gt.object_image.size} objects "
        f"({int(gt.difficult.sum())} difficult), {main_case_lines} result lines."
    )
    say("Median (min-max) over repeated runs.")
    say()
    say("| figure | goal | vocmap | plain-Python reference | vocmap / reference |")
    say("|---|---|---|---|---|")
    say(
        f"| `vocmap evaluate` process, annotations cached | <= 0.6 s | {fmt(report['process_warm'])} | "
        f"{fmt(report['ref_total_1m'])} (in-process, parse + match) | {ratio('process_warm', 'ref_total_1m')} |"
    )
    say(
        f"| `vocmap evaluate` process, cold annotation cache | <= 1.5 s | {fmt(report['process_cold'])} | | |"
    )
    say(
        f"| parse 1M lines into arrays | <= 0.25 s | {fmt(report['parse_1m'])} | {fmt(report['ref_parse_1m'])} | "
        f"{ratio('parse_1m', 'ref_parse_1m')} |"
    )
    say(
        f"| match + AP, 20 classes, arrays in memory | <= 0.1 s | {fmt(report['match_ap_1m'])} | "
        f"{fmt(report['ref_match_ap_1m'])} | {ratio('match_ap_1m', 'ref_match_ap_1m')} |"
    )
    say(
        f"| parse + match + AP in one process | | {fmt(report['total_in_process_1m'])} | "
        f"{fmt(report['ref_total_1m'])} | {ratio('total_in_process_1m', 'ref_total_1m')} |"
    )
    say(f"| peak RSS, whole 1M run | <= 400 MB | {fmt(report['process_peak_rss_mb'], 'MB')} | | |")
    say(f"| `vocmap --help` | <= 0.3 s | {fmt(report['help'])} | | |")
    say(
        f"| floor: interpreter + numpy + numba + first cached njit call (no vocmap code) | | "
        f"{fmt(report['numba_floor'])} | | |"
    )
    say(
        f"| first run, numba cache empty (compiles) | <= 10 s | {fmt(report['first_run_compile'])} | | |"
    )
    say(
        f"| {report['bulk_sets']} 1M-line sets, one annotation set | <= 8 s | {fmt(report['bulk'])} | | |"
    )
    say(bootstrap_bench.row(report["bootstrap"]))
    say(
        f"| results JSON (same detections, {main_case_lines:,} records), whole process, "
        f"alternating with the result files | <= 1.2x the files' | {fmt(report['side_json_wall'])} | "
        f"files: {fmt(report['side_files_wall'])} | {ratio('side_json_wall', 'side_files_wall')} |"
    )
    say(
        f"| results JSON peak RSS | <= 1.3x the files' | {fmt(report['side_json_rss_mb'], 'MB')} | "
        f"files: {fmt(report['side_files_rss_mb'], 'MB')} | "
        f"{ratio('side_json_rss_mb', 'side_files_rss_mb')} |"
    )
    coco_gt = report["coco_gt_cached"]
    say(
        f"| COCO json ground truth, {coco_gt['objects']:,} objects, cached (in process) | <= 0.05 s | "
        f"{fmt(coco_gt)} | parsed: {fmt(coco_gt['parsed'])} | |"
    )
    say()
    say(
        f"- The results JSON gives the result files' mAP, bit for bit: {report['json_same_map_bits']}."
    )
    say(
        f"- Same APs as the reference on the 1M case, bit for bit: {report['same_aps_as_reference']}."
    )
    say(
        "- Bootstrap replicates equal the plain NumPy bootstrap's: "
        f"{report['bootstrap']['same_replicates']}."
    )
    say(
        f"- `evaluate` imports torch/matplotlib/pandas: {report['heavy_imports_in_evaluate'] or 'none'}."
    )
    say(f"- The first run says it is compiling: {report['first_run_says_so']}.")
    above = report["process_warm"]["median"] - report["numba_floor"]["median"]
    say(
        f"- `vocmap evaluate` (annotations cached) above the numba floor: {above:.3f} s "
        "(difference of the medians)."
    )
    say()
    say("Scaling (parse + match + AP in one process, annotations loaded):")
    say()
    say("| detections | median | min-max | ns per detection |")
    say("|---:|---:|---:|---:|")
    for row in scaling.values():
        say(
            f"| {row['detections']:,} | {row['median']:.3f} s | {row['min']:.3f}-{row['max']:.3f} s | "
            f"{row['ns_per_detection']:.0f} |"
        )
    os.makedirs(args.out, exist_ok=True)
    if not args.smoke:
        Path(args.out, "latest.md").write_text("\n".join(out) + "\n")
        Path(args.out, "latest.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    else:
        shutil.rmtree(cases.root, ignore_errors=True)
    shutil.rmtree(cache_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
