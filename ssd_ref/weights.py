"""ImageNet backbone weights: the published files, conversion, checksums, the refusal.

Nothing is downloaded. The user brings ssd.pytorch's ``vgg16_reducedfc.pth``
(Caffe's ``VGG_ILSVRC_16_layers_fc_reduced`` in PyTorch's layout, the weights
the Caffe SSD started from), Caffe's ``.caffemodel`` of it, or torchvision's
VGG16; :func:`convert_weights` writes the backbone state dict the trainer
loads, with the source file's SHA-256 in it. No checksum of these files is
published next to them, so none is compared: the SHA-256 is printed, stored in
the converted file, and every run records the SHA-256 of the file it started
from in ``config.json`` (``model.backbone_weights_sha256``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from ssd_ref.config import SSDConfig
from ssd_ref.errors import ConfigError, UserError

#: Where the reduced VGG16 that the Caffe SSD started from is published.
REDUCED_VGG16_URL = "https://s3.amazonaws.com/amdegroot-models/vgg16_reducedfc.pth"
#: Caffe's original (weiliu89's SSD README links it).
REDUCED_VGG16_CAFFE = "VGG_ILSVRC_16_layers_fc_reduced.caffemodel"

#: SHA-256 of published files, by file name. Neither ssd.pytorch nor lufficc/SSD
#: publishes one, so the table is empty and nothing is compared; a user who
#: knows the hash of their copy can pin it with ``--sha256``.
PUBLISHED_SHA256: dict[str, str] = {}

MISSING_WEIGHTS = (
    "model.backbone_weights is not set: this preset starts from the ImageNet VGG16 "
    f"fc_reduced weights. Get vgg16_reducedfc.pth ({REDUCED_VGG16_URL}), run "
    "`ssd_ref weights convert vgg16_reducedfc.pth vgg16_ssd.pth` and add "
    "--override 'model.backbone_weights=\"vgg16_ssd.pth\"'; to train from scratch "
    "instead, add --from-scratch (model.from_scratch=true)"
)


class WeightsError(UserError, ValueError):
    """A weights file that cannot be used (missing, unreadable, wrong checksum)."""


def sha256_of(path: str | os.PathLike) -> str:
    """The file's SHA-256, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _weights_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise WeightsError(
            f"{what} {path}: no such file (vgg16_reducedfc.pth is published at {REDUCED_VGG16_URL})"
        )
    if not path.is_file():
        raise WeightsError(f"{what} {path}: not a regular file")
    if path.stat().st_size == 0:
        raise WeightsError(f"{what} {path}: empty file (0 bytes)")
    return path


def backbone_for_new_run(config: SSDConfig) -> SSDConfig:
    """Refuse a new run without weights unless it trains from scratch on purpose;
    with weights, the config with the file's absolute path and SHA-256 filled in
    (a ``model.backbone_weights_sha256`` given beforehand must match)."""
    model = config.model
    if model.backbone_weights is None:
        if not model.from_scratch:
            raise ConfigError(MISSING_WEIGHTS)
        return config
    path = _weights_file(model.backbone_weights, "model.backbone_weights:")
    digest = sha256_of(path)
    if model.backbone_weights_sha256 not in (None, digest):
        raise WeightsError(
            f"model.backbone_weights {path}: SHA-256 {digest}, but the config expects "
            f"{model.backbone_weights_sha256} (another file?)"
        )
    return config.replace(
        model=dataclasses.replace(
            model, backbone_weights=str(path.resolve()), backbone_weights_sha256=digest
        )
    )


