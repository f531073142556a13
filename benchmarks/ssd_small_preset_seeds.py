"""The small preset over seeds: train, detect and score (vocmap) every (data seed, training seed).

    python benchmarks/ssd_small_preset_seeds.py                      # 3 data seeds x 5 training seeds
    python benchmarks/ssd_small_preset_seeds.py --data-seeds 0 --train-seeds 2
    python benchmarks/ssd_small_preset_seeds.py --override solver.max_iter=300 --out table.md
    python benchmarks/ssd_small_preset_seeds.py --jobs 3           # 3 runs at a time

Each data seed is a synthetic set (240 trainval, 100 test images, as in the
tests); each run trains the preset from scratch on its trainval images, detects
on the 100 held-out test images with the last checkpoint and scores them with
vocmap (VOC07 11-point AP, the devkit's rules). Prints (and with ``--out``
writes) a markdown table: one row per run with its mAP, per-class APs and the
**CPU time** of training and of detection + scoring (user + system time of
this process and its finished children: on a shared machine wall time says
more about the neighbours than about the run), then the lowest and the median.
torch runs with ``--threads`` threads (default 1: on two shared cores a second
thread's spin-waiting costs more CPU time than it saves); ``--jobs N`` runs N
of them at a time, each in its own process (the rows keep their order). Not a test: nothing
is asserted (the test keeps a lower bar, see tests/ssd_ref/test_training.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

NUM_TRAINVAL = 240
NUM_TEST = 100


def synthetic_set(work: Path, seed: int) -> Path:
    """``work/data_<seed>`` holding ``SYNTH/`` (made once; a half-made one is redone)."""
    from ssd_ref.data.synthetic import make_synthetic_voc

    root = work / f"data_{seed}"
    done = root / ".complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        make_synthetic_voc(root, seed=seed, num_trainval=NUM_TRAINVAL, num_test=NUM_TEST)
        done.write_text("ok\n")
    return root


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and its finished children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def one_run(
    config_name: str, overrides: list[str], data_root: Path, seed: int, run_dir: Path,
    threads: int = 1,
):  # fmt: skip
    """Train, detect with the last checkpoint, score:
    ``(mAP, {class: AP}, training CPU s, detection + scoring CPU s)``."""
    import vocmap
    from ssd_ref.config import apply_overrides, load_config
    from ssd_ref.engine.trainer import train
    from ssd_ref.inference import detect_checkpoint

    config = apply_overrides(
        load_config(config_name),
        [
            *overrides,
            f"data.voc_root={json.dumps(str(data_root))}",
            f"run.seed={seed}",
            f"run.cpu_threads={threads}",
        ],  # the trainer sets torch's threads from the config
    )
    shutil.rmtree(run_dir, ignore_errors=True)
    begin = cpu_seconds()
    result = train(config, run_dir)
    training = cpu_seconds() - begin
    year = data_root / "SYNTH"
    out = detect_checkpoint(result.last_checkpoint, year, "test", out_dir=run_dir / "dets")
    classes = list(config.data.classes)
    gt = vocmap.read_voc(year, image_set="test")
    evaluation = vocmap.Evaluator(gt, classes=classes).evaluate(
        vocmap.read_detections(out, gt, classes=classes)
    )
    scoring = cpu_seconds() - begin - training
    return evaluation.map, {c: evaluation.classes[c].ap for c in classes}, training, scoring


def run_in_child(
    config_name: str, overrides: list[str], data_root: Path, seed: int, run_dir: Path, threads: int
):
    """:func:`one_run` in a worker process of its own (``--jobs``): torch set to ``threads``."""
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    return one_run(config_name, overrides, data_root, seed, run_dir, threads)


def run_all(args: argparse.Namespace, plan: list):
    """Yield each planned run's :func:`one_run` outcome, in plan order; with
    ``--jobs N`` N runs at a time, each in a fresh spawned process."""
    if args.jobs <= 1:
        for _, seed, root, run_dir in plan:
            yield one_run(args.config, args.override, root, seed, run_dir, args.threads)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=context, max_tasks_per_child=1) as pool:
        pending = [
            pool.submit(run_in_child, args.config, args.override, root, seed, run_dir, args.threads)
            for _, seed, root, run_dir in plan
        ]
        for future in pending:
            yield future.result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="small", help="preset name or config JSON")
    parser.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--override", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--work", default="/tmp/ssd_small_preset_seeds", help="data and runs")
    parser.add_argument("--out", help="also write the markdown table here")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import torch

    torch.set_num_threads(args.threads)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows, maps, cpu = [], [], []
    header = None
    started = time.perf_counter()
    plan = [
        (data_seed, seed, synthetic_set(work, data_seed), work / f"run_d{data_seed}_t{seed}")
        for data_seed in args.data_seeds
        for seed in args.train_seeds
    ]
    outcomes = run_all(args, plan)
    for (data_seed, seed, _, _), (value, per_class, training, scoring) in zip(plan, outcomes):
        if header is None:
            header = (
                "| data seed | training seed | mAP | "
                + " | ".join(per_class)
                + " | training CPU s | detect + score CPU s |\n|"
                + "---|" * (len(per_class) + 5)
            )
            print(header)
        row = (
            f"| {data_seed} | {seed} | {value:.3f} | "
            + " | ".join(f"{ap:.3f}" for ap in per_class.values())
            + f" | {training:.0f} | {scoring:.0f} |"
        )
        print(row, flush=True)
        rows.append(row)
        maps.append(value)
        cpu.append(training + scoring)
    total = time.perf_counter() - started
    summary = (
        f"\n{len(maps)} runs, preset `{args.config}`{' ' + ' '.join(args.override) if args.override else ''}: "
        f"lowest mAP {min(maps):.3f}, median {statistics.median(maps):.3f}, highest {max(maps):.3f}; "
        f"CPU time per run (training + detection + scoring) median {statistics.median(cpu):.0f} s, "
        f"highest {max(cpu):.0f} s; {total / 60:.1f} min wall in all "
        f"(torch {torch.__version__}, {args.threads} thread(s) a run, {args.jobs} run(s) at a time)"
    )
    print(summary)
    if args.out:
        from vocmap.core.atomic import atomic_write_text

        atomic_write_text(args.out, "\n".join([header, *rows]) + "\n" + summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
