"""The time of one in-training evaluation pass (``run.eval_every``) on CPU.

    python -m benchmarks.ssd_eval_pass [--test 100] [--repeats 3] [--preset small]

On the synthetic set's test images (``ssd_ref make-synthetic``'s defaults: 100
images of 240-360 px): detection with the preset's untrained network (every
class keeps its candidates: NMS's slowest case), the result files written, the
accumulator's scoring and the stored result, as the trainer runs it
(:class:`ssd_ref.engine.evaluation.TrainingEvaluation`). Medians over repeats.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ssd_ref.config import load_config
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.engine.evaluation import TrainingEvaluation
from ssd_ref.modeling.ssd import build_model
from ssd_ref.utils.distributed import DistInfo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", type=int, default=100, help="synthetic test images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--preset", default="small")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        make_synthetic_voc(tmp, seed=0, num_trainval=1, num_test=args.test)
        config = load_config(args.preset)
        config = config.replace(data=dataclasses.replace(config.data, voc_root=tmp))
        torch.manual_seed(0)
        model = build_model(config)
        evaluation = TrainingEvaluation(config, Path(tmp) / "run", DistInfo())
        seconds = []
        for repeat in range(args.repeats):
            begin = time.perf_counter()
            value = evaluation(model, repeat + 1, torch.device("cpu"))
            seconds.append(time.perf_counter() - begin)
        print(f"one evaluation pass [{args.preset}, untrained], {args.test} images: "
              f"{statistics.median(seconds):.2f} s median ({', '.join(f'{s:.2f}' for s in seconds)})"
              f", {args.test / statistics.median(seconds):.1f} images/s; mAP {value:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
