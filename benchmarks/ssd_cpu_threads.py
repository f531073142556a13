"""The small preset's CPU train step with 1 and 2 torch threads, alternated.

    python benchmarks/ssd_cpu_threads.py [--steps 6] [--rounds 3] [--threads 1 2]

Times :func:`train_step` of the ``small`` preset (batch 16) on a fixed batch of
the synthetic set, the thread counts taking turns so that a change in the
machine's load hits both. Prints the median seconds per step of each count and
the machine's load average. Not a test: nothing is asserted. The result chose
``ssd_ref``'s default of one thread on a CPU (ssd_ref/README.md, BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ssd_ref.config import apply_overrides, small_config
from ssd_ref.data.datasets import TrainDataset
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.step import build_network, train_step
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.utils.distributed import DistInfo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per turn")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each thread count")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        make_synthetic_voc(tmp, num_trainval=16, num_test=1)
        config = apply_overrides(small_config(), [f'data.voc_root="{Path(tmp)}"'])
        voc = VocDataset(tmp, config.data.train_sets, config.data.classes)
        dataset = TrainDataset(voc, config, prior_boxes(config.model))
        samples = [dataset[(i, i % len(voc))] for i in range(config.solver.batch_size)]
    batch = tuple(torch.stack([s[k] for s in samples]) for k in range(3))
    times: dict[int, list[float]] = {n: [] for n in args.threads}
    for _ in range(args.rounds):
        for threads in args.threads:
            torch.set_num_threads(threads)
            network = build_network(config, torch.device("cpu"), DistInfo())
            train_step(network, batch, config, torch.device("cpu"))  # warm-up
            begin = time.perf_counter()
            for _ in range(args.steps):
                train_step(network, batch, config, torch.device("cpu"))
            times[threads].append((time.perf_counter() - begin) / args.steps)
    load = os.getloadavg()
    for threads, values in times.items():
        print(
            f"threads {threads}: {statistics.median(values):.3f} s/step "
            f"(min {min(values):.3f}, max {max(values):.3f}) over {len(values)} turns"
        )
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
