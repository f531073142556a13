"""Training end to end on CPU: learning, exact resume, non-finite steps, DDP, CLI, detection."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from trained_run import make_trained_run, trained_run_voc_root

import vocmap
from ssd_ref.cli import EXIT_NONFINITE
from ssd_ref.cli import main as cli_main
from ssd_ref.config import SSDConfig, apply_overrides, tiny_config
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.engine import step as step_module
from ssd_ref.engine.trainer import NonFiniteLossError, train
from ssd_ref.inference import detect_checkpoint
from ssd_ref.modeling.ssd import build_model
from ssd_ref.utils.checkpoint import list_checkpoints, load_checkpoint
from vocmap.runs.history import read_history_rows

HERE = Path(__file__).resolve().parent

#: The bar for the shared run's VOC07 mAP on its 100 held-out synthetic images.
#: The run is the ``small`` preset, 400 steps, data seed 0 and training seed 0:
#: 0.973 here on one torch thread, 0.908 on two; over 3 data x 5 training seeds
#: (ssd_ref/README.md) the lowest is 0.951 on one thread and 0.908 on two, the
#: lowest class AP 0.768 and 0.779. On another CPU, float differences act
#: like another training seed, so the bar sits well below the lowest run while an
#: untrained or broken pipeline scores 0.003-0.03 (``tiny``, the fragile preset,
#: scored 0.346-0.868 on the same seeds).
SYNTHETIC_MAP_BAR = 0.70
#: No class may be left behind (``tiny`` lost classes at AP 0.001-0.01).
SYNTHETIC_CLASS_AP_BAR = 0.40


@pytest.fixture(scope="module")
def small_voc(tmp_path_factory) -> Path:
    """A small synthetic set (24 trainval, 8 test) for short training runs."""
    root = tmp_path_factory.mktemp("small_voc")
    make_synthetic_voc(root, seed=3, num_trainval=24, num_test=8)
    return root


def short_config(voc_root: Path, *overrides: str) -> SSDConfig:
    """The tiny model for a handful of steps at batch 4, deterministic."""
    return apply_overrides(
        tiny_config(),
        [
            f"data.voc_root={json.dumps(str(voc_root))}",
            "solver.batch_size=4",
            "solver.max_iter=6",
            "solver.warmup_iters=2",
            "solver.milestones=[4]",
            "run.log_every=1",
            "run.checkpoint_every=3",
            "run.val_every=3",
            "data.val_max_images=4",
            "run.deterministic=true",
            *overrides,
        ],
    )


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        elif isinstance(a[key], dict):
            assert_same_state(a[key], b[key])
        else:
            assert a[key] == b[key], key


# --- learning ---------------------------------------------------------------------


@pytest.mark.slow
def test_small_preset_learns_every_class_of_the_synthetic_set(trained_run, tmp_path):
    rows = read_history_rows(trained_run / "history.csv")
    assert [int(r["step"]) for r in rows][-1] == 400
    losses = [float(r["loss"]) for r in rows]
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    val = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert len(val) == 4 and val[-1] < val[0]
    assert all(r["skipped_steps"] == "0" for r in rows)
    assert [s for s, _ in list_checkpoints(trained_run)] == [100, 200, 300, 400]

    config = SSDConfig.from_json((trained_run / "config.json").read_text())
    classes = list(config.data.classes)
    year = trained_run_voc_root(trained_run)
    out = detect_checkpoint(
        trained_run / "checkpoints" / "step_000400.pt", year, "test", out_dir=tmp_path / "dets"
    )
    gt = vocmap.read_voc(year, image_set="test")
    dets = vocmap.read_detections(out, gt, classes=classes)
    result = vocmap.Evaluator(gt, classes=classes).evaluate(dets)
    per_class = {c: result.classes[c].ap for c in classes}
    assert result.map >= SYNTHETIC_MAP_BAR, per_class
    assert min(per_class.values()) >= SYNTHETIC_CLASS_AP_BAR, per_class


# --- resume -----------------------------------------------------------------------


@pytest.mark.slow
def test_resume_gives_bit_identical_weights(small_voc, tmp_path):
    config = short_config(small_voc)
    straight = train(config, tmp_path / "straight")
    assert straight.step == 6

    with pytest.raises(ValueError, match="already holds checkpoints"):
        train(config, tmp_path / "straight")  # a fresh run never overwrites one

    # Half way in one process, the rest in a new process through the CLI; the
    # interrupted run also uses two data workers (the data must not depend on them).
    workers = apply_overrides(config, ["data.num_workers=2"])
    half = train(workers, tmp_path / "resumed", stop_at=3)
    assert half.last_checkpoint.name == "step_000003.pt"
    command = [sys.executable, "-m", "ssd_ref.cli", "train", "--out", str(tmp_path / "resumed"),
               "--resume", "--device", "cpu"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=300)

    a = load_checkpoint(tmp_path / "straight" / "checkpoints" / "step_000006.pt")
    b = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "step_000006.pt")
    assert_same_state(a["model"], b["model"])
    assert_same_state(a["optimizer"], b["optimizer"])
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 6
    assert a["sampler"]["next_step"] == b["sampler"]["next_step"] == 6
    # The log continues where it stopped, with the same losses and learning rates.
    rows_a = read_history_rows(tmp_path / "straight" / "history.csv")
    rows_b = read_history_rows(tmp_path / "resumed" / "history.csv")
    columns = ("step", "loss", "loc_loss", "conf_loss", "lr", "val_loss", "skipped_steps")
    assert [[r[c] for c in columns] for r in rows_a] == [[r[c] for c in columns] for r in rows_b]


@pytest.mark.slow
def test_sigterm_leaves_a_checkpoint_that_resumes_bit_identically(small_voc, tmp_path):
    # A long schedule (stopped early), history rows every 2 steps so that a stop at
    # an odd step leaves a logging interval open (it is carried in the checkpoint).
    config = short_config(small_voc, "solver.max_iter=500", "run.checkpoint_every=1000",
                          "run.val_every=0", "run.log_every=2")  # fmt: skip
    config_file = tmp_path / "config.json"
    config_file.write_text(apply_overrides(config, ["data.num_workers=1"]).to_json())
    run = tmp_path / "interrupted"
    # As Slurm does: SIGTERM to every process of the job (the loader worker too).
    command = [sys.executable, "-m", "ssd_ref.cli", "train", "--config", str(config_file),
               "--out", str(run), "--device", "cpu"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    history = run / "history.csv"
    while time.monotonic() < deadline and process.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 2:  # step 2 done
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, err[-2000:]
    last = err.strip().splitlines()[-1]
    match = re.fullmatch(r"ssd_ref: SIGTERM: stopped after step (\d+); checkpoint (\S+); "
                         r"resume with: ssd_ref train --out \S+ --resume", last)  # fmt: skip
    assert match, last
    stopped = int(match.group(1))
    assert (
        2 <= stopped < 500
        and Path(match.group(2)) == run / "checkpoints" / f"step_{stopped:06d}.pt"
    )
    assert [s for s, _ in list_checkpoints(run)] == [stopped]

    end = stopped + 3
    resume = [sys.executable, "-m", "ssd_ref.cli", "train", "--out", str(run), "--resume",
              "--device", "cpu", "--stop-at", str(end)]  # fmt: skip
    subprocess.run(resume, check=True, capture_output=True, timeout=300)
    train(config, tmp_path / "straight", stop_at=end)
    a = load_checkpoint(tmp_path / "straight" / "checkpoints" / f"step_{end:06d}.pt")
    b = load_checkpoint(run / "checkpoints" / f"step_{end:06d}.pt")
    assert_same_state(a["model"], b["model"])
    assert_same_state(a["optimizer"], b["optimizer"])
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == end
    rows_a = read_history_rows(tmp_path / "straight" / "history.csv")
    rows_b = read_history_rows(run / "history.csv")
    columns = ("step", "loss", "loc_loss", "conf_loss", "lr", "skipped_steps")
    assert [[r[c] for c in columns] for r in rows_a] == [[r[c] for c in columns] for r in rows_b]


# --- non-finite losses --------------------------------------------------------------


def poison_loss(monkeypatch, bad_calls: set[int]) -> None:
    """Make the training loss NaN on the given (1-based) training-step calls."""
    real = step_module.multibox_loss
    calls = {"n": 0}

    def loss(loc, conf, *args, **kwargs):
        sums = real(loc, conf, *args, **kwargs)
        if not torch.is_grad_enabled():  # validation
            return sums
        calls["n"] += 1
        if calls["n"] in bad_calls:
            return sums._replace(loc_sum=sums.loc_sum * float("nan"))
        return sums

    monkeypatch.setattr(step_module, "multibox_loss", loss)


@pytest.mark.slow
def test_nonfinite_steps_are_skipped_and_counted(small_voc, tmp_path, monkeypatch):
    poison_loss(monkeypatch, {2, 3})
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    config = short_config(small_voc, "run.max_consecutive_nonfinite=3",
                          f"run.tensorboard={json.dumps(tensorboard)}")  # fmt: skip
    result = train(config, tmp_path / "run")
    assert result.step == 6 and result.skipped_steps == 2
    rows = read_history_rows(tmp_path / "run" / "history.csv")
    assert [r["skipped_steps"] for r in rows] == ["0", "1", "2", "2", "2", "2"]
    assert rows[1]["loss"] == "nan" and rows[3]["loss"] != "nan"
    if tensorboard:  # the history's finite rows, as TensorBoard scalars
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
        events.Reload()
        logged = events.Scalars("train/loss")
        finite = [r for r in rows if r["loss"] != "nan"]
        assert [e.step for e in logged] == [int(r["step"]) for r in finite]
        assert [e.value for e in logged] == pytest.approx([float(r["loss"]) for r in finite])
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_000006.pt")["model"]
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


@pytest.mark.slow
def test_many_nonfinite_steps_stop_the_run_and_keep_the_last_good_checkpoint(
    small_voc, tmp_path, monkeypatch
):
    config = short_config(small_voc, "run.max_consecutive_nonfinite=3", "solver.max_iter=12")
    poison_loss(monkeypatch, set(range(5, 100)))
    with pytest.raises(NonFiniteLossError, match=r"3 consecutive.*step_000003\.pt"):
        train(config, tmp_path / "run")
    # Step 6 fell inside the bad streak: no checkpoint for it; step 3 is whole.
    assert [s for s, _ in list_checkpoints(tmp_path / "run")] == [3]
    good = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_000003.pt")
    assert good["step"] == 3
    rows = read_history_rows(tmp_path / "run" / "history.csv")
    assert rows[-1]["step"] == "7" and rows[-1]["skipped_steps"] == "3"

    # The CLI says so and exits non-zero.
    poison_loss(monkeypatch, set(range(1, 100)))
    code = cli_main(["train", "--config", "tiny", "--voc-root", str(small_voc),
                     "--out", str(tmp_path / "cli"), "--device", "cpu",
                     "--override", "solver.batch_size=2",
                     "--override", "run.max_consecutive_nonfinite=2"])  # fmt: skip
    assert code == EXIT_NONFINITE


# --- distributed ------------------------------------------------------------------


def run_ddp(config: SSDConfig, tmp_path: Path, name: str) -> dict[str, torch.Tensor]:
    """Train ``config`` with two gloo ranks; check they agree; return rank 0's state."""
    out = tmp_path / name
    out.mkdir()
    config_path = out / "config.json"
    config_path.write_text(config.to_json())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(HERE / "ddp_worker.py"), str(config_path), str(out / "run"), str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "rank0.txt").read_text() == (out / "rank1.txt").read_text()
    return torch.load(out / "rank0.pt", weights_only=True)


