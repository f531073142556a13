"""The config: Caffe reference values, JSON round trip, strict loading, overrides."""

from __future__ import annotations

import json

import pytest

from ssd_ref.config import (
    SSDConfig,
    apply_overrides,
    load_config,
    reference_config,
    tiny_config,
)


@pytest.mark.parametrize("make", [reference_config, tiny_config])
def test_json_round_trip_is_exact(make):
    config = make()
    again = SSDConfig.from_json(config.to_json())
    assert again == config
    assert again.to_json() == config.to_json()


def test_reference_config_is_caffe_ssd_pascal():
    c = reference_config()
    assert c.model.feature_maps == (38, 19, 10, 5, 3, 1)
    assert c.model.steps == (8, 16, 32, 64, 100, 300)
    assert c.model.min_sizes == (30, 60, 111, 162, 213, 264)
    assert c.model.max_sizes == (60, 111, 162, 213, 264, 315)
    assert c.model.aspect_ratios == ((2,), (2, 3), (2, 3), (2, 3), (2,), (2,))
    assert c.model.variances == (0.1, 0.1, 0.2, 0.2)
    assert not c.model.clip_priors
    assert c.num_classes == 21
    assert (c.solver.base_lr, c.solver.momentum, c.solver.weight_decay) == (0.001, 0.9, 0.0005)
    assert (c.solver.bias_lr_factor, c.solver.bias_weight_decay) == (2.0, 0.0)
    assert c.solver.milestones == (80_000, 100_000)
    assert (c.solver.max_iter, c.solver.batch_size, c.solver.warmup_iters) == (120_000, 32, 0)
    assert (c.loss.overlap_threshold, c.loss.neg_pos_ratio, c.loss.neg_overlap) == (0.5, 3.0, 0.5)
    assert c.data.use_difficult
    assert c.data.train_sets == (("VOC2007", "trainval"), ("VOC2012", "trainval"))
    assert c.data.val_sets == (("VOC2007", "test"),)
    assert c.data.pixel_mean_bgr == (104, 117, 123)
    d = c.detect
    assert (d.conf_threshold, d.nms_threshold, d.top_k, d.keep_top_k) == (0.01, 0.45, 400, 200)
    samplers = c.augment.samplers
    assert len(samplers) == 7
    assert [s.min_jaccard_overlap for s in samplers] == [None, 0.1, 0.3, 0.5, 0.7, 0.9, None]
    assert samplers[-1].max_jaccard_overlap == 1.0
    assert all(s.max_trials == 50 for s in samplers[1:]) and samplers[0].max_trials == 1
    assert all((s.min_scale, s.max_aspect_ratio) == (0.3, 2.0) for s in samplers[1:])


def test_tiny_config_keeps_the_ssd300_geometry():
    tiny, ref = tiny_config(), reference_config()
    assert tiny.model.width_mult < 1
    for field in ("image_size", "feature_maps", "steps", "min_sizes", "max_sizes", "aspect_ratios"):
        assert getattr(tiny.model, field) == getattr(ref.model, field)
    assert tiny.loss == ref.loss and tiny.detect == ref.detect
    assert tiny.augment.samplers == ref.augment.samplers


def test_unknown_keys_and_wrong_types_are_rejected():
    data = reference_config().to_dict()
    data["solver"]["learning_rate"] = 0.1
    with pytest.raises(ValueError, match="unknown keys"):
        SSDConfig.from_dict(data)
    data = reference_config().to_dict()
    data["solver"]["max_iter"] = "many"
    with pytest.raises(ValueError, match="integer"):
        SSDConfig.from_dict(data)


def test_overrides_parse_json_values_and_check_keys():
    config = apply_overrides(
        tiny_config(), ["solver.max_iter=7", 'data.classes=["cat", "dog"]', "data.voc_root=/x"]
    )
    assert config.solver.max_iter == 7
    assert config.data.classes == ("cat", "dog") and config.num_classes == 3
    assert config.data.voc_root == "/x"
    with pytest.raises(ValueError):
        apply_overrides(tiny_config(), ["solver.nope=1"])


def test_load_config_reads_presets_and_files(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(tiny_config().to_dict()))
    assert load_config(path) == tiny_config()
    assert load_config("reference") == reference_config()


def test_small_preset_is_tiny_with_unit_input_crelu_stem_and_adamw():
    def differences(a, b, prefix=""):
        if isinstance(a, dict):
            return [d for k in a for d in differences(a[k], b[k], f"{prefix}{k}.")]
        return [] if a == b else [prefix.rstrip(".")]

    small, tiny = load_config("small"), tiny_config()
    assert differences(small.to_dict(), tiny.to_dict()) == [
        "model.input_std_bgr",
        "model.stem_crelu",
        "solver.optimizer",
        "solver.base_lr",
    ]
    assert small.model.input_std_bgr == (57.4, 57.1, 58.4)
    assert (small.model.stem_crelu, small.solver.optimizer, small.solver.base_lr) == (
        True,
        "adamw",
        0.004,
    )
    assert load_config("small") == SSDConfig.from_json(small.to_json())
