"""Bad input to ssd_ref is one line and exit 2: config values, overrides, checkpoints,
devices, torchrun variables, backbone weights, --voc-root shapes (issue 18 §1.6, §2;
issue 19 §1)."""

from __future__ import annotations

import dataclasses
import json
import os
import typing

import numpy as np
import pytest
import torch

from ssd_ref.cli import EXIT_USAGE, build_parser
from ssd_ref.cli import main as cli_main
from ssd_ref.config import (
    PRESETS,
    SSDConfig,
    apply_overrides,
    load_config,
    reference_config,
    saved_config,
    tiny_config,
)
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.engine.batches import resolve_device
from ssd_ref.errors import CheckpointError, ConfigError, DeviceError, EnvironmentSettingError
from ssd_ref.modeling.caffemodel import CaffeModelError, read_caffemodel, write_caffemodel
from ssd_ref.modeling.vgg import TORCHVISION_CONV_INDICES, VGGBackbone, conv_names
from ssd_ref.utils.checkpoint import RESUME_KEYS, load_checkpoint, save_checkpoint
from ssd_ref.utils.distributed import init_distributed
from ssd_ref.weights import (
    MISSING_WEIGHTS,
    REDUCED_VGG16_URL,
    WeightsError,
    backbone_for_new_run,
    convert_weights,
    sha256_of,
)


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the CLI, expect exit 2 and exactly one line on stderr; return it."""
    code = cli_main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ssd_ref: "), err
    assert "Traceback" not in err and not lines[0].startswith("ssd_ref: ssd_ref")
    return lines[0]


# --- config values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("solver.batch_size=0", "solver.batch_size"),
        ("solver.batch_size=-4", "solver.batch_size"),
        ("solver.max_iter=0", "solver.max_iter"),
        ("model.image_size=0", "model.image_size"),
        ("data.classes=[]", "data.classes"),
        ('data.classes=["cat", "cat"]', "data.classes"),
        ('data.classes=["a b"]', "data.classes"),
        ('data.classes=[""]', "data.classes"),
        ("solver.base_lr=NaN", "solver.base_lr"),
        ("solver.base_lr=Infinity", "solver.base_lr"),
        ("solver.base_lr=0", "solver.base_lr"),
        ("run.log_every=0", "run.log_every"),
        ("solver.gamma=-0.1", "solver.gamma"),
        ("solver.milestones=[100, 50]", "solver.milestones"),
        ("solver.momentum=1.5", "solver.momentum"),
        ("run.checkpoint_every=0", "run.checkpoint_every"),
        ("run.val_every=-1", "run.val_every"),
        ("run.seed=-1", "run.seed"),
        ("run.max_consecutive_nonfinite=0", "run.max_consecutive_nonfinite"),
        ("data.num_workers=-1", "data.num_workers"),
        ("data.val_max_images=0", "data.val_max_images"),
        ("data.train_sets=[]", "data.train_sets"),
        ('data.train_sets=[["..", "trainval"]]', "data.train_sets"),
        ('data.train_sets=[["VOC2007", "../../x"]]', "data.train_sets"),
        ('data.val_sets=[["VOC2007", ""]]', "data.val_sets"),
        ("augment.flip_prob=2", "augment.flip_prob"),
        ("augment.hue_delta=-1", "augment.hue_delta"),
        ("augment.contrast_lower=2", "augment.contrast_"),
        ("augment.max_expand_ratio=0.5", "augment.max_expand_ratio"),
        ('augment.samplers=[{"min_scale": 0}]', "augment.samplers[].min_scale"),
        ('augment.samplers=[{"max_trials": 0}]', "augment.samplers[].max_trials"),
        ("loss.overlap_threshold=0", "loss.overlap_threshold"),
        ("loss.neg_pos_ratio=-1", "loss.neg_pos_ratio"),
        ("detect.nms_threshold=1.5", "detect.nms_threshold"),
        ("detect.keep_top_k=0", "detect.keep_top_k"),
        ("model.variances=[0.1, 0.1, 0.2]", "model.variances"),
        ("model.steps=[8, 16]", "model.steps"),
        ("model.width_mult=0", "model.width_mult"),
        ('model.backbone_init="he"', "model.backbone_init"),
        ('model.backbone_weights_sha256="abc"', "model.backbone_weights_sha256"),
        ('model.backbone_weights=""', "model.backbone_weights"),
    ],
)
def test_config_values_are_range_checked(capsys, override, key):
    line = one_line_error(capsys, ["print-config", "tiny", "--override", override])
    assert key in line


def _numeric_keys() -> list[tuple[str, str, type]]:
    """Every int or float key of every section (not tuples, not optional)."""
    keys = []
    for section in dataclasses.fields(SSDConfig):
        hints = typing.get_type_hints(section.type if isinstance(section.type, type) else
                                      type(getattr(SSDConfig(), section.name)))  # fmt: skip
        for name, hint in hints.items():
            if hint in (int, float):
                keys.append((section.name, name, hint))
    return keys


@pytest.mark.parametrize(("section", "name", "kind"), _numeric_keys())
def test_every_numeric_key_refuses_nan_and_a_huge_negative(section, name, kind):
    """The whole schema is checked, not only the keys the issue named."""
    bad = ["-1000000000"] + (["NaN", "-Infinity"] if kind is float else [])
    for value in bad:
        with pytest.raises(ConfigError, match=f"{section}.{name}"):
            apply_overrides(reference_config(), [f"{section}.{name}={value}"])


def test_every_preset_passes_its_own_checks():
    for name, make in PRESETS.items():
        config = make()
        assert SSDConfig.from_dict(config.to_dict()) == config, name


def test_a_deeply_nested_override_or_config_file_is_one_line(capsys, tmp_path):
    nested = "[" * 5000 + "]" * 5000
    line = one_line_error(
        capsys, ["print-config", "tiny", "--override", f"solver.base_lr={nested}"]
    )
    assert "solver.base_lr" in line and len(line) < 200
    deep = tmp_path / "deep.json"
    deep.write_text('{"model": ' + "[" * 100_000 + "]" * 100_000 + "}")
    line = one_line_error(capsys, ["print-config", str(deep)])
    assert "nested too deeply" in line


def test_a_long_bad_value_is_cut_in_the_message():
    with pytest.raises(ConfigError) as error:
        apply_overrides(tiny_config(), ["solver.base_lr=" + json.dumps(["x" * 5000])])
    assert len(str(error.value)) < 200


def test_old_saved_configs_get_from_scratch_from_their_weights():
    data = tiny_config().to_dict()
    del data["model"]["from_scratch"]
    assert saved_config(data).model.from_scratch is True
    with pytest.raises(ConfigError, match="sections"):
        saved_config({"model": data["model"]})


# --- backbone weights: the refusal, --from-scratch, the SHA-256 in config.json -------


def test_the_reference_preset_refuses_to_start_without_weights(capsys, tmp_path):
    make_synthetic_voc(tmp_path / "data", num_trainval=2, num_test=2)
    line = one_line_error(capsys, ["train", "--config", "reference", "--voc-root",
                                   str(tmp_path / "data"), "--out", str(tmp_path / "run")])  # fmt: skip
    assert line == f"ssd_ref: {MISSING_WEIGHTS}"
    assert "vgg16_reducedfc.pth" in line and REDUCED_VGG16_URL in line
    assert "weights convert" in line and "--from-scratch" in line
    assert not (tmp_path / "run").exists()  # nothing written


def test_from_scratch_is_explicit_and_recorded():
    assert tiny_config().model.from_scratch and PRESETS["small"]().model.from_scratch
    assert not reference_config().model.from_scratch
    with pytest.raises(ConfigError, match=r"backbone_weights is not set"):
        backbone_for_new_run(reference_config())
    scratch = apply_overrides(reference_config(), ["model.from_scratch=true"])
    assert backbone_for_new_run(scratch) == scratch
    assert '"from_scratch": true' in scratch.to_json()
    with pytest.raises(ConfigError, match="choose one"):
        apply_overrides(scratch, ['model.backbone_weights="w.pth"'])


def test_from_scratch_option_conflicts_with_weights_in_one_line(capsys, tmp_path):
    line = one_line_error(capsys, ["train", "--config", "reference", "--from-scratch",
                                   "--override", 'model.backbone_weights="w.pth"',
                                   "--out", str(tmp_path / "r")])  # fmt: skip
    assert "choose one" in line


def test_weights_are_hashed_into_the_config_and_a_wrong_hash_refused(tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"not really weights")
    config = apply_overrides(reference_config(), [f'model.backbone_weights="{weights}"'])
    filled = backbone_for_new_run(config)
    assert filled.model.backbone_weights_sha256 == sha256_of(weights)
    assert filled.model.backbone_weights == str(weights.resolve())
    pinned = apply_overrides(config, [f'model.backbone_weights_sha256="{"0" * 64}"'])
    with pytest.raises(WeightsError, match="SHA-256"):
        backbone_for_new_run(pinned)
    missing = apply_overrides(reference_config(), ['model.backbone_weights="/nonexistent.pth"'])
    with pytest.raises(WeightsError, match="no such file"):
        backbone_for_new_run(missing)


def _reduced_vgg16(tmp_path) -> dict[str, torch.Tensor]:
    """ssd.pytorch's vgg16_reducedfc.pth layout at full shape, stored small: every
    tensor is one value expanded (torch.save keeps the one-element storage)."""
    shapes = {k: v.shape for k, v in VGGBackbone(1.0).state_dict().items()}
    state = {}
    for value, (name, index) in enumerate(
        zip([*conv_names(), "fc6", "fc7"], [*TORCHVISION_CONV_INDICES, 31, 33], strict=True)
    ):
        for part in ("weight", "bias"):
            shape = shapes[f"{name}.conv.{part}"]
            state[f"{index}.{part}"] = torch.full((1,), float(value)).expand(shape)
    return state


def test_weights_convert_turns_a_reduced_pth_into_the_backbone_file(capsys, tmp_path):
    source = tmp_path / "vgg16_reducedfc.pth"
    torch.save(_reduced_vgg16(tmp_path), source)
    assert source.stat().st_size < 100_000  # a small fabricated file of the right structure
    out = tmp_path / "vgg16_ssd.pth"
    assert cli_main(["weights", "convert", str(source), str(out)]) == 0
    printed = capsys.readouterr().out
    assert sha256_of(source) in printed and "no checksum is published" in printed
    saved = torch.load(out, weights_only=True)
    assert saved["source_sha256"] == sha256_of(source)
    backbone = VGGBackbone(1.0)
    backbone.load_state_dict(saved["state_dict"])  # strict: every key and shape
    assert float(backbone.fc7.conv.weight[0, 0, 0, 0].detach()) == 14.0
    # the trainer's model loads the converted file
    config = apply_overrides(reference_config(), [f'model.backbone_weights="{out}"'])
    from ssd_ref.modeling.ssd import build_model

    model = build_model(config)
    assert float(model.backbone.conv5_3.conv.bias[0].detach()) == 12.0
    # --sha256 pins the input
    line = one_line_error(capsys, ["weights", "convert", str(source), str(tmp_path / "x.pth"),
                                   "--sha256", "ab" * 32])  # fmt: skip
    assert "SHA-256" in line and not (tmp_path / "x.pth").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_bytes(b"garbage bytes"), "not a readable"),
        (lambda p: torch.save({"a": 1}, p), "not a state dict of tensors"),
        (lambda p: torch.save({"x": torch.zeros(2)}, p), "not VGG16 weights"),
        (lambda p: p.mkdir(), "not a regular file"),
    ],
)
def test_weights_convert_refuses_bad_files_in_one_line(capsys, tmp_path, make, message):
    source = tmp_path / "in.pth"
    make(source)
    line = one_line_error(capsys, ["weights", "convert", str(source), str(tmp_path / "o.pth")])
    assert message in line and not (tmp_path / "o.pth").exists()


def test_weights_convert_refuses_a_pickle_that_would_run_code(capsys, tmp_path):
    source = tmp_path / "evil.pth"
    torch.save({"0.weight": Exploit()}, source)
    line = one_line_error(capsys, ["weights", "convert", str(source), str(tmp_path / "o.pth")])
    assert "could run code" in line and not (tmp_path / "ran").exists()


def test_weights_convert_bad_options_are_one_line(capsys, tmp_path):
    source = tmp_path / "w.pth"
    source.write_bytes(b"x")
    assert "64 hex" in one_line_error(
        capsys, ["weights", "convert", str(source), str(tmp_path / "o"), "--sha256", "xyz"]
    )
    assert "must not be the input" in one_line_error(
        capsys, ["weights", "convert", str(source), str(source)]
    )


def test_a_caffemodel_reads_in_both_layer_formats(tmp_path):
    layers = {
        "conv1_1": [np.arange(6, dtype=np.float32).reshape(2, 1, 1, 3), np.ones(2, np.float32)],
        "relu": [],
        "fc": [np.full((3, 4), 0.5, np.float32)],
    }
    for v1 in (False, True):
        path = tmp_path / f"net{v1}.caffemodel"
        path.write_bytes(write_caffemodel(layers, v1=v1))
        read = read_caffemodel(path)
        assert list(read) == ["conv1_1", "fc"]
        assert np.array_equal(read["conv1_1"][0].reshape(2, 1, 1, 3), layers["conv1_1"][0])
        assert np.array_equal(read["fc"][0].reshape(3, 4), layers["fc"][0])
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(write_caffemodel(layers)[:-7])
    with pytest.raises(CaffeModelError):
        read_caffemodel(cut)
    other = tmp_path / "other.caffemodel"
    other.write_bytes(b"\x07" * 100)
    with pytest.raises(CaffeModelError):
        read_caffemodel(other)


def test_weights_convert_reads_the_fc_reduced_caffemodel(tmp_path):
    """Caffe's VGG_ILSVRC_16_layers_fc_reduced layout (fabricated values, zeros in
    the large blobs): every layer lands in the backbone, Caffe input kept."""
    shapes = {k: tuple(v.shape) for k, v in VGGBackbone(1.0).state_dict().items()}
    layers = {}
    for value, name in enumerate([*conv_names(), "fc6", "fc7"]):
        weight = np.zeros(shapes[f"{name}.conv.weight"], np.float32)
        weight.flat[0] = value
        layers[name] = [weight, np.full(shapes[f"{name}.conv.bias"], value, np.float32)]
    source = tmp_path / "VGG_ILSVRC_16_layers_fc_reduced.caffemodel"
    source.write_bytes(write_caffemodel(layers, v1=True))
    out = tmp_path / "b.pth"
    convert_weights(source, out)
    state = torch.load(out, weights_only=True)["state_dict"]
    assert float(state["fc6.conv.weight"][0, 0, 0, 0]) == 13.0
    assert float(state["conv1_1.conv.weight"][0, 0, 0, 0]) == 0.0
    assert float(state["conv2_1.conv.bias"][5]) == 2.0


# --- checkpoints --------------------------------------------------------------------


class Exploit:
    """Unpickling this would run code (touch a file); weights_only refuses it."""

    def __reduce__(self):
        return (os.system, ("touch ran",))


def _checkpoints(tmp_path):
    good = {"step": 1, "config": tiny_config().to_dict(), "model": {}}
    files = {
        "empty": (lambda p: p.write_bytes(b""), "empty checkpoint"),
        "garbage": (lambda p: p.write_bytes(b"\x80\x04garbage"), "not a readable checkpoint"),
        "text": (lambda p: p.write_text("hello"), "not a readable checkpoint"),
        "exploit": (lambda p: torch.save({"step": 1, "config": Exploit()}, p), "could run code"),
        "list": (lambda p: torch.save([1, 2], p), "not an ssd_ref checkpoint"),
        "noconfig": (lambda p: torch.save({"step": 1, "model": {}}, p), "no config"),
        "badconfig": (lambda p: torch.save({**good, "config": {"model": 1}}, p), "saved config"),
        "badstep": (lambda p: torch.save({**good, "step": -3}, p), "step"),
        "weights": (lambda p: torch.save(good, p), "do not fit"),
        "folder": (lambda p: p.mkdir(), "not a checkpoint file"),
    }
    return files


@pytest.mark.parametrize("kind", list(_checkpoints(None)))
def test_detect_refuses_a_bad_checkpoint_in_one_line(capsys, tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    make, message = _checkpoints(tmp_path)[kind]
    path = tmp_path / f"{kind}.pt"
    make(path)
    make_synthetic_voc(tmp_path / "data", num_trainval=1, num_test=1)
    line = one_line_error(capsys, ["detect", "--checkpoint", str(path), "--voc-root",
                                   str(tmp_path / "data"), "--out", str(tmp_path / "d")])  # fmt: skip
    assert message in line and str(path) in line
    assert not (tmp_path / "ran").exists() and not (tmp_path / "d").exists()


@pytest.mark.parametrize("kind", ["empty", "garbage", "exploit", "noconfig", "weights"])
def test_train_resume_refuses_a_bad_checkpoint_in_one_line(capsys, tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    make, message = _checkpoints(tmp_path)[kind]
    path = tmp_path / f"{kind}.pt"
    make(path)
    line = one_line_error(capsys, ["train", "--out", str(tmp_path / "r"), "--resume", str(path)])
    if kind in ("noconfig", "weights"):  # resuming needs the whole training state
        message = "not an ssd_ref checkpoint (no "
    assert message in line and not (tmp_path / "ran").exists()


def test_resume_needs_the_whole_training_state(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 1, "config": tiny_config().to_dict(), "model": {}})
    with pytest.raises(CheckpointError, match="optimizer"):
        load_checkpoint(path, required=RESUME_KEYS)
    assert load_checkpoint(path)["step"] == 1


# --- devices and torchrun variables ------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_one_line(capsys, tmp_path, device):
    make_synthetic_voc(tmp_path / "data", num_trainval=2, num_test=2)
    line = one_line_error(capsys, ["train", "--config", "tiny", "--voc-root",
                                   str(tmp_path / "data"), "--out", str(tmp_path / "r"),
                                   "--device", device])  # fmt: skip
    assert "CUDA is not available" in line and "--device cpu" in line


@pytest.mark.parametrize("device", ["tpu", "gpu0", "", "cuda:-1:2"])
def test_an_unknown_device_is_refused(device):
    with pytest.raises(DeviceError):
        resolve_device(device)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORLD_SIZE": "x"}, "WORLD_SIZE"),
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE"),
        ({"WORLD_SIZE": "1.5"}, "WORLD_SIZE"),
        ({"WORLD_SIZE": "2"}, "RANK is not set"),
        ({"WORLD_SIZE": "2", "RANK": "-1"}, "RANK"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "not below"),
        ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "y"}, "LOCAL_RANK"),
    ],
)
def test_malformed_torchrun_variables_are_one_line(monkeypatch, env, message):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(EnvironmentSettingError, match=message):
        init_distributed("cpu")


def test_a_malformed_world_size_is_one_line_from_the_cli(capsys, tmp_path, monkeypatch):
    make_synthetic_voc(tmp_path / "data", num_trainval=2, num_test=2)
    monkeypatch.setenv("WORLD_SIZE", "two")
    line = one_line_error(capsys, ["train", "--config", "tiny", "--voc-root",
                                   str(tmp_path / "data"), "--out", str(tmp_path / "r")])  # fmt: skip
    assert "WORLD_SIZE='two'" in line


# --- the CLI's own options ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["make-synthetic", "--out", "{tmp}/s", "--trainval", "0"], "--trainval"),
        (["make-synthetic", "--out", "{tmp}/s", "--test", "-1"], "--test"),
        (["make-synthetic", "--out", "{tmp}/s", "--seed", "-1"], "--seed"),
        (["make-synthetic", "--out", "{tmp}/s", "--folder", "a/b"], "--folder"),
        (["make-synthetic", "--out", "{tmp}/s", "--folder", ".."], "--folder"),
        (["make-synthetic", "--out", "{tmp}/s", "--folder", "x\x1b[2J"], "--folder"),
        (["train", "--config", "tiny", "--out", "{tmp}/r", "--stop-at", "0"], "--stop-at"),
        (["detect", "--checkpoint", "c.pt", "--voc-root", "{tmp}", "--batch-size", "0"],
         "--batch-size"),
        (["detect", "--checkpoint", "c.pt", "--voc-root", "{tmp}", "--set", "../x"], "--set"),
    ],
)  # fmt: skip
def test_option_values_are_checked_in_one_line(capsys, tmp_path, argv, message):
    line = one_line_error(capsys, [a.format(tmp=tmp_path) for a in argv])
    assert message in line and "\x1b" not in line
    assert not (tmp_path / "s").exists()


def test_help_is_plain_text_and_every_option_has_help():
    parser = build_parser()
    text = parser.format_help()
    assert "``" not in text
    subparsers = [
        a for a in parser._actions if isinstance(a, type(parser._subparsers._actions[-1]))
    ]
    pending = list(subparsers)
    while pending:
        action = pending.pop()
        for name, sub in action.choices.items():
            assert "``" not in sub.format_help(), name
            for option in sub._actions:
                if option.dest in ("help",):
                    continue
                if hasattr(option, "choices") and isinstance(option.choices, dict):
                    pending.append(option)
                    continue
                assert option.help, f"{name} {option.option_strings or option.dest}: no help"


# --- --voc-root: the year folder or the VOCdevkit folder -----------------------------


def test_train_takes_the_year_folder_or_the_devkit_folder(tmp_path):
    from ssd_ref.engine.trainer import _data_folder

    year = make_synthetic_voc(tmp_path / "devkit", num_trainval=2, num_test=2)
    config = tiny_config()
    for given in (tmp_path / "devkit", year):
        given_config = config.replace(data=dataclasses.replace(config.data, voc_root=str(given)))
        assert _data_folder(given_config).data.voc_root == str((tmp_path / "devkit").resolve())
    wrong = config.replace(data=dataclasses.replace(config.data, voc_root=str(tmp_path)))
    with pytest.raises(Exception, match="no year folder SYNTH") as error:
        _data_folder(wrong)
    assert f"{tmp_path / 'devkit'} holds them" in str(error.value)  # the folder it found


def test_cpu_threads_are_the_configs_and_restored(tmp_path):
    from ssd_ref.engine.batches import numeric_settings

    before = torch.get_num_threads()
    assert tiny_config().run.cpu_threads == 1
    run = apply_overrides(tiny_config(), ["run.cpu_threads=2"]).run
    with numeric_settings(run, torch.device("cpu")):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with numeric_settings(dataclasses.replace(run, cpu_threads=0), torch.device("cpu")):
        assert torch.get_num_threads() == before  # 0: torch's default, untouched
    with pytest.raises(ConfigError, match=r"run\.cpu_threads"):
        apply_overrides(tiny_config(), ["run.cpu_threads=-1"])
    old = tiny_config().to_dict()
    del old["run"]["cpu_threads"]
    assert saved_config(old).run.cpu_threads == 0  # old runs used torch's default


def test_load_config_names_the_presets(tmp_path):
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config(tmp_path / "nope.json")


def test_deterministic_is_the_configs_and_restored_without_loading_inductor():
    # In a fresh process: another test may have loaded torch._inductor already.
    probe = """
import sys, torch
from ssd_ref.config import apply_overrides, tiny_config
from ssd_ref.engine.batches import numeric_settings
run = apply_overrides(tiny_config(), ["run.deterministic=true"]).run
with numeric_settings(run, torch.device("cpu")):
    inside = torch.are_deterministic_algorithms_enabled()
print(inside, torch.are_deterministic_algorithms_enabled(), "torch._inductor.config" in sys.modules)
compiled = apply_overrides(tiny_config(), ["run.deterministic=true", "run.compile=true"]).run
with numeric_settings(compiled, torch.device("cpu")):
    import torch._inductor.config as inductor
    print(inductor.deterministic)
"""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False", "False", "True"]
