"""The network: layer geometry, output shapes, parameter count, initialisation."""

from __future__ import annotations

import pytest
import torch

from ssd_ref.config import apply_overrides, reference_config, tiny_config
from ssd_ref.errors import ConfigError
from ssd_ref.modeling.ssd import build_model, count_parameters
from ssd_ref.modeling.vgg import ConvReLU

#: SSD300 / VGG16 with 21 classes, part by part (weights + biases):
#:   VGG16 conv1_1 .. conv5_3 (the ImageNet convolutions)   14,714,688
#:   fc6  3x3, 512 -> 1024, dilation 6                        4,719,616
#:   fc7  1x1, 1024 -> 1024                                   1,049,600
#:   L2Norm scale on conv4_3                                        512
#:   extras conv6_1 .. conv9_2                                2,459,520
#:   loc heads (4 * priors per location, 3x3)                   534,648
#:   conf heads (21 * priors per location, 3x3)               2,806,902
#:   total                                                   26,285,486
FULL_MODEL_PARAMETERS = 26_285_486


def conv_params(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def test_full_model_parameter_count_is_26_3_million():
    model = build_model(reference_config(), initialise_weights=False)
    vgg = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256)]
    vgg += [(256, 512)] + [(512, 512)] * 5
    parts = {
        "backbone": sum(conv_params(a, b, 3) for a, b in vgg)
        + conv_params(512, 1024, 3)
        + conv_params(1024, 1024, 1),
        "l2norm": 512,
        "extras": conv_params(1024, 256, 1) + conv_params(256, 512, 3) + conv_params(512, 128, 1)
        + conv_params(128, 256, 3) + 2 * (conv_params(256, 128, 1) + conv_params(128, 256, 3)),
        "loc_heads": sum(conv_params(c, n * 4, 3) for c, n in
                         zip([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4], strict=True)),
        "conf_heads": sum(conv_params(c, n * 21, 3) for c, n in
                          zip([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4], strict=True)),
    }  # fmt: skip
    for name, expected in parts.items():
        assert count_parameters(getattr(model, name)) == expected, name
    assert sum(parts.values()) == FULL_MODEL_PARAMETERS
    assert count_parameters(model) == FULL_MODEL_PARAMETERS


def test_full_model_output_shapes_and_feature_maps():
    model = build_model(reference_config())
    sizes = []
    hooks = [
        getattr(model.extras, name).register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
        for name in ("conv6_2", "conv7_2", "conv8_2", "conv9_2")
    ]
    for head in model.loc_heads:
        hooks.append(head.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])))
    with torch.no_grad():
        loc, conf = model(torch.zeros(1, 3, 300, 300))
    for hook in hooks:
        hook.remove()
    assert loc.shape == (1, 8732, 4) and conf.shape == (1, 8732, 21)
    assert sizes[:4] == [10, 5, 3, 1]  # conv6_2 .. conv9_2
    assert sizes[4:] == [38, 19, 10, 5, 3, 1]  # the six heads' inputs


def test_caffe_layer_settings():
    model = build_model(reference_config(), initialise_weights=False)
    fc6 = model.backbone.fc6.conv
    assert (fc6.kernel_size, fc6.dilation, fc6.padding, fc6.out_channels) == (
        (3, 3),
        (6, 6),
        (6, 6),
        1024,
    )
    fc7 = model.backbone.fc7.conv
    assert fc7.kernel_size == (1, 1) and fc7.out_channels == 1024
    assert torch.all(model.l2norm.weight == 20.0)


def test_tiny_model_keeps_the_priors_and_is_small():
    config = tiny_config()
    model = build_model(config)
    with torch.no_grad():
        loc, conf = model(torch.zeros(2, 3, 300, 300))
    assert loc.shape == (2, 8732, 4) and conf.shape == (2, 8732, len(config.data.classes) + 1)
    assert count_parameters(model) < 300_000


def test_initialisation_is_caffe_xavier_with_zero_biases():
    torch.manual_seed(0)
    model = build_model(reference_config())
    conv = model.extras.conv6_2.conv  # fan_in 256 * 9
    bound = (3.0 / (256 * 9)) ** 0.5
    assert conv.weight.abs().max() <= bound
    assert conv.weight.abs().max() > 0.95 * bound
    assert torch.all(conv.bias == 0)
    assert torch.all(model.conf_heads[0].bias == 0)


@pytest.mark.parametrize("batch", [1, 3])
def test_l2norm_normalises_each_position(batch):
    config = tiny_config()
    model = build_model(config)
    x = torch.rand(batch, model.l2norm.weight.numel(), 5, 5) + 0.1
    with torch.no_grad():
        y = model.l2norm(x)
    expected = torch.full((batch, 5, 5), config.model.l2norm_scale)
    assert torch.allclose(y.norm(dim=1), expected, atol=1e-4)


