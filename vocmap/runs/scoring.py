"""Score every checkpoint of a training run: detect where needed, evaluate, store.

For each chosen step of a run folder (see :mod:`vocmap.runs`): if it has no
``detections/step_XXXXXX/`` yet, make them from ``checkpoints/step_XXXXXX.pt``
through ssd_ref's detection API (imported only then); evaluate them against the
annotations, parsed once; write ``eval/<settings>/step_XXXXXX.json``. Every output
appears atomically (a temporary name, then a rename), so an interrupted run leaves
finished steps finished and nothing half-written; running again continues.

A stored result is reused only if it is valid and was scored against the same
ground truth, image set, classes and settings (:mod:`vocmap.runs.stored`): an
invalid or truncated one is scored again; one scored against something else is
an error unless ``force`` (then it is replaced).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vocmap.core.atomic import atomic_write_text
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.settings import EvalSettings
from vocmap.io.read import read_detections
from vocmap.runs.contract import RunFolder, choose_steps, publish_folder, remove_stale_temporaries
from vocmap.runs.stored import CheckedResults, Provenance, read_result, result_provenance


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
    follow_symlinks: bool = False  # read checkpoints and detections linked from outside the run
    progress: bool = False  # ssd_ref's images/s and ETA while it detects

    @property
    def key(self) -> str:
        return self.evaluation.key


def check_inside_run(run: RunFolder, path: Path, what: str, settings: ScoreSettings) -> None:
    """Refuse ``path`` when it resolves outside the run folder (a symbolic link leading
    out, of the file or of a folder on its way), unless ``settings.follow_symlinks``:
    the policy of result files (:mod:`vocmap.io.files`)."""
    if settings.follow_symlinks:
        return
    base = os.path.realpath(run.root)
    target = os.path.realpath(path)
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise InputError(
            f"{what} is a symbolic link that leads outside the run folder; it is not "
            "followed (--follow-symlinks reads it)",
            path,
        )


def detect_step(run: RunFolder, step: int, settings: ScoreSettings) -> Path:
    """Make ``detections/step_XXXXXX/`` from the step's checkpoint, atomically.

    A checkpoint that cannot be read (empty, truncated, not a checkpoint) is an
    InputError naming it; the temporary folder is removed.
    """
    checkpoint = run.checkpoints().get(step)
    if checkpoint is None:
        raise InputError(f"step {step} has neither detections nor a checkpoint", run.root)
    check_inside_run(run, checkpoint, "checkpoint", settings)
    if settings.voc_root is None:
        raise InputError("detecting needs the images: give --voc-root (or $VOC_ROOT)")
    if checkpoint.stat().st_size == 0:
        raise InputError("empty checkpoint (0 bytes): nothing to make detections from", checkpoint)
    try:
        from ssd_ref.inference import detect_checkpoint  # torch: imported only here
    except ImportError as error:  # torch or OpenCV missing: a set-up matter, not a bug
        # ssd_ref says itself which of torch and OpenCV is missing (error.name is None).
        need = str(error) if error.name is None else f"ssd_ref needs {error.name}"
        raise InputError(
            f"making detections from checkpoints: {need}; or score a run whose "
            "detections/step_N/ folders already exist"
        ) from None

    final = run.detection_dir(step)
    with publish_folder(final) as temporary:
        try:
            detect_checkpoint(
                checkpoint,
                settings.voc_root,
                image_set=settings.image_set,
                out_dir=temporary,
                device=settings.device,
                progress=settings.progress,
            )
        except (VocmapError, KeyboardInterrupt):
            raise
        except Exception as error:
            if os.environ.get("VOCMAP_DEBUG"):
                raise
            first = (str(error).strip().splitlines() or [""])[0][:200]
            raise InputError(
                f"cannot make detections from this checkpoint ({type(error).__name__}"
                f"{': ' + first if first else ''}); is it truncated? (VOCMAP_DEBUG=1 shows "
                "the traceback)",
                checkpoint,
            ) from None
    return final


def evaluate_step(
    run: RunFolder,
    step: int,
    evaluator: Evaluator,
    settings: ScoreSettings,
    provenance: Provenance | None = None,
) -> float:
    """Evaluate one step's detections and write its result file; return the mAP."""
    started = time.perf_counter()
    check_inside_run(run, run.detection_dir(step), "detections folder", settings)
    detections = read_detections(
        run.detection_dir(step),
        evaluator.ground_truth,
        evaluator.classes,
        image_set=settings.image_set,
        follow_symlinks=settings.follow_symlinks,
    )
    result = evaluator.evaluate(detections)
    data = result.to_dict(curves=True)
    data["step"] = step
    data["detections_dir"] = os.fspath(run.detection_dir(step))
    data["image_set"] = settings.image_set
    data["seconds"] = round(time.perf_counter() - started, 3)
    if provenance is not None:
        data["provenance"] = provenance.to_dict()
    atomic_write_text(run.eval_path(step, settings.key), json.dumps(data) + "\n")
    return result.map


# Worker processes (--jobs): each builds its Evaluator once.
_WORKER: dict = {}


