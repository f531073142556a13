"""The VGG16 backbone of SSD300 and the conversion of ImageNet VGG16 weights to it.

Layers are named as in Caffe's ``VGG_ILSVRC_16_layers_fc_reduced``: conv1_1 ..
conv5_3, pool5 (3x3, stride 1, pad 1), fc6 (3x3 conv, dilation 6, 1024
channels), fc7 (1x1 conv, 1024 channels). pool3 rounds up (Caffe pooling), which
takes 75x75 to 38x38 for a 300x300 input.

The network input is Caffe's: BGR, 0-255, minus the mean (104, 117, 123).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import torch
from torch import nn

#: (block, number of convs, channels) of VGG16.
VGG16_BLOCKS: tuple[tuple[int, int, int], ...] = (
    (1, 2, 64),
    (2, 2, 128),
    (3, 3, 256),
    (4, 3, 512),
    (5, 3, 512),
)
FC_CHANNELS = 1024

#: torchvision ``vgg16().features`` indices of the 13 convolutions, in order.
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
#: ssd.pytorch / lufficc "vgg16_reducedfc.pth" indices of fc6 and fc7.
REDUCED_FC_INDICES = (31, 33)

#: ImageNet statistics of torchvision's models (RGB, for inputs in [0, 1]).
TORCHVISION_MEAN_RGB = (0.485, 0.456, 0.406)
TORCHVISION_STD_RGB = (0.229, 0.224, 0.225)


def scaled(channels: int, width_mult: float, min_channels: int = 4) -> int:
    """Channel count after the width multiplier (at least ``min_channels``)."""
    return max(min_channels, round(channels * width_mult))


def conv_names() -> list[str]:
    return [f"conv{block}_{i}" for block, count, _ in VGG16_BLOCKS for i in range(1, count + 1)]


class ConvReLU(nn.Module):
    """``relu(conv(x))``, or ``relu(bn(conv(x)))`` with ``batch_norm`` (not in Caffe's SSD;
    for training from scratch, see :class:`ssd_ref.config.ModelConfig`).

    ``crelu``: the concatenated ReLU ``[relu(z), relu(-z)]`` of ``z = conv(x)``
    with ``out_channels / 2`` filters (Shang et al. 2016), which passes every
    input on to one half or the other (``z = relu(z) - relu(-z)``): no input
    is ever zero in all channels, so none is cut off from the gradient. It is
    computed as one convolution with the tied filters ``[w, -w]`` (cheaper on a
    CPU than negating and concatenating the feature map); ``conv`` holds ``w``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        batch_norm: bool = False,
        crelu: bool = False,
    ) -> None:
        super().__init__()
        if crelu and (out_channels % 2 or batch_norm):
            raise ValueError(
                f"a CReLU layer needs an even channel count ({out_channels}) and no BatchNorm"
            )
        filters = out_channels // 2 if crelu else out_channels
        self.conv = nn.Conv2d(
            in_channels, filters, kernel, stride, padding, dilation, bias=not batch_norm
        )
        self.bn = nn.BatchNorm2d(filters) if batch_norm else None
        self.crelu = crelu
        #: Channels of the layer's output (twice ``conv``'s filters with CReLU).
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.crelu:
            conv = self.conv
            weight = torch.cat([conv.weight, -conv.weight])
            bias = None if conv.bias is None else torch.cat([conv.bias, -conv.bias])
            x = nn.functional.conv2d(
                x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups
            )
        else:
            x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return nn.functional.relu(x)