@pytest.mark.slow
def test_two_process_ddp_ranks_agree_after_steps(small_voc, tmp_path):
    config = short_config(small_voc, "solver.max_iter=3", "run.checkpoint_every=3")
    state = run_ddp(config, tmp_path, "ddp")  # (run_ddp compares the ranks' checksums)
    torch.manual_seed(config.run.seed)
    initial = build_model(config).state_dict()
    assert not torch.equal(
        state["backbone.conv1_1.conv.weight"], initial["backbone.conv1_1.conv.weight"]
    )
    saved = load_checkpoint(tmp_path / "ddp" / "run" / "checkpoints" / "step_000003.pt")
    assert_same_state(saved["model"], state)
    assert saved["world_size"] == 2
    rows = read_history_rows(tmp_path / "ddp" / "run" / "history.csv")
    assert [r["step"] for r in rows] == ["1", "2", "3"]


@pytest.mark.slow
def test_a_ddp_step_equals_a_one_process_step(small_voc, tmp_path):
    # Two ranks with 2 images each must update the weights as one process with
    # 4 does: the loss is divided by the positives of the whole global batch and
    # the gradients are averaged. (No BatchNorm here: its batch statistics are
    # per rank. One step: later steps amplify float rounding chaotically.)
    config = short_config(small_voc, "model.batch_norm=false", "solver.max_iter=1",
                          "solver.warmup_iters=0", "run.val_every=0")  # fmt: skip
    ddp = run_ddp(config, tmp_path, "ddp")
    single = train(config, tmp_path / "single").model.state_dict()
    torch.manual_seed(config.run.seed)
    initial = build_model(config).state_dict()
    for key, start in initial.items():
        ddp_update, single_update = ddp[key] - start, single[key] - start
        if single_update.norm() == 0:
            assert ddp_update.norm() == 0, key
            continue
        relative = (ddp_update - single_update).norm() / single_update.norm()
        assert relative < 1e-3, (key, float(relative))  # measured: at most 2e-5


