"""The run-folder contract: what a training run's folder holds and how it is named.

One description for both packages (ssd_ref writes run folders, vocmap reads
them; any detector's run works)::

    RUN_DIR/
      config.json                      the trainer's resolved config (optional)
      history.csv                      HISTORY_COLUMNS, one row per logging step
      checkpoints/step_XXXXXX.pt       model checkpoints (optional)
      detections/step_XXXXXX/          devkit result files, one folder per step
      eval/<settings>/step_XXXXXX.json vocmap's result for that step (written by `score`)

A step's name is ``step_`` and its number with at least 6 digits
(:func:`step_name`); ``<settings>`` is :attr:`EvalSettings.key` (``voc07`` for
the official number), so results under different rules never mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vocmap.core.atomic import HOST_TAG, process_alive
from vocmap.core.atomic import remove_stale_temporaries as atomic_temporaries
from vocmap.core.errors import InputError, VocmapError
from vocmap.io.files import read_input_file

STEP_PATTERN = re.compile(r"^step_(\d{6,})$")
#: Anything that reads as a step but is not written the canonical way (``step_99``).
_STEP_LIKE = re.compile(r"^step_(\d+)$")
CHECKPOINT_SUFFIX = ".pt"

#: history.csv's columns, in order. ``loss`` and its parts are the mean over the
#: steps since the previous row whose loss was finite; ``lr`` is the weights'
#: learning rate of the row's last step; ``images_per_s`` counts all ranks'
#: images; ``skipped_steps`` is the running total of steps skipped for a
#: non-finite loss. Empty cells: not computed at that step.
HISTORY_COLUMNS: tuple[str, ...] = (
    "step",
    "loss",
    "loc_loss",
    "conf_loss",
    "lr",
    "images_per_s",
    "val_loss",
    "val_loc_loss",
    "val_conf_loss",
    "skipped_steps",
)


def step_name(step: int) -> str:
    """``step_000100``: ``step_`` and the step with at least 6 digits."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"a step is a non-negative integer, not {step!r}")
    return f"step_{step:06d}"


def parse_step_name(name: str) -> int | None:
    """The step of a canonical step name (``step_000100`` -> 100), else None.

    Only the form :func:`step_name` writes counts: ``step_99`` or
    ``step_0000100`` are not steps (they would be looked up under another name).
    """
    match = STEP_PATTERN.match(name)
    if match is None:
        return None
    step = int(match.group(1))
    return step if step_name(step) == name else None


@dataclass(frozen=True)
class RunFolder:
    """Paths inside one run folder."""

    root: Path

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def detections_dir(self) -> Path:
        return self.root / "detections"

    @property
    def history_path(self) -> Path:
        return self.root / "history.csv"

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    def eval_dir(self, settings_key: str = "voc07") -> Path:
        return self.root / "eval" / settings_key

    def eval_path(self, step: int, settings_key: str = "voc07") -> Path:
        return self.eval_dir(settings_key) / f"{step_name(step)}.json"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"{step_name(step)}{CHECKPOINT_SUFFIX}"

    def detection_dir(self, step: int) -> Path:
        return self.detections_dir / step_name(step)

    def checkpoints(self) -> dict[int, Path]:
        """Step to checkpoint file (``checkpoints/step_XXXXXX.pt``)."""
        return _by_step(
            self.checkpoints_dir, lambda p: p.is_file() and p.suffix == CHECKPOINT_SUFFIX
        )

    def detection_folders(self) -> dict[int, Path]:
        """Step to a finished detections folder (temporary ones are ignored)."""
        return _by_step(self.detections_dir, lambda p: p.is_dir())

    def evaluated(self, settings_key: str = "voc07") -> dict[int, Path]:
        """Step to its result file under ``settings_key``."""
        return _by_step(self.eval_dir(settings_key), lambda p: p.is_file() and p.suffix == ".json")

    def steps(self) -> list[int]:
        """Every step that has a checkpoint or detections."""
        return sorted(set(self.checkpoints()) | set(self.detection_folders()))


