"""Solver: Caffe parameter groups and the multistep schedule."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ssd_ref.config import SolverConfig, reference_config
from ssd_ref.modeling.ssd import build_model
from ssd_ref.solver import (
    build_optimizer,
    build_scheduler,
    learning_rate,
    parameter_groups,
)


def test_biases_get_twice_the_lr_and_no_decay():
    model = build_model(reference_config(), initialise_weights=False)
    weights, biases = parameter_groups(model, SolverConfig())
    assert (weights["lr"], weights["weight_decay"]) == (0.001, 0.0005)
    assert (biases["lr"], biases["weight_decay"]) == (0.002, 0.0)
    names = {id(p): n for n, p in model.named_parameters()}
    bias_names = {names[id(p)] for p in biases["params"]}
    weight_names = {names[id(p)] for p in weights["params"]}
    assert bias_names == {n for n in names.values() if n.endswith(".bias")}
    assert "l2norm.weight" in weight_names  # Caffe Normalize: default lr_mult 1, decay_mult 1
    assert len(bias_names) + len(weight_names) == len(list(model.parameters()))
    assert not bias_names & weight_names


def test_learning_rate_steps_at_80k_and_100k():
    config = SolverConfig()
    assert learning_rate(0, config) == 1e-3
    assert learning_rate(79_999, config) == 1e-3
    assert learning_rate(80_000, config) == pytest.approx(1e-4, rel=1e-12)
    assert learning_rate(99_999, config) == pytest.approx(1e-4, rel=1e-12)
    assert learning_rate(100_000, config) == pytest.approx(1e-5, rel=1e-12)
    assert learning_rate(119_999, config) == pytest.approx(1e-5, rel=1e-12)


def test_warm_up_is_off_by_default_and_linear_when_on():
    assert SolverConfig().warmup_iters == 0
    config = dataclasses.replace(SolverConfig(), warmup_iters=100, warmup_factor=0.1)
    assert learning_rate(0, config) == pytest.approx(1e-4)
    assert learning_rate(50, config) == pytest.approx(0.55e-3)
    assert learning_rate(100, config) == pytest.approx(1e-3)


def test_scheduler_follows_the_step_and_survives_a_state_dict():
    config = dataclasses.replace(SolverConfig(), milestones=(3, 5), max_iter=8)
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, config)
    seen = []
    for _ in range(6):
        seen.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    assert [s[0] for s in seen] == pytest.approx([1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5])
    assert all(b == pytest.approx(2 * w) for w, b in seen)
    fresh_optimizer = build_optimizer(model, config)
    fresh = build_scheduler(fresh_optimizer, config)
    fresh.load_state_dict(scheduler.state_dict())
    assert fresh.last_epoch == 6
    fresh_optimizer.step()
    fresh.step()
    optimizer.step()
    scheduler.step()
    assert fresh_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0.9


def test_adamw_keeps_the_parameter_groups_and_momentum_as_beta1():
    config = dataclasses.replace(SolverConfig(), optimizer="adamw", base_lr=0.004, momentum=0.8)
    model = build_model(reference_config())
    optimizer = build_optimizer(model, config)
    assert isinstance(optimizer, torch.optim.AdamW)
    weights, biases = optimizer.param_groups
    assert (weights["lr"], weights["weight_decay"]) == (0.004, 0.0005)
    assert (biases["lr"], biases["weight_decay"]) == (0.008, 0.0)
    assert weights["betas"] == (0.8, 0.999)
    scheduler = build_scheduler(optimizer, config)
    fresh = build_optimizer(model, config)
    fresh.load_state_dict(optimizer.state_dict())  # what a checkpoint does
    assert fresh.param_groups[1]["lr"] == 0.008 and scheduler.last_epoch == 0


def test_an_unknown_optimizer_is_a_config_error():
    with pytest.raises(ValueError, match=r"solver\.optimizer"):
        SolverConfig(optimizer="adam")
