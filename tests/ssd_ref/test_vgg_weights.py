"""ImageNet VGG16 -> SSD backbone: fc6/fc7 decimation, layouts, preprocessing fold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ssd_ref.config import reference_config
from ssd_ref.modeling.ssd import build_model
from ssd_ref.modeling.vgg import (
    TORCHVISION_CONV_INDICES,
    TORCHVISION_MEAN_RGB,
    TORCHVISION_STD_RGB,
    VGGBackbone,
    convert_vgg16_state_dict,
    decimate_fc,
    fold_torchvision_preprocessing,
)

CONV_SHAPES = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256),
               (512, 256), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]  # fmt: skip


@pytest.fixture(scope="module")
def torchvision_vgg16() -> dict[str, torch.Tensor]:
    """A torchvision-layout VGG16 state dict whose fc values are their own flat index."""
    generator = torch.Generator().manual_seed(0)
    state = {}
    for index, (cout, cin) in zip(TORCHVISION_CONV_INDICES, CONV_SHAPES, strict=True):
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=generator)
        state[f"features.{index}.bias"] = torch.randn(cout, generator=generator)
    state["classifier.0.weight"] = torch.arange(4096 * 25088, dtype=torch.int32).reshape(
        4096, 25088
    )
    state["classifier.0.bias"] = torch.arange(4096, dtype=torch.int32)
    state["classifier.3.weight"] = torch.arange(4096 * 4096, dtype=torch.int32).reshape(4096, 4096)
    state["classifier.3.bias"] = torch.arange(4096, dtype=torch.int32)
    state["classifier.6.weight"] = torch.zeros(1000, 4096, dtype=torch.int32)
    return state


def test_fc6_fc7_are_decimated_as_caffe_fc_reduced(torchvision_vgg16):
    s = torchvision_vgg16
    out = decimate_fc(s["classifier.0.weight"], s["classifier.0.bias"],
                      s["classifier.3.weight"], s["classifier.3.bias"])  # fmt: skip
    w6, w7 = out["fc6.conv.weight"], out["fc7.conv.weight"]
    assert w6.shape == (1024, 512, 3, 3) and w7.shape == (1024, 1024, 1, 1)
    # fc6 (4096, 512*7*7): output 4o, input channel c, tap (3y, 3x).
    for o, c, y, x in [(0, 0, 0, 0), (1, 2, 1, 2), (1023, 511, 2, 2), (517, 100, 2, 0)]:
        assert int(w6[o, c, y, x]) == 4 * o * 25088 + c * 49 + 3 * y * 7 + 3 * x
    for o, i in [(0, 0), (3, 5), (1023, 1023)]:
        assert int(w7[o, i, 0, 0]) == 4 * o * 4096 + 4 * i
    assert out["fc6.conv.bias"].tolist() == list(range(0, 4096, 4))


def test_torchvision_layout_converts_and_loads(torchvision_vgg16):
    state = convert_vgg16_state_dict(torchvision_vgg16, preprocessing="caffe")
    backbone = VGGBackbone(1.0)
    backbone.load_state_dict(state)  # strict: every key, every shape
    assert torch.equal(
        backbone.conv3_2.conv.weight, torchvision_vgg16["features.12.weight"].float()
    )
    assert torch.equal(backbone.conv5_3.conv.bias, torchvision_vgg16["features.28.bias"].float())


def test_reduced_layout_is_taken_as_is_with_caffe_preprocessing(torchvision_vgg16):
    reduced = {}
    for index in TORCHVISION_CONV_INDICES:
        reduced[f"{index}.weight"] = torchvision_vgg16[f"features.{index}.weight"]
        reduced[f"{index}.bias"] = torchvision_vgg16[f"features.{index}.bias"]
    reduced["31.weight"] = torch.randn(1024, 512, 3, 3)
    reduced["31.bias"] = torch.randn(1024)
    reduced["33.weight"] = torch.randn(1024, 1024, 1, 1)
    reduced["33.bias"] = torch.randn(1024)
    state = convert_vgg16_state_dict(reduced)  # auto: caffe, so conv1_1 untouched
    assert torch.equal(state["conv1_1.conv.weight"], reduced["0.weight"])
    assert torch.equal(state["fc6.conv.weight"], reduced["31.weight"])
    assert torch.equal(state["fc7.conv.bias"], reduced["33.bias"])
    again = convert_vgg16_state_dict(state)  # our own layout round-trips
    assert all(torch.equal(again[k], state[k]) for k in state)
    with pytest.raises(ValueError, match="unrecognised"):
        convert_vgg16_state_dict({"foo": torch.zeros(1)})


def test_folding_torchvision_preprocessing_gives_the_same_conv1_1_output():
    generator = torch.Generator().manual_seed(0)
    weight, bias = (
        torch.randn(64, 3, 3, 3, generator=generator),
        torch.randn(64, generator=generator),
    )
    bgr = torch.randint(0, 256, (2, 3, 20, 24), generator=generator).double()
    rgb = bgr.flip(1)
    mean, std = (
        torch.tensor(TORCHVISION_MEAN_RGB, dtype=torch.float64),
        torch.tensor(TORCHVISION_STD_RGB, dtype=torch.float64),
    )
    torchvision_input = (rgb / 255 - mean[None, :, None, None]) / std[None, :, None, None]
    caffe_input = bgr - torch.tensor([104.0, 117.0, 123.0]).double()[None, :, None, None]
    expected = torch.nn.functional.conv2d(
        torchvision_input, weight.double(), bias.double(), padding=1
    )
    new_weight, new_bias = fold_torchvision_preprocessing(weight.double(), bias.double())
    actual = torch.nn.functional.conv2d(caffe_input, new_weight, new_bias, padding=1)
    # Equal away from the zero-padded border.
    assert torch.allclose(actual[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-9)
    assert not torch.allclose(actual[..., 0, :], expected[..., 0, :])


def test_build_model_loads_backbone_weights_from_a_local_file(tmp_path, torchvision_vgg16):
    path = tmp_path / "vgg16.pth"
    small = {k: v for k, v in torchvision_vgg16.items() if k.startswith("features.")}
    small.update(
        {k: v.float() for k, v in torchvision_vgg16.items() if k.startswith("classifier.")}
    )
    torch.save(small, path)
    config = reference_config()
    config = config.replace(model=dataclasses.replace(config.model, backbone_weights=str(path)))
    model = build_model(config)
    expected = convert_vgg16_state_dict(small, "torchvision")
    assert torch.equal(model.backbone.fc6.conv.weight, expected["fc6.conv.weight"])
    assert torch.equal(model.backbone.conv1_1.conv.weight, expected["conv1_1.conv.weight"])
    assert not torch.equal(model.backbone.conv1_1.conv.weight, small["features.0.weight"])
    assert np.isclose(float(model.l2norm.weight[0].detach()), 20.0)
