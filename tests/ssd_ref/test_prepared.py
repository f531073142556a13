"""The prepared image cache (resumable, refused when stale or partial) and the batched loader."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from ssd_ref.config import tiny_config
from ssd_ref.data.batched_loader import BatchedLoader
from ssd_ref.data.prepared import MANIFEST, open_prepared, prepare
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.data.voc import VocDataset
from ssd_ref.errors import ConfigError
from ssd_ref.modeling.priors import prior_boxes

SETS = (("SYNTH", "trainval"),)


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("voc")
    make_synthetic_voc(root, seed=0, num_trainval=8, num_test=2, size_range=(60, 90))
    return root


def dataset(root) -> VocDataset:
    return VocDataset(root, SETS, tiny_config().data.classes)


class Stop(Exception):
    pass


def test_cache_holds_every_image_and_annotation(voc_root, tmp_path):
    voc = dataset(voc_root)
    decoded, total = prepare(voc, SETS, tmp_path / "cache")
    assert (decoded, total) == (8, 8)
    cache = open_prepared(tmp_path / "cache", voc, SETS)
    assert len(cache) == 8
    for i in range(8):
        assert np.array_equal(cache.image(i), voc.image(i))
        a, b = cache.annotation(i), voc.annotation(i)
        assert a.image_id == b.image_id and (a.width, a.height) == (b.width, b.height)
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.labels, b.labels)
        assert np.array_equal(a.difficult, b.difficult)
    assert prepare(voc, SETS, tmp_path / "cache") == (0, 8)  # up to date: nothing to do


def test_an_interrupted_prepare_is_refused_then_resumed(voc_root, tmp_path):
    voc = dataset(voc_root)

    def interrupt(done, total):
        if done == 3:
            raise Stop

    with pytest.raises(Stop):
        prepare(voc, SETS, tmp_path / "cache", progress=interrupt)
    with pytest.raises(ConfigError, match=r"manifest.json: partial image cache \(3 of 8 images\)"):
        open_prepared(tmp_path / "cache", voc, SETS)
    seen = []
    assert prepare(voc, SETS, tmp_path / "cache", progress=lambda d, t: seen.append(d)) == (5, 8)
    assert seen == [4, 5, 6, 7, 8]
    cache = open_prepared(tmp_path / "cache", voc, SETS)
    assert all(np.array_equal(cache.image(i), voc.image(i)) for i in range(8))


def test_a_changed_annotation_makes_the_cache_stale(voc_root, tmp_path):
    voc = dataset(voc_root)
    prepare(voc, SETS, tmp_path / "cache")
    xml = voc_root / "SYNTH" / "Annotations" / f"{voc.annotation(2).image_id}.xml"
    info = xml.stat()
    os.utime(xml, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    try:
        with pytest.raises(ConfigError, match=r"manifest\.json: stale image cache"):
            open_prepared(tmp_path / "cache", dataset(voc_root), SETS)
        assert prepare(dataset(voc_root), SETS, tmp_path / "cache") == (8, 8)  # starts again
    finally:
        os.utime(xml, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_bad_caches_are_one_line_naming_them(voc_root, tmp_path):
    voc = dataset(voc_root)
    with pytest.raises(ConfigError, match="no prepared image cache here"):
        open_prepared(tmp_path / "nothing", voc, SETS)
    prepare(voc, SETS, tmp_path / "cache")
    with open(tmp_path / "cache" / "images.u8", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ConfigError, match=r"images\.u8: not the size its manifest says"):
        open_prepared(tmp_path / "cache", voc, SETS)
    (tmp_path / "cache" / MANIFEST).write_text("{not json")
    with pytest.raises(ConfigError, match=r"manifest\.json: not an image-cache manifest") as info:
        open_prepared(tmp_path / "cache", voc, SETS)
    assert "\n" not in str(info.value)


def test_an_image_of_another_size_than_its_annotation_is_named(tmp_path):
    import cv2

    root = tmp_path / "voc"
    year = make_synthetic_voc(root, seed=1, num_trainval=3, num_test=0, size_range=(40, 50))
    path = year / "JPEGImages" / "000002.jpg"
    cv2.imwrite(str(path), np.zeros((7, 9, 3), np.uint8))
    with pytest.raises(ConfigError, match=r"000002.jpg: the image is 9x7, its annotation"):
        prepare(dataset(root), SETS, tmp_path / "cache")


def loader_batches(source, config, start, stop, workers=0):
    sampler = StepBatchSampler(len(source), 4, config.run.seed, start, stop)
    loader = BatchedLoader(
        source, config, prior_boxes(config.model), sampler, torch.device("cpu"), workers
    )
    return list(loader)


def test_batched_loader_batches_are_a_function_of_the_step(voc_root, tmp_path):
    config = tiny_config()
    voc = dataset(voc_root)
    prepare(voc, SETS, tmp_path / "cache")
    cache = open_prepared(tmp_path / "cache", voc, SETS)
    from_cache = loader_batches(cache, config, 0, 3)
    from_jpegs = loader_batches(voc, config, 0, 3)
    resumed = loader_batches(cache, config, 2, 3)
    in_a_worker = loader_batches(cache, config, 0, 2, workers=1)
    assert len(from_cache) == 3
    images, loc_target, labels = from_cache[0]
    assert images.shape == (4, 300, 300, 3) and images.dtype == torch.uint8
    assert loc_target.shape == (4, 8732, 4) and labels.shape == (4, 8732)
    assert int((labels > 0).sum()) > 0
    for a, b in zip(from_cache, from_jpegs, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(torch.equal(x, y) for x, y in zip(resumed[0], from_cache[2], strict=True))
    for a, b in zip(in_a_worker, from_cache[:2], strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(from_cache[0][0], from_cache[1][0])


@pytest.mark.slow
def test_training_with_the_batched_pipeline_and_map_every_two_steps(voc_root, tmp_path):
    from ssd_ref.config import apply_overrides
    from ssd_ref.engine.trainer import train
    from vocmap.runs.stored import read_result

    make_synthetic_voc(voc_root, seed=0, num_trainval=8, num_test=2, size_range=(60, 90))
    voc = dataset(voc_root)
    prepare(voc, SETS, tmp_path / "cache")
    config = apply_overrides(tiny_config(), [
        "solver.max_iter=4", "solver.batch_size=2", "solver.warmup_iters=0",
        "solver.milestones=[3]", "run.val_every=0", "run.eval_every=2", "run.log_every=2",
        "run.checkpoint_every=4", "data.pipeline=\"batched\"", "detect.top_k=10",
        "detect.keep_top_k=10", f"data.prepared=\"{tmp_path / 'cache'}\"",
        f"data.voc_root=\"{voc_root}\"",
    ])  # fmt: skip
    result = train(config, tmp_path / "run", device="cpu")
    assert result.step == 4
    for step in (2, 4):
        stored = read_result(tmp_path / "run" / "eval" / "voc07" / f"step_{step:06d}.json", step)
        assert stored["provenance"]["image_set"] == "test"
    assert (tmp_path / "run" / "detections" / "step_000002").is_dir()


def run_cli(*argv):
    import contextlib
    import io
    import types

    from ssd_ref.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_prepare_and_eval_every_bad_input_is_one_line(voc_root, tmp_path):
    (tmp_path / "file").write_text("x")
    cases = [
        (["prepare", "--config", "tiny", "--voc-root", str(voc_root), "--out",
          str(tmp_path / "file")], "a file, not a folder"),
        (["prepare", "--config", "tiny", "--voc-root", str(tmp_path / "none"), "--out",
          str(tmp_path / "c")], "none"),
        (["prepare", "--config", "nope", "--voc-root", str(voc_root), "--out",
          str(tmp_path / "c")], "neither a preset"),
        (["train", "--config", "tiny", "--voc-root", str(voc_root), "--out",
          str(tmp_path / "r"), "--eval-every", "401"], "more than the run's 400 steps"),
        (["train", "--config", "tiny", "--voc-root", str(voc_root), "--out",
          str(tmp_path / "r"), "--eval-every", "-1"], "--eval-every needs a step count >= 0"),
        (["train", "--config", "tiny", "--voc-root", str(voc_root), "--out", str(tmp_path / "r"),
          "--override", "data.pipeline=\"gpu\""], "data.pipeline must be one of"),
        (["train", "--config", "tiny", "--voc-root", str(voc_root), "--out", str(tmp_path / "r"),
          "--override", "data.pipeline=\"batched\"", "--override",
          f"data.prepared=\"{tmp_path / 'missing'}\""], "no prepared image cache here"),
    ]  # fmt: skip
    for argv, expected in cases:
        run = run_cli(*argv)
        assert run.returncode == 2, (argv, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (argv, run.stderr)
    prepared = run_cli("prepare", "--config", "tiny", "--voc-root", str(voc_root), "--out",
                       str(tmp_path / "c"), "--quiet")  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    assert "8 images ready (8 decoded now)" in prepared.stdout


def test_batch_targets_equal_build_targets_image_by_image():
    from ssd_ref.data.batched_loader import batch_targets
    from ssd_ref.modeling.box_utils import build_targets

    config = tiny_config()
    priors = prior_boxes(config.model)
    rng = np.random.default_rng(0)
    boxes, labels = [], []
    for n in (0, 1, 3, 7, 2, 0, 5):
        c, s = rng.uniform(0.1, 0.9, (n, 2)), rng.uniform(0.02, 0.7, (n, 2))
        b = np.clip(np.concatenate([c - s / 2, c + s / 2], 1), 0, 1).astype(np.float32)
        if n >= 3:
            b[1] = b[0]  # two equal boxes: the tie rule
        boxes.append(torch.from_numpy(b))
        labels.append(torch.from_numpy(rng.integers(0, 5, n)))
    loc, lab = batch_targets(boxes, labels, priors, config, "cpu")
    for i, (b, la) in enumerate(zip(boxes, labels, strict=True)):
        one_loc, one_lab = build_targets(b, la, priors, config.model.variances,
                                         config.loss.overlap_threshold, config.loss.neg_overlap)  # fmt: skip
        assert torch.equal(lab[i], one_lab), i
        assert torch.equal(loc[i], one_loc), i


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("run.eval_every=-1", "run.eval_every must be >= 0"),
        ('data.prepared=""', "data.prepared must be a folder or null"),
        ('data.pipeline="gpu"', "data.pipeline must be one of ['cpu', 'batched']"),
        ("data.pipeline=1", "expected a string"),
        ("data.num_workers=-2", "data.num_workers must be >= 0 or null"),
    ],
)
def test_the_new_config_keys_refuse_bad_values_in_one_line(override, message):
    from ssd_ref.config import apply_overrides

    with pytest.raises(ConfigError) as info:
        apply_overrides(tiny_config(), [override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_new_keys_defaults_and_old_runs():
    from ssd_ref.config import reference_config, saved_config

    reference = reference_config()
    assert reference.run.eval_every == 10_000 and reference.data.pipeline == "cpu"
    assert reference.data.num_workers is None and tiny_config().run.eval_every == 0
    old = reference.to_dict()
    del old["run"]["eval_every"], old["data"]["pipeline"], old["data"]["prepared"]
    restored = saved_config(old)  # a run saved before these keys: no mAP, the cpu pipeline
    assert restored.run.eval_every == 0 and restored.data.pipeline == "cpu"


def test_eval_every_zero_says_so_in_one_line(capsys):
    import argparse

    from ssd_ref.cli import _eval_every

    assert _eval_every(argparse.Namespace(eval_every=0), tiny_config()) == 0
    assert capsys.readouterr().out.strip() == "ssd_ref: --eval-every 0: no mAP during training"
    assert _eval_every(argparse.Namespace(eval_every=400), tiny_config()) == 400  # the last step
    assert capsys.readouterr().out == ""
