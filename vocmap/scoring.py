"""Score every checkpoint of a training run: detect where needed, evaluate, store.

For each chosen step of a run folder (see :mod:`vocmap.runs`): if it has no
``detections/step_XXXXXX/`` yet, make them from ``checkpoints/step_XXXXXX.pt``
through ssd_ref's detection API (imported only then); evaluate them against the
annotations, parsed once; write ``eval/<settings>/step_XXXXXX.json``. Every output
appears atomically (a temporary name, then a rename), so an interrupted run leaves
finished steps finished and nothing half-written; running again continues.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path

from vocmap.annotations import GroundTruth
from vocmap.atomic import atomic_write_text
from vocmap.detections import read_detections
from vocmap.errors import InputError
from vocmap.evaluation import Evaluator
from vocmap.progress import Progress
from vocmap.runs import RunFolder, settings_key, step_name


@dataclass(frozen=True)
class ScoreSettings:
    """How to evaluate (and, where needed, detect)."""

    classes: tuple[str, ...] | None = None
    metric: str = "voc07"
    iou: float = 0.5
    semantics: str = "devkit"
    image_set: str = "test"
    voc_root: Path | None = None  # images for detection
    device: str | None = None

    @property
    def key(self) -> str:
        return settings_key(self.metric, self.iou, self.semantics)


def choose_steps(
    available: Sequence[int], steps: Sequence[int] | None = None, every: int | None = None
) -> list[int]:
    """The steps to score: ``steps`` if given (each must exist), else the multiples
    of ``every`` (the last step is always kept), else all."""
    available = sorted(available)
    if steps:
        missing = sorted(set(steps) - set(available))
        if missing:
            raise InputError(
                f"no checkpoint or detections for step(s) {', '.join(map(str, missing))}"
            )
        return sorted(set(steps))
    if every:
        chosen = [s for s in available if s % every == 0]
        if available and available[-1] not in chosen:
            chosen.append(available[-1])
        return chosen
    return available


def remove_stale_temporaries(run: RunFolder) -> None:
    """Delete temporary detection folders left by an interrupted run."""
    if not run.detections_dir.is_dir():
        return
    for path in run.detections_dir.glob(".step_*.tmp-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def detect_step(run: RunFolder, step: int, settings: ScoreSettings) -> Path:
    """Make ``detections/step_XXXXXX/`` from the step's checkpoint, atomically."""
    checkpoint = run.checkpoints().get(step)
    if checkpoint is None:
        raise InputError(f"step {step} has neither detections nor a checkpoint", run.root)
    if settings.voc_root is None:
        raise InputError("detecting needs the images: give --voc-root (or $VOC_ROOT)")
    from ssd_ref.inference import detect_checkpoint  # torch: imported only here

    final = run.detection_dir(step)
    temporary = run.detections_dir / f".{step_name(step)}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    detect_checkpoint(
        checkpoint,
        settings.voc_root,
        image_set=settings.image_set,
        out_dir=temporary,
        device=settings.device,
    )
    os.replace(temporary, final)
    return final


def evaluate_step(
    run: RunFolder, step: int, evaluator: Evaluator, settings: ScoreSettings
) -> float:
    """Evaluate one step's detections and write its result file; return the mAP."""
    started = time.perf_counter()
    detections = read_detections(
        run.detection_dir(step),
        evaluator.ground_truth,
        evaluator.classes,
        image_set=settings.image_set,
    )
    result = evaluator.evaluate(detections)
    data = result.to_dict(curves=True)
    data["step"] = step
    data["detections_dir"] = os.fspath(run.detection_dir(step))
    data["image_set"] = settings.image_set
    data["seconds"] = round(time.perf_counter() - started, 3)
    atomic_write_text(run.eval_path(step, settings.key), json.dumps(data) + "\n")
    return result.map


# Worker processes (--jobs): each builds its Evaluator once.
_WORKER: dict = {}


def _worker_init(ground_truth: GroundTruth, settings: ScoreSettings) -> None:
    _WORKER["evaluator"] = Evaluator(
        ground_truth,
        settings.classes,
        metric=settings.metric,
        iou=settings.iou,
        semantics=settings.semantics,
        threads=1,
    )
    _WORKER["settings"] = settings


def _worker_evaluate(root: str, step: int) -> tuple[int, float]:
    return step, evaluate_step(
        RunFolder(Path(root)), step, _WORKER["evaluator"], _WORKER["settings"]
    )


def score_run(
    run_dir: str | os.PathLike,
    ground_truth: GroundTruth,
    settings: ScoreSettings,
    *,
    steps: Sequence[int] | None = None,
    every: int | None = None,
    jobs: int = 1,
    progress: Progress | bool | None = True,
    detect: Callable[[RunFolder, int, ScoreSettings], Path] = detect_step,
) -> dict[int, float]:
    """Score the chosen steps that have no result yet; return ``{step: mAP}`` of those.

    Steps already evaluated under the same settings are skipped, so an
    interrupted run continues where it stopped.
    """
    run = RunFolder(Path(run_dir))
    if not run.root.is_dir():
        raise InputError("run folder not found", run.root)
    remove_stale_temporaries(run)
    chosen = choose_steps(run.steps(), steps, every)
    if not chosen:
        raise InputError("no checkpoints/step_*.pt and no detections/step_*/ found", run.root)
    done = run.evaluated(settings.key)
    todo = [s for s in chosen if s not in done]
    bar = None
    if progress:
        bar = progress if isinstance(progress, Progress) else Progress(len(todo), "score ")
    evaluator = Evaluator(
        ground_truth,
        settings.classes,
        metric=settings.metric,
        iou=settings.iou,
        semantics=settings.semantics,
    )
    scored: dict[int, float] = {}

    def finished(step: int, value: float) -> None:
        scored[step] = value
        if bar:
            bar.update(f"step {step} mAP {value:.4f}")

    def ensure_detections(step: int) -> None:
        if step not in run.detection_folders():
            if bar:
                bar.note(f"detecting step {step} ...")
            detect(run, step, settings)

    if jobs <= 1:
        for step in todo:
            ensure_detections(step)
            finished(step, evaluate_step(run, step, evaluator, settings))
        return scored
    import multiprocessing

    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(ground_truth, settings),
    ) as pool:
        pending = set()
        try:
            for step in todo:
                ensure_detections(step)  # in this process: torch uses its own threads
                pending.add(pool.submit(_worker_evaluate, os.fspath(run.root), step))
                ready, pending = wait(pending, timeout=0, return_when=FIRST_COMPLETED)
                for future in ready:
                    finished(*future.result())
            for future in as_completed(pending):
                finished(*future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return scored
