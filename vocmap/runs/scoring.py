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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vocmap.core.atomic import atomic_write_text
from vocmap.core.errors import InputError
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.settings import EvalSettings
from vocmap.io.read import read_detections
from vocmap.runs.contract import RunFolder, choose_steps, publish_folder, remove_stale_temporaries


class ProgressSink(Protocol):
    """Where ``score_run`` reports: one ``update`` per finished step, ``note`` otherwise."""

    def update(self, message: str) -> None: ...

    def note(self, message: str) -> None: ...


@dataclass(frozen=True)
class ScoreSettings:
    """How to evaluate (and, where needed, detect)."""

    classes: tuple[str, ...] | None = None
    evaluation: EvalSettings = field(default_factory=EvalSettings)
    image_set: str = "test"
    voc_root: Path | None = None  # images for detection
    device: str | None = None

    @property
    def key(self) -> str:
        return self.evaluation.key


def detect_step(run: RunFolder, step: int, settings: ScoreSettings) -> Path:
    """Make ``detections/step_XXXXXX/`` from the step's checkpoint, atomically."""
    checkpoint = run.checkpoints().get(step)
    if checkpoint is None:
        raise InputError(f"step {step} has neither detections nor a checkpoint", run.root)
    if settings.voc_root is None:
        raise InputError("detecting needs the images: give --voc-root (or $VOC_ROOT)")
    from ssd_ref.inference import detect_checkpoint  # torch: imported only here

    final = run.detection_dir(step)
    with publish_folder(final) as temporary:
        detect_checkpoint(
            checkpoint,
            settings.voc_root,
            image_set=settings.image_set,
            out_dir=temporary,
            device=settings.device,
        )
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
        ground_truth, settings.classes, settings=settings.evaluation, threads=1
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
    progress: Callable[[int], ProgressSink] | None = None,
    detect: Callable[[RunFolder, int, ScoreSettings], Path] = detect_step,
) -> dict[int, float]:
    """Score the chosen steps that have no result yet; return ``{step: mAP}`` of those.

    Steps already evaluated under the same settings are skipped, so an
    interrupted run continues where it stopped. ``progress(n_steps)`` makes the
    sink that hears about each step (the CLI's progress bar).
    """
    run = RunFolder(Path(run_dir))
    if not run.root.is_dir():
        raise InputError("run folder not found", run.root)
    remove_stale_temporaries(run.detections_dir)
    chosen = choose_steps(run.steps(), steps, every)
    if not chosen:
        raise InputError("no checkpoints/step_*.pt and no detections/step_*/ found", run.root)
    done = run.evaluated(settings.key)
    todo = [s for s in chosen if s not in done]
    bar = progress(len(todo)) if progress is not None else None
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
        evaluator = Evaluator(ground_truth, settings.classes, settings=settings.evaluation)
        for step in todo:
            ensure_detections(step)
            finished(step, evaluate_step(run, step, evaluator, settings))
    else:
        _score_in_processes(run, ground_truth, settings, todo, jobs, ensure_detections, finished)
    return scored


def _score_in_processes(
    run: RunFolder,
    ground_truth: GroundTruth,
    settings: ScoreSettings,
    todo: Sequence[int],
    jobs: int,
    ensure_detections: Callable[[int], None],
    finished: Callable[[int, float], None],
) -> None:
    """Evaluate ``todo`` in ``jobs`` processes; detections are made here, in order
    (torch uses its own threads), and each step is handed on as soon as it has them."""
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
                ensure_detections(step)
                pending.add(pool.submit(_worker_evaluate, os.fspath(run.root), step))
                ready, pending = wait(pending, timeout=0, return_when=FIRST_COMPLETED)
                for future in ready:
                    finished(*future.result())
            for future in as_completed(pending):
                finished(*future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
