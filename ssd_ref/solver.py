"""SGD (or AdamW) with Caffe's parameter groups, and the multistep learning-rate schedule.

Caffe's SSD gives every convolution ``param { lr_mult: 1 decay_mult: 1 }`` for
the weights and ``param { lr_mult: 2 decay_mult: 0 }`` for the biases. The
L2Norm scale has the default (1, 1), so it is in the weight group.

The schedule is a function of the step: the number of updates done before the
current one (0-based). Caffe's "multistep": ``lr = base * gamma^k`` where ``k``
counts the milestones ``<= step``; so with milestones 80,000 and 100,000 the
steps 0..79,999 use 1e-3, 80,000..99,999 use 1e-4 and the rest 1e-5.
"""

from __future__ import annotations

import bisect

import torch
from torch import nn

from ssd_ref.config import SolverConfig


def is_bias(name: str, parameter: torch.Tensor) -> bool:
    return name.endswith(".bias") and parameter.ndim == 1


def parameter_groups(model: nn.Module, config: SolverConfig) -> list[dict]:
    """Two SGD groups: weights (lr x1, decay) and biases (lr x ``bias_lr_factor``, no decay)."""
    weights, biases = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (biases if is_bias(name, parameter) else weights).append(parameter)
    return [
        {
            "params": weights,
            "lr": config.base_lr,
            "weight_decay": config.weight_decay,
            "name": "weights",
        },
        {
            "params": biases,
            "lr": config.base_lr * config.bias_lr_factor,
            "weight_decay": config.bias_weight_decay,
            "name": "biases",
        },
    ]


def lr_factor(step: int, config: SolverConfig) -> float:
    """Multiplier of the base learning rates at ``step`` (warm-up times the multistep decay)."""
    return LrFactor(config)(step)


def learning_rate(step: int, config: SolverConfig) -> float:
    """The weights' learning rate at ``step`` (biases get ``bias_lr_factor`` times it)."""
    return config.base_lr * lr_factor(step, config)


class LrFactor:
    """``lr_lambda`` for :class:`torch.optim.lr_scheduler.LambdaLR`.

    Holds plain numbers only, so the scheduler's state dict loads with
    ``torch.load(weights_only=True)``.
    """

    def __init__(self, config: SolverConfig) -> None:
        self.milestones = tuple(sorted(int(m) for m in config.milestones))
        self.gamma = float(config.gamma)
        self.warmup_iters = int(config.warmup_iters)
        self.warmup_factor = float(config.warmup_factor)

    def __call__(self, step: int) -> float:
        factor = self.gamma ** bisect.bisect_right(self.milestones, step)
        if step < self.warmup_iters:
            alpha = step / self.warmup_iters
            factor *= self.warmup_factor * (1.0 - alpha) + alpha
        return factor


def build_optimizer(model: nn.Module, config: SolverConfig) -> torch.optim.Optimizer:
    """SGD with momentum (Caffe), or AdamW (``solver.optimizer``; beta1 = ``momentum``)."""
    groups = parameter_groups(model, config)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.base_lr, betas=(config.momentum, 0.999))
    return torch.optim.SGD(groups, lr=config.base_lr, momentum=config.momentum)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: SolverConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """``scheduler.last_epoch`` is the step; call ``scheduler.step()`` after each update."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, LrFactor(config))