def test_min_channels_widens_only_the_layers_below_it():
    config = tiny_config()
    wide = apply_overrides(config, ["model.min_channels=16"])
    narrow_model, wide_model = build_model(config), build_model(wide)
    assert narrow_model.backbone.conv1_1.out_channels == 4  # 64 / 16
    assert wide_model.backbone.conv1_1.out_channels == 16
    assert wide_model.backbone.conv4_3.out_channels == 32  # 512 / 16: unchanged
    with torch.no_grad():
        loc, _ = wide_model.eval()(torch.zeros(1, 3, 300, 300))
    assert loc.shape == (1, 8732, 4)


# --- the from-scratch stem: unit-scale input, CReLU -----------------------------------

#: The synthetic classes' colours: OpenCV's HSV -> BGR of (class hue, 213, 203),
#: mid-range of what ``_colour`` in ssd_ref/data/synthetic.py draws (hue +-4,
#: saturation 170-255, value 150-255).
SYNTHETIC_CLASS_BGR = {
    "bottle": (33, 33, 203),
    "car": (33, 203, 169),
    "cat": (101, 203, 33),
    "dog": (203, 101, 33),
    "person": (203, 33, 169),
}


def block1_response(model, bgr, mean=(104.0, 117.0, 123.0)) -> torch.Tensor:
    """conv1_2's output channels at the centre of a flat patch of colour ``bgr``."""
    patch = torch.tensor([b - m for b, m in zip(bgr, mean, strict=True)], dtype=torch.float32)
    image = patch.reshape(1, 3, 1, 1).expand(1, 3, 12, 12).contiguous()
    if model.input_std is not None:
        image = image / model.input_std
    with torch.no_grad():
        return model.backbone.conv1_2(model.backbone.conv1_1(image))[0, :, 6, 6]


def test_regression_a_plain_relu_stem_can_lose_a_class_colour_and_crelu_cannot():
    # Training seed 2 (data seed 0) never learned the dog (AP 0.002, issue 14):
    # at initialisation the dog's blue gives zero in all four channels of block 1,
    # so nothing of a dog's interior reaches the network nor sends a gradient back.
    plain = apply_overrides(tiny_config(), ["model.stem_crelu=false"])
    torch.manual_seed(2)
    assert not block1_response(build_model(plain), SYNTHETIC_CLASS_BGR["dog"]).any()
    for seed in range(5):
        torch.manual_seed(seed)
        model = build_model(apply_overrides(tiny_config(), ["model.stem_crelu=true"]))
        for name, bgr in SYNTHETIC_CLASS_BGR.items():
            assert block1_response(model, bgr).any(), (seed, name)


def test_crelu_layer_is_one_tied_convolution_and_passes_every_input():
    torch.manual_seed(0)
    layer = ConvReLU(3, 4, 3, padding=1, crelu=True)
    assert layer.conv.out_channels == 2 and layer.out_channels == 4
    x = torch.randn(2, 3, 9, 9)
    z = layer.conv(x)
    with torch.no_grad():
        y = layer(x)
    assert torch.allclose(y, torch.cat([z, -z], dim=1).relu(), atol=1e-6)
    assert torch.allclose(y[:, :2] - y[:, 2:], z, atol=1e-6)  # nothing is lost
    with pytest.raises(ValueError, match="even channel count"):
        ConvReLU(3, 5, 3, crelu=True)


def test_input_std_divides_the_input_instead_of_conv1_1():
    # Same function at initialisation as the older start (conv1_1's weights
    # divided by the input's scale), but conv1_1's weights keep unit scale.
    config = apply_overrides(tiny_config(), ["model.input_std_bgr=[50, 60, 70]"])
    torch.manual_seed(0)
    normalised = build_model(config).eval()
    legacy = build_model(apply_overrides(config, ["model.input_std_bgr=null"])).eval()
    legacy.load_state_dict(normalised.state_dict())  # same keys: the divisor is not saved
    with torch.no_grad():
        weight = legacy.backbone.conv1_1.conv.weight
        weight /= torch.tensor([50.0, 60.0, 70.0])[None, :, None, None]
    x = torch.randn(2, 3, 300, 300) * 60
    with torch.no_grad():
        a, b = normalised(x), legacy(x)
    assert torch.allclose(a[0], b[0], rtol=1e-4, atol=1e-4)
    assert torch.allclose(a[1], b[1], rtol=1e-4, atol=1e-4)
    fan_in_std = (2 / 27) ** 0.5  # Kaiming, 3 x 3 x 3 inputs: not divided by 60
    assert (
        0.5 * fan_in_std
        < float(normalised.backbone.conv1_1.conv.weight.detach().std())
        < 2 * fan_in_std
    )


def test_pretrained_backbone_refuses_a_scaled_input(tmp_path):
    with pytest.raises(ConfigError, match="input_std_bgr"):
        apply_overrides(
            reference_config(),
            ['model.backbone_weights="x.pth"', "model.input_std_bgr=[60, 60, 60]"],
        )
