"""``vocmap report``: one self-contained HTML file of a result, a diagnosis or a run.

The page holds everything it shows: tables as HTML, figures as PNG ``data:`` URIs
(:mod:`vocmap.report.html_figures`), styles inline, no script. Its
Content-Security-Policy (``default-src 'none'``) makes a browser refuse any
request, so opening it never touches the network. Every text from the inputs
(class names, image ids, labels) is HTML-escaped.

Inputs, told apart by content: a result JSON (``vocmap evaluate --json``, or a
run's ``eval/<key>/step_N.json``; with ``"ci"`` when the bootstrap stored
intervals), a diagnosis JSON (``vocmap diagnose --format json``, which embeds
its result), or a run folder (AP over steps, loss history, the last step's result).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from vocmap.core.atomic import atomic_write_text
from vocmap.core.errors import InputError
from vocmap.io.files import read_input_file
from vocmap.report import html_sections as sections
from vocmap.report.html_thumbnails import GALLERY_STYLE

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class ReportInputs:
    """What a report shows; any part may be missing."""

    label: str
    result: dict | None = None
    diagnosis: dict | None = None
    run_table: object | None = None  # runs.tables.APTable
    history: dict | None = None
    step: int | None = None
    best: object | None = None  # analysis.best_checkpoint.BestCheckpoint
    images: Path | None = None  # the images the top errors are drawn on (JPEGImages)
    result_path: Path | None = None  # the files the result and the diagnosis came from
    diagnosis_path: Path | None = None


#: Exceptions that a section raises on an input of the wrong shape or type.
_MALFORMED = (
    sections.MalformedField,
    KeyError,
    TypeError,
    ValueError,
    IndexError,
    AttributeError,
    ZeroDivisionError,
)


def _read_json(path: Path, what: str) -> dict:
    """The JSON object in the regular file ``path`` (a FIFO, a device or a folder is
    refused at once: :func:`vocmap.io.files.read_input_file`)."""
    raw = read_input_file(path, what)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise InputError(f"not UTF-8 (byte 0x{raw[error.start]:02x})", path, line) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg})", path, error.lineno) from None
    except RecursionError:
        raise InputError("nested too deeply to read", path) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path)
    return data


def _check_result(data: dict, path: Path) -> dict:
    classes = data.get("classes")
    if not isinstance(classes, dict) or "map" not in data:
        raise InputError("not a vocmap result (no 'classes' and 'map')", path)
    if not _is_number_or_null(data["map"]):
        raise InputError(f"'map' must be a number or null, not {data['map']!r:.40}", path)
    for name, entry in classes.items():
        if not isinstance(entry, dict) or not _is_number_or_null(entry.get("ap")):
            raise InputError(f"class {name!r} has no AP", path)
        for key in _COUNTS:
            value = entry.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise InputError(
                    f"class {name!r}: {key!r} must be a whole number, not {value!r:.40}", path
                )
    ci = data.get("ci")
    if ci is not None:
        ok = isinstance(ci, dict) and isinstance(ci.get("classes", {}), dict)
        intervals = [ci.get("map"), *list(ci.get("classes", {}).values())] if ok else []
        for value in intervals:
            if value is not None and not (
                isinstance(value, list) and len(value) == 2 and all(map(_is_number_or_null, value))
            ):
                ok = False
        if not ok:
            raise InputError(
                "'ci' must be {level, resamples, seed, method, classes: {class: [lo, hi]}, "
                "map: [lo, hi]}",
                path,
            )
    return data


#: The per-class counts of a result (whole numbers >= 0 where present).
_COUNTS = ("npos", "detections", "tp", "fp", "ignored")


def _is_number_or_null(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def load_report_inputs(
    source: str | os.PathLike, diagnosis: str | os.PathLike | None = None
) -> ReportInputs:
    """Read a result/diagnosis JSON or a run folder (and an extra diagnosis JSON)."""
    source = Path(source)
    extra = None
    if diagnosis is not None:
        extra = _read_json(Path(diagnosis), "diagnosis file")
        if extra.get("format") != "vocmap-diagnosis":
            raise InputError("not a vocmap diagnosis (vocmap diagnose --format json)", diagnosis)
        _check_result(extra.get("result") or {}, Path(diagnosis))
    extra_path = None if diagnosis is None else Path(diagnosis)
    if source.is_dir():
        return replace(_load_run(source, extra), diagnosis_path=extra_path)
    data = _read_json(source, "file")
    if data.get("format") == "vocmap-diagnosis":
        result = _check_result(data.get("result") or {}, source)
        return ReportInputs(
            source.stem,
            result,
            extra or data,
            result_path=source,
            diagnosis_path=extra_path or source,
        )
    return ReportInputs(
        source.stem,
        _check_result(data, source),
        extra,
        result_path=source,
        diagnosis_path=extra_path,
    )


def _load_run(root: Path, extra: dict | None) -> ReportInputs:
    from vocmap.runs.contract import RunFolder
    from vocmap.runs.history import read_history
    from vocmap.runs.tables import ap_table_from_run, load_result

    run = RunFolder(root)
    table = ap_table_from_run(run)
    last = table.steps[-1]
    result = _check_result(load_result(run.evaluated()[last]), run.eval_path(last))
    history = read_history(run.history_path) if run.history_path.is_file() else None
    return ReportInputs(
        root.name, result, extra, table, history, last, result_path=run.eval_path(last)
    )


def build_report(inputs: ReportInputs, title: str | None = None) -> str:
    """The report's HTML text. An input of the wrong shape or type (a string where a
    count belongs, an unknown error type) is an InputError naming its file."""
    title = title or f"vocmap report: {inputs.label}"
    parts = []
    nav = []
    for anchor, heading, make, origin in sections.all_sections(inputs):
        body = _malformed_is_input_error(make, inputs, origin)
        if body:
            nav.append(f'<a href="#{anchor}">{html.escape(heading)}</a>')
            parts.append(
                f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n{body}\n</section>'
            )
    summary = _malformed_is_input_error(lambda: sections.summary_line(inputs), inputs, "result")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{sections.STYLE}{GALLERY_STYLE}</style></head>\n"
        f'<body><header><h1>{html.escape(title)}</h1><p class="summary">{summary}</p>'
        f"<nav>{' '.join(nav)}</nav></header>\n<main>\n"
        + "\n".join(parts)
        + "\n</main><footer>Written by vocmap. Self-contained: no script, no network.</footer>"
        "</body></html>\n"
    )


def _malformed_is_input_error(make, inputs: ReportInputs, origin: str) -> str:
    path = inputs.diagnosis_path if origin == "diagnosis" else inputs.result_path
    try:
        return make()
    except _MALFORMED as error:
        if os.environ.get("VOCMAP_DEBUG"):
            raise
        detail = str(error) if isinstance(error, sections.MalformedField) else repr(error)
        raise InputError(f"not a well-formed vocmap {origin}: {detail[:200]}", path) from None


def write_report(inputs: ReportInputs, out: str | os.PathLike, title: str | None = None) -> Path:
    """Write the report atomically to ``out`` and return its path."""
    text = build_report(inputs, title)
    out = Path(out)
    atomic_write_text(out, text)
    return out