class VGGBackbone(nn.Module):
    """VGG16 up to fc7. ``forward`` returns (conv4_3 after ReLU, fc7 after ReLU).

    ``stem_crelu``: block 1 (conv1_1, conv1_2) with CReLU (see :class:`ConvReLU`).
    """

    def __init__(
        self,
        width_mult: float = 1.0,
        batch_norm: bool = False,
        min_channels: int = 4,
        stem_crelu: bool = False,
    ) -> None:
        super().__init__()
        in_channels = 3
        for block, count, channels in VGG16_BLOCKS:
            out = scaled(channels, width_mult, min_channels)
            for i in range(1, count + 1):
                # No BatchNorm on the full-resolution block 1: there it would cost a
                # third of a CPU step, and the input-scaled init keeps it at unit size.
                layer = ConvReLU(
                    in_channels,
                    out,
                    3,
                    padding=1,
                    batch_norm=batch_norm and block > 1,
                    crelu=stem_crelu and block == 1,
                )
                setattr(self, f"conv{block}_{i}", layer)
                in_channels = out
        fc = scaled(FC_CHANNELS, width_mult, min_channels)
        self.fc6 = ConvReLU(in_channels, fc, 3, padding=6, dilation=6, batch_norm=batch_norm)
        self.fc7 = ConvReLU(fc, fc, 1, batch_norm=batch_norm)
        self.out_channels = (scaled(512, width_mult, min_channels), fc)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        conv4_3 = x
        for block, count, _ in VGG16_BLOCKS:
            for i in range(1, count + 1):
                x = getattr(self, f"conv{block}_{i}")(x)
            if block == 4:
                conv4_3 = x
            if block < 5:
                x = nn.functional.max_pool2d(x, 2, 2, ceil_mode=True)
            else:
                x = nn.functional.max_pool2d(x, 3, 1, 1)
        x = self.fc6(x)
        x = self.fc7(x)
        return conv4_3, x


# --- ImageNet weights -------------------------------------------------------------


