"""The SSD300 network: VGG16 backbone, L2Norm on conv4_3, extra layers, heads.

Input ``(B, 3, 300, 300)``: BGR, 0-255, minus the mean (104, 117, 123); with
``model.input_std_bgr`` the network divides it by those per-channel values first.
Output ``loc (B, P, 4)`` (encoded offsets, see :func:`ssd_ref.modeling.box_utils.encode`)
and ``conf (B, P, C)`` (class logits, 0 = background), with ``P = 8732`` priors
in :func:`ssd_ref.modeling.priors.prior_boxes` order.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ssd_ref.config import ModelConfig, SSDConfig
from ssd_ref.modeling.priors import priors_per_location
from ssd_ref.modeling.vgg import ConvReLU, VGGBackbone, scaled

#: (name, output channels, kernel, stride, padding) of the extra layers (Caffe AddExtraLayers).
EXTRA_LAYERS: tuple[tuple[str, int, int, int, int], ...] = (
    ("conv6_1", 256, 1, 1, 0),
    ("conv6_2", 512, 3, 2, 1),
    ("conv7_1", 128, 1, 1, 0),
    ("conv7_2", 256, 3, 2, 1),
    ("conv8_1", 128, 1, 1, 0),
    ("conv8_2", 256, 3, 1, 0),
    ("conv9_1", 128, 1, 1, 0),
    ("conv9_2", 256, 3, 1, 0),
)


#: Rough per-channel standard deviation of mean-subtracted 0-255 images.
INPUT_STD = 60.0


class L2Norm(nn.Module):
    """Caffe Normalize (across_spatial=False, channel_shared=False): ``x / ||x||_c * scale_c``."""

    def __init__(self, channels: int, initial_scale: float, eps: float = 1e-10) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(initial_scale)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        norm = torch.sqrt(x32.pow(2).sum(dim=1, keepdim=True) + self.eps)
        return (x32 / norm * self.weight.float()[None, :, None, None]).to(x.dtype)


class ExtraLayers(nn.Module):
    """conv6_1 .. conv9_2; ``forward`` returns conv6_2, conv7_2, conv8_2, conv9_2 after ReLU."""

    def __init__(
        self, in_channels: int, width_mult: float, batch_norm: bool = False, min_channels: int = 4
    ) -> None:
        super().__init__()
        self.out_channels: list[int] = []
        for name, channels, kernel, stride, padding in EXTRA_LAYERS:
            out = scaled(channels, width_mult, min_channels)
            layer = ConvReLU(in_channels, out, kernel, stride, padding, batch_norm=batch_norm)
            setattr(self, name, layer)
            if name.endswith("_2"):
                self.out_channels.append(out)
            in_channels = out

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        sources = []
        for name, *_ in EXTRA_LAYERS:
            x = getattr(self, name)(x)
            if name.endswith("_2"):
                sources.append(x)
        return sources


class SSD300(nn.Module):
    """SSD300 with heads on conv4_3 (L2-normalised), fc7 and conv6_2 .. conv9_2."""

    def __init__(self, config: ModelConfig, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        # Not persistent: the divisor comes from the config, and checkpoints keep
        # the state-dict keys they had before the option existed.
        self.register_buffer(
            "input_std",
            None
            if config.input_std_bgr is None
            else torch.tensor(config.input_std_bgr, dtype=torch.float32).reshape(1, 3, 1, 1),
            persistent=False,
        )
        self.backbone = VGGBackbone(
            config.width_mult, config.batch_norm, config.min_channels, config.stem_crelu
        )
        self.l2norm = L2Norm(self.backbone.out_channels[0], config.l2norm_scale)
        self.extras = ExtraLayers(
            self.backbone.out_channels[1], config.width_mult, config.batch_norm, config.min_channels
        )
        source_channels = [*self.backbone.out_channels, *self.extras.out_channels]
        counts = priors_per_location(config)
        self.loc_heads = nn.ModuleList(
            nn.Conv2d(c, n * 4, 3, padding=1) for c, n in zip(source_channels, counts, strict=True)
        )
        self.conf_heads = nn.ModuleList(
            nn.Conv2d(c, n * num_classes, 3, padding=1)
            for c, n in zip(source_channels, counts, strict=True)
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.input_std is not None:
            images = images / self.input_std.to(images.dtype)
        conv4_3, fc7 = self.backbone(images)
        sources = [self.l2norm(conv4_3), fc7, *self.extras(fc7)]
        batch = images.shape[0]
        locs, confs = [], []
        for x, loc_head, conf_head in zip(sources, self.loc_heads, self.conf_heads, strict=True):
            locs.append(loc_head(x).permute(0, 2, 3, 1).reshape(batch, -1, 4))
            confs.append(conf_head(x).permute(0, 2, 3, 1).reshape(batch, -1, self.num_classes))
        return torch.cat(locs, dim=1), torch.cat(confs, dim=1)


def caffe_xavier_(weight: torch.Tensor) -> torch.Tensor:
    """Caffe's XavierFiller (variance_norm FAN_IN): uniform in ``+-sqrt(3 / fan_in)``."""
    fan_in = weight.shape[1] * math.prod(weight.shape[2:])
    bound = math.sqrt(3.0 / fan_in)
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def initialise(model: SSD300, config: ModelConfig) -> None:
    """Caffe init: xavier weights, zero biases for extras and heads; backbone as configured.

    With ``config.backbone_weights`` the backbone is loaded from that file (the
    Caffe set-up). Otherwise (training from scratch, not a Caffe set-up) it is
    initialised with ``backbone_init``; without ``input_std_bgr`` (the input in
    0-255 units) conv1_1 is then divided by :data:`INPUT_STD` so that
    activations start near unit scale. That start is the same as dividing the
    input, but not the training: conv1_1's gradient grows with the input's
    scale (60x) while its weights shrink (1/60x), so its updates relative to
    its weights are 3,600 times those of a network fed unit-scale input.
    """
    backbone_convs = [m for m in model.backbone.modules() if isinstance(m, nn.Conv2d)]
    other_convs = [
        m
        for part in (model.extras, model.loc_heads, model.conf_heads)
        for m in part.modules()
        if isinstance(m, nn.Conv2d)
    ]
    for conv in other_convs:
        caffe_xavier_(conv.weight)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
    if config.backbone_weights:  # ModelConfig checked width_mult, batch_norm, input_std_bgr
        from ssd_ref.weights import read_source_weights

        state = read_source_weights(config.backbone_weights, config.backbone_weights_preprocessing)
        model.backbone.load_state_dict(state)
        return
    for conv in backbone_convs:
        if config.backbone_init == "kaiming":
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
        elif config.backbone_init == "xavier":
            caffe_xavier_(conv.weight)
        else:
            raise ValueError(f"unknown backbone_init {config.backbone_init!r}")
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
    # The input is in 0-255 units (std about 60): scale conv1_1 so that a
    # from-scratch backbone starts with activations of order 1, not 100.
    if config.input_std_bgr is None:
        with torch.no_grad():
            model.backbone.conv1_1.conv.weight /= INPUT_STD


def build_model(config: SSDConfig, initialise_weights: bool = True) -> SSD300:
    """The network for ``config``; initialised (and the backbone loaded) unless told not to."""
    model = SSD300(config.model, config.num_classes)
    if initialise_weights:
        initialise(model, config.model)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
