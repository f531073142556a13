"""Run by test_training.py under ``torch.distributed.run``: train, then write a checksum.

Usage: ddp_worker.py CONFIG_JSON RUN_DIR OUT_DIR
Each rank writes ``OUT_DIR/rank<r>.txt`` (SHA-256 of every tensor of the model's
state dict) and ``OUT_DIR/rank<r>.pt`` (the state dict).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import torch

from ssd_ref.config import SSDConfig
from ssd_ref.engine.trainer import train
from ssd_ref.utils.distributed import shutdown


def checksum(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main() -> None:
    config_path, run_dir, out_dir = sys.argv[1:4]
    config = SSDConfig.from_json(Path(config_path).read_text())
    result = train(config, run_dir, device="cpu")
    rank = int(os.environ.get("RANK", "0"))
    state = result.model.state_dict()
    Path(out_dir, f"rank{rank}.txt").write_text(checksum(state))
    torch.save(state, Path(out_dir, f"rank{rank}.pt"))
    shutdown()


if __name__ == "__main__":
    main()