def decimate_fc(
    fc6_weight: torch.Tensor,
    fc6_bias: torch.Tensor,
    fc7_weight: torch.Tensor,
    fc7_bias: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Reduce VGG16's fully connected layers as Caffe's ``fc_reduced`` model was made.

    fc6 ``(4096, 25088)`` is viewed as ``(4096, 512, 7, 7)``; every 4th output and
    every 3rd spatial tap (rows/columns 0, 3, 6) are kept -> ``(1024, 512, 3, 3)``,
    used with dilation 6 so the taps keep their spacing on the pool5 grid.
    fc7 ``(4096, 4096)`` keeps every 4th output and input -> ``(1024, 1024, 1, 1)``.
    """
    w6 = fc6_weight.reshape(4096, 512, 7, 7)[0::4, :, 0::3, 0::3].contiguous()
    w7 = fc7_weight[0::4, 0::4].reshape(1024, 1024, 1, 1).contiguous()
    return {
        "fc6.conv.weight": w6,
        "fc6.conv.bias": fc6_bias[0::4].contiguous(),
        "fc7.conv.weight": w7,
        "fc7.conv.bias": fc7_bias[0::4].contiguous(),
    }


def fold_torchvision_preprocessing(
    weight: torch.Tensor, bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make conv1_1 trained on torchvision input accept ssd_ref's (Caffe) input.

    torchvision input: ``t = (rgb / 255 - mean) / std``; ssd_ref input:
    ``c = bgr - (104, 117, 123)``. Since ``rgb = flip(c) + (123, 117, 104)``, ``t``
    is affine in ``c`` per channel; the scale goes into the weights (with the
    channel order reversed) and the shift into the bias. Exact away from the
    image border; at the zero-padded border the two differ by the shift.
    """
    caffe_mean_rgb = torch.tensor([123.0, 117.0, 104.0], dtype=torch.float64)
    mean = torch.tensor(TORCHVISION_MEAN_RGB, dtype=torch.float64)
    std = torch.tensor(TORCHVISION_STD_RGB, dtype=torch.float64)
    w = weight.double()
    scale = 1.0 / (255.0 * std)  # per RGB channel
    shift = (caffe_mean_rgb / 255.0 - mean) / std  # t = scale * c_rgb + shift
    new_weight = (w * scale[None, :, None, None]).flip(1)  # RGB -> BGR input channels
    new_bias = bias.double() + (w * shift[None, :, None, None]).sum(dim=(1, 2, 3))
    return new_weight.to(weight.dtype), new_bias.to(bias.dtype)


def convert_vgg16_state_dict(
    state: dict[str, torch.Tensor], preprocessing: str = "auto"
) -> dict[str, torch.Tensor]:
    """ImageNet VGG16 weights -> a :class:`VGGBackbone` state dict (full width).

    Accepted layouts, detected from the keys:

    * torchvision ``vgg16`` (``features.N.*``, ``classifier.{0,3}.*``): fc6/fc7 are
      decimated by :func:`decimate_fc`;
    * already reduced, ssd.pytorch / lufficc ``vgg16_reducedfc.pth`` (``N.*`` with
      fc6 at 31 and fc7 at 33), or a state dict of this module (``conv1_1.*``).

    ``preprocessing`` says what input the weights were trained on: "torchvision"
    (RGB in [0, 1], normalised; folded into conv1_1) or "caffe" (BGR 0-255 minus
    the mean: the Caffe VGG16 and its ports, e.g. ``vgg16_reducedfc.pth`` or
    jcjohnson's ``vgg16-00b39a1b.pth``). "auto" means "torchvision" for the
    torchvision layout and "caffe" for the reduced layouts.
    """
    if preprocessing not in ("auto", "torchvision", "caffe"):
        raise ValueError(f"preprocessing must be auto, torchvision or caffe, not {preprocessing!r}")
    names = conv_names()
    state = {k.removeprefix("module."): v for k, v in state.items()}
    out: dict[str, torch.Tensor] = OrderedDict()
    torchvision_layout = "features.0.weight" in state
    if preprocessing == "auto":
        preprocessing = "torchvision" if torchvision_layout else "caffe"
    if torchvision_layout:
        for name, index in zip(names, TORCHVISION_CONV_INDICES, strict=True):
            out[f"{name}.conv.weight"] = state[f"features.{index}.weight"]
            out[f"{name}.conv.bias"] = state[f"features.{index}.bias"]
        out.update(
            decimate_fc(
                state["classifier.0.weight"],
                state["classifier.0.bias"],
                state["classifier.3.weight"],
                state["classifier.3.bias"],
            )
        )
    elif "0.weight" in state:
        for name, index in zip(names, TORCHVISION_CONV_INDICES, strict=True):
            out[f"{name}.conv.weight"] = state[f"{index}.weight"]
            out[f"{name}.conv.bias"] = state[f"{index}.bias"]
        for name, index in zip(("fc6", "fc7"), REDUCED_FC_INDICES, strict=True):
            out[f"{name}.conv.weight"] = state[f"{index}.weight"]
            out[f"{name}.conv.bias"] = state[f"{index}.bias"]
    elif "conv1_1.conv.weight" in state:
        out.update((k, state[k]) for k in VGGBackbone(1.0).state_dict())
    else:
        raise ValueError(f"unrecognised VGG16 state dict layout (keys: {list(state)[:4]} ...)")

    expected = VGGBackbone(1.0).state_dict()
    for key, tensor in expected.items():
        if out[key].shape != tensor.shape:
            raise ValueError(
                f"{key}: shape {tuple(out[key].shape)}, expected {tuple(tensor.shape)}"
            )
    if preprocessing == "torchvision":
        out["conv1_1.conv.weight"], out["conv1_1.conv.bias"] = fold_torchvision_preprocessing(
            out["conv1_1.conv.weight"], out["conv1_1.conv.bias"]
        )
    return {k: v.detach().clone().float().contiguous() for k, v in out.items()}


def load_vgg16_weights(
    path: str | os.PathLike, preprocessing: str = "auto"
) -> dict[str, torch.Tensor]:
    """Read a local VGG16 state dict (``torch.load``) and convert it for :class:`VGGBackbone`."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return convert_vgg16_state_dict(state, preprocessing)