def read_source_weights(path: str | os.PathLike, preprocessing: str = "auto") -> dict:
    """A VGG16 weights file (``.pth`` state dict or ``.caffemodel``) -> the backbone's
    state dict (full width, fc6/fc7 reduced), refused in one line when unusable."""
    import torch

    from ssd_ref.modeling.vgg import convert_vgg16_state_dict
    from ssd_ref.utils.checkpoint import safe_load, unreadable_reason

    path = _weights_file(path, "weights file")
    if path.suffix == ".caffemodel":
        return _caffe_state(path, preprocessing)
    try:
        state = safe_load(path)
    except Exception as error:  # torch's unpickler raises many kinds on a bad file
        reason = unreadable_reason(error).replace("checkpoint", "weights file")
        raise WeightsError(f"{path}: {reason}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise WeightsError(f"{path}: not a state dict of tensors")
    try:
        return convert_vgg16_state_dict(state, preprocessing)
    except (KeyError, ValueError) as error:
        raise WeightsError(f"{path}: not VGG16 weights ({error})") from None


def _caffe_state(path: Path, preprocessing: str) -> dict:
    import torch

    from ssd_ref.modeling.caffemodel import read_caffemodel
    from ssd_ref.modeling.vgg import conv_names, convert_vgg16_state_dict, decimate_fc

    if preprocessing == "torchvision":
        raise WeightsError(f"{path}: a caffemodel expects Caffe's input; drop --preprocessing")
    layers = read_caffemodel(path)
    missing = [n for n in [*conv_names(), "fc6", "fc7"] if len(layers.get(n, ())) < 2]
    if missing:
        raise WeightsError(f"{path}: no weights and bias for the VGG16 layers {missing}")
    state = {}
    for name in conv_names():
        state[f"{name}.conv.weight"] = torch.from_numpy(layers[name][0].copy())
        state[f"{name}.conv.bias"] = torch.from_numpy(layers[name][1].reshape(-1).copy())
    fc = {n: [torch.from_numpy(b.copy()) for b in layers[n][:2]] for n in ("fc6", "fc7")}
    if fc["fc6"][0].numel() == 4096 * 25088:  # the full VGG16: reduce as Caffe's file was
        reduced = decimate_fc(
            fc["fc6"][0].reshape(4096, 25088), fc["fc6"][1].reshape(-1),
            fc["fc7"][0].reshape(4096, 4096), fc["fc7"][1].reshape(-1),
        )  # fmt: skip
        state.update(reduced)
    else:
        for name in ("fc6", "fc7"):
            state[f"{name}.conv.weight"] = fc[name][0]
            state[f"{name}.conv.bias"] = fc[name][1].reshape(-1)
    expected = {  # Caffe's blob shapes may be the legacy 4-D ones; the sizes decide
        "fc6.conv.weight": (1024, 512, 3, 3),
        "fc7.conv.weight": (1024, 1024, 1, 1),
    }
    for key, shape in expected.items():
        if state[key].numel() == int(torch.Size(shape).numel()):
            state[key] = state[key].reshape(shape)
    try:
        return convert_vgg16_state_dict(state, "caffe")
    except (KeyError, ValueError) as error:
        raise WeightsError(f"{path}: not VGG16 weights ({error})") from None


def convert_weights(
    source: str | os.PathLike,
    output: str | os.PathLike,
    preprocessing: str = "auto",
    expected_sha256: str | None = None,
) -> tuple[str, int]:
    """Convert ``source`` into the trainer's backbone file ``output`` (written
    atomically). Returns ``(source SHA-256, number of tensors)``; a source whose
    SHA-256 differs from ``expected_sha256`` (or from the published one, where one
    is known for its file name) is refused before anything is written."""
    from ssd_ref.utils.checkpoint import save_checkpoint

    source = _weights_file(source, "weights file")
    digest = sha256_of(source)
    expected = expected_sha256 or PUBLISHED_SHA256.get(source.name)
    if expected is not None and digest != expected.lower():
        raise WeightsError(f"{source}: SHA-256 {digest}, expected {expected.lower()}")
    state = read_source_weights(source, preprocessing)
    save_checkpoint(output, {"state_dict": state, "source_sha256": digest, "source": source.name})
    return digest, len(state)