def _by_step(folder: Path, keep) -> dict[int, Path]:
    """``{step: path}`` of the entries of ``folder`` that ``keep`` accepts and are
    named ``step_XXXXXX``. A name like ``step_99`` is an error (it would be looked
    up as ``step_000099``); other names are not steps and are ignored."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        stem = path.stem if path.is_file() else path.name
        if not keep(path):
            continue
        step = parse_step_name(stem)
        if step is not None:
            found[step] = path
            continue
        odd = _STEP_LIKE.match(stem)
        if odd is not None:
            canonical = step_name(int(odd.group(1))) + path.name[len(stem) :]
            raise InputError(
                f"not a step name vocmap reads: rename it to {canonical} "
                "(step_ and at least 6 digits)",
                path,
            )
    return dict(sorted(found.items()))


def read_text(path: Path, what: str) -> str:
    """A text file's content (UTF-8, BOM allowed); InputError with the line of a bad byte."""
    data = read_input_file(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"not UTF-8 (byte 0x{data[error.start]:02x})", path, line) from None


def run_classes(run: RunFolder) -> list[str] | None:
    """The class list a run's config.json names (a list of strings under a key
    called "classes" or "class_names", at any depth), if any.

    A config.json that is not UTF-8 JSON (or nests too deeply to read) is an
    error: guessing the 20 VOC classes instead could score the wrong classes.
    """
    path = run.config_path
    if not path.is_file():
        return None
    hint = "fix it or give --classes"
    try:
        config = json.loads(read_text(path, "config file"))
    except InputError as error:
        raise InputError(f"{error.message}; {hint}", error.path, error.line) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg}); {hint}", path, error.lineno) from None
    except RecursionError:
        raise InputError("nested too deeply to read; give --classes", path) from None
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    key in ("classes", "class_names")
                    and isinstance(value, list)
                    and value
                    and all(isinstance(v, str) for v in value)
                ):
                    return [v for v in value if v not in ("background", "__background__")]
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return None


def choose_steps(
    available: Sequence[int],
    steps: Sequence[int] | None = None,
    every: int | None = None,
    what: str = "a checkpoint or detections",
) -> list[int]:
    """Steps out of ``available``: ``steps`` if given (each must exist), else the
    multiples of ``every`` (the last step is always kept), else all; increasing.

    ``what`` names what a missing step lacks, for the message.
    """
    available = sorted(available)
    if every is not None and (isinstance(every, bool) or every <= 0):
        raise VocmapError(f"--every needs a positive step count, not {every!r}")
    if steps:
        missing = sorted(set(steps) - set(available))
        if missing:
            raise VocmapError(f"no {what} for step(s) {', '.join(map(str, missing))}")
        return sorted(set(steps))
    if every:
        chosen = [s for s in available if s % every == 0]
        if available and available[-1] not in chosen:
            chosen.append(available[-1])
        return chosen
    return available


#: ``.<name>.tmp-<host>-<pid>`` (and the older ``.<name>.tmp-<pid>``).
_FOLDER_TEMPORARY = re.compile(r"^\..+\.tmp-(?:(?P<host>[0-9a-f]{8})-)?(?P<pid>\d+)$")


@contextlib.contextmanager
def publish_folder(final: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name beside ``final``; rename it into place
    when the body finishes (removed if it raises), so ``final`` appears whole.

    The temporary is ``.<name>.tmp-<host>-<pid>``; :func:`remove_stale_temporaries`
    deletes those left by a killed process.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.tmp-{HOST_TAG}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        yield temporary
        os.replace(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries in ``folder`` that a killed process left.

    Folders ``.<name>.tmp-<host>-<pid>`` (and the older ``.<name>.tmp-<pid>``) that
    belong to this user, were made on this host, and whose process is gone;
    files ``.<name>.<host>-<pid>-<random>.tmp`` of :mod:`vocmap.core.atomic` by
    the same rule. Nothing else is touched. Returns what was deleted.
    """
    folder = Path(folder)
    removed = atomic_temporaries(folder)
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = _FOLDER_TEMPORARY.match(path.name)
        if match is None or match["host"] not in (None, HOST_TAG):
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or process_alive(pid):
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def run_schedule(run: RunFolder) -> dict | None:
    """``{"batch_size", "milestones", "max_iter"}`` of the ``solver`` section of a run's
    config.json (ssd_ref's), or None where there is none or it has other shapes."""
    try:
        config = json.loads(read_text(run.config_path, "config file"))
        solver = config["solver"]
        schedule = {
            "batch_size": int(solver["batch_size"]),
            "milestones": tuple(int(m) for m in solver["milestones"]),
            "max_iter": int(solver["max_iter"]),
        }
    except (InputError, OSError, ValueError, TypeError, KeyError, RecursionError):
        return None
    return schedule