# --- CLI and detection API --------------------------------------------------------


@pytest.mark.slow
def test_detect_cli_and_api_write_every_class_file_atomically(trained_run, tmp_path, capsys):
    run = make_trained_run(tmp_path)  # a private copy: detections go into it
    year = trained_run_voc_root(run)
    config = SSDConfig.from_json((run / "config.json").read_text())
    checkpoint = run / "checkpoints" / "step_000100.pt"

    out = detect_checkpoint(checkpoint, year, "test", device="cpu", batch_size=16)
    assert out == run / "detections" / "step_000100"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"comp4_det_test_{c}.txt" for c in config.data.classes)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left
    test_ids = set((year / "ImageSets" / "Main" / "test.txt").read_text().split())
    for path in out.iterdir():
        for line in path.read_text().splitlines():
            image_id, score, *box = line.split()
            assert image_id in test_ids and 0.01 <= float(score) <= 1
            x1, y1, x2, y2 = map(float, box)
            assert 1 <= x1 <= x2 and 1 <= y1 <= y2

    # The CLI only wraps the function: same files (with the same batch size: the
    # batch's shape may change the convolution's algorithm, so the last float).
    code = cli_main(["detect", "--checkpoint", str(checkpoint), "--voc-root", str(year.parent),
                     "--set", "test", "--out", str(tmp_path / "cli"), "--batch-size", "16"])  # fmt: skip
    assert code == 0 and capsys.readouterr().out.strip() == str(tmp_path / "cli")
    for path in out.iterdir():
        assert (tmp_path / "cli" / path.name).read_text() == path.read_text()

    # Into an existing folder, each file is replaced whole.
    (tmp_path / "cli" / "comp4_det_test_cat.txt").write_text("stale\n")
    detect_checkpoint(checkpoint, year, "test", out_dir=tmp_path / "cli", batch_size=16)
    assert (tmp_path / "cli" / "comp4_det_test_cat.txt").read_text() == (
        out / "comp4_det_test_cat.txt"
    ).read_text()