def _exit_with_parent() -> None:
    """In a worker: leave at once when the parent process dies (even by SIGKILL),
    instead of waiting forever for work that will never come."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    parent_pid = os.getppid()

    def watch() -> None:
        if sentinel is not None:
            from multiprocessing.connection import wait

            wait([sentinel])
        else:  # no sentinel: poll for being re-parented
            while os.getppid() == parent_pid:
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="vocmap-parent-watch", daemon=True).start()


def _worker_init(
    ground_truth: GroundTruth, settings: ScoreSettings, provenance: Provenance | None = None
) -> None:
    _exit_with_parent()
    _WORKER["evaluator"] = Evaluator(
        ground_truth, settings.classes, settings=settings.evaluation, threads=1
    )
    _WORKER["settings"] = settings
    _WORKER["provenance"] = provenance


def _worker_evaluate(root: str, step: int) -> tuple[int, float]:
    return step, evaluate_step(
        RunFolder(Path(root)),
        step,
        _WORKER["evaluator"],
        _WORKER["settings"],
        _WORKER["provenance"],
    )


def steps_to_score(
    run: RunFolder,
    chosen: Sequence[int],
    key: str,
    provenance: Provenance,
    force: bool = False,
    note: Callable[[str], None] | None = None,
    checked: CheckedResults | None = None,
) -> list[int]:
    """The chosen steps without a current result.

    A result that is invalid, or stored by an older vocmap without provenance, is
    scored again (with a note); one scored against other ground truth, image set,
    classes or settings is an InputError naming it, unless ``force``. ``checked``
    spares reading results unchanged since they were written or checked.
    """
    done = run.evaluated(key)
    checked = checked if checked is not None else CheckedResults(run.eval_dir(key))
    todo = []
    for step in chosen:
        path = done.get(step)
        if path is None or force:
            todo.append(step)
            continue
        known, stored = checked.provenance(path)
        if not known:
            try:
                stored = result_provenance(read_result(path, step))
            except InputError as error:
                if note:
                    note(f"{error}; scoring step {step} again")
                todo.append(step)
                continue
            if stored is not None:
                checked.record(path, stored)
        if stored is None:
            if note:
                note(f"{path}: stored without its ground-truth key (older vocmap); scoring again")
            todo.append(step)
        elif stored != provenance:
            raise InputError(
                f"scored against {provenance.difference(stored)}; "
                "give --force to score again and replace it",
                path,
            )
    return todo


def _refuse_several_processes() -> None:
    """Refuse to score under torchrun: every rank would publish the same folders and
    results. The detection itself is what to shard; scoring then runs once."""
    world = os.environ.get("WORLD_SIZE", "").strip()
    if world in ("", "0", "1"):
        return
    if not world.isdigit():
        raise VocmapError(
            f"WORLD_SIZE is {world!r}, not a number of processes: unset it to score "
            "in one process (vocmap score does not run under torchrun)"
        )
    raise VocmapError(
        "vocmap score runs in one process, not under torchrun (WORLD_SIZE > 1): make "
        "the detections with `torchrun ... -m ssd_ref detect --checkpoint "
        "RUN/checkpoints/step_N.pt --out RUN/detections/step_N ...`, then run "
        "`vocmap score RUN` once"
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
    force: bool = False,
    note: Callable[[str], None] | None = None,
) -> dict[int, float]:
    """Score the chosen steps that have no current result; return ``{step: mAP}`` of those.

    Steps whose stored result is valid and was scored against the same ground
    truth, image set, classes and settings are skipped, so an interrupted run
    continues where it stopped (:func:`steps_to_score`); ``force`` scores every
    chosen step again. ``progress(n_steps)`` makes the sink that hears about each
    step (the CLI's progress bar); ``note`` hears about results scored again.
    """
    run = RunFolder(Path(run_dir))
    if not run.root.is_dir():
        raise InputError("run folder not found", run.root)
    _refuse_several_processes()
    if jobs < 1:
        raise VocmapError(f"--jobs needs a positive number of processes, not {jobs}")
    remove_stale_temporaries(run.detections_dir)
    remove_stale_temporaries(run.eval_dir(settings.key))
    chosen = choose_steps(run.steps(), steps, every)
    if not chosen:
        raise InputError("no checkpoints/step_*.pt and no detections/step_*/ found", run.root)
    evaluator = Evaluator(ground_truth, settings.classes, settings=settings.evaluation)
    provenance = Provenance.of(
        ground_truth, settings.image_set, evaluator.classes, settings.evaluation
    )
    checked = CheckedResults(run.eval_dir(settings.key))
    todo = steps_to_score(run, chosen, settings.key, provenance, force, note, checked)
    bar = progress(len(todo)) if progress is not None else None
    scored: dict[int, float] = {}

    def finished(step: int, value: float) -> None:
        scored[step] = value
        checked.record(run.eval_path(step, settings.key), provenance)
        if bar:
            bar.update(f"step {step} mAP {value:.4f}")

    def ensure_detections(step: int) -> None:
        if step not in run.detection_folders():
            if bar:
                bar.note(f"detecting step {step} ...")
            detect(run, step, settings)

    try:
        if jobs <= 1:
            for step in todo:
                ensure_detections(step)
                finished(step, evaluate_step(run, step, evaluator, settings, provenance))
        else:
            _score_in_processes(
                run, ground_truth, settings, provenance, todo, jobs, ensure_detections, finished
            )
    finally:
        checked.save()
    return scored


def _score_in_processes(
    run: RunFolder,
    ground_truth: GroundTruth,
    settings: ScoreSettings,
    provenance: Provenance,
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
        initargs=(ground_truth, settings, provenance),
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