@pytest.mark.slow
def test_sharded_detect_on_two_gloo_processes_writes_the_bytes_of_one_process(
    trained_run, tmp_path
):
    year = trained_run_voc_root(trained_run)
    checkpoint = trained_run / "checkpoints" / "step_000400.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same threads in every process
    # 100 images in batches of 16: rank 0 takes batches 0, 2, 4, 6 (the last one partial).
    detect = ["-m", "ssd_ref.cli", "detect", "--checkpoint", str(checkpoint), "--voc-root",
              str(year), "--batch-size", "16", "--device", "cpu", "--quiet", "--out"]  # fmt: skip
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run([*torchrun, *detect, str(tmp_path / "sharded")], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(tmp_path / "sharded")  # printed by rank 0 only
    subprocess.run([sys.executable, *detect, str(tmp_path / "one")], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "sharded").iterdir()) and len(names) == 5
    for name in names:
        one = (tmp_path / "one" / name).read_bytes()
        assert (tmp_path / "sharded" / name).read_bytes() == one, name
    lines = b"".join((tmp_path / "one" / n).read_bytes() for n in names).decode().splitlines()
    assert len({line.split()[0] for line in lines}) > 50  # most test images have detections


def test_importing_the_inference_api_has_no_side_effects():
    code = (
        "import logging, torch, sys\n"
        "before = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(),"
        " list(logging.getLogger().handlers), logging.getLogger().level)\n"
        "import ssd_ref.inference as api\n"
        "after = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(),"
        " list(logging.getLogger().handlers), logging.getLogger().level)\n"
        "assert before == after, (before, after)\n"
        "assert callable(api.detect_checkpoint)\n"
        "import inspect\n"
        "params = list(inspect.signature(api.detect_checkpoint).parameters)\n"
        "assert params == ['checkpoint_path', 'voc_root', 'image_set', 'out_dir', 'device',"
        " 'batch_size', 'num_workers', 'box_convention', 'progress'], params\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=HERE.parents[1], timeout=120)


def test_cli_help_is_quick_and_lists_the_commands():
    done = subprocess.run(
        [sys.executable, "-m", "ssd_ref.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for command in ("train", "detect", "make-synthetic", "weights"):
        assert command in done.stdout
    # The CLI module imports torch only inside the commands.
    probe = "import sys, ssd_ref.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], timeout=60).returncode == 0
