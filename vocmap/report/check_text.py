"""``vocmap check``'s text: the mAP as given, then one block per finding."""

from __future__ import annotations

import csv
import io

from vocmap.analysis.check import CheckReport
from vocmap.core.errors import display_text


def format_check(report: CheckReport) -> str:
    """The findings of ``report`` as text, each with its measured effect."""
    lines = [
        f"{report.detections} detections on {report.images} images, "
        f"{len(report.classes)} classes; mAP as given {report.map:.4f} ({report.settings.label})"
    ]
    if not report.sizes_known:
        lines.append("image sizes unknown: the checks against the image size were skipped")
    if not report.findings:
        lines.append("no common mistake found")
    for finding in report.findings:
        lines.append("")
        lines.append(f"[{finding.code}] {display_text(finding.title)}")
        for example in finding.examples:
            lines.append(f"    e.g. {display_text(example)}")
        if finding.map_corrected is not None:
            lines.append(
                f"    corrected ({finding.correction}): mAP {finding.map_corrected:.4f} "
                f"({finding.map_corrected - report.map:+.4f})"
            )
        lines.append(f"    effect: {display_text(finding.effect)}")
    return "\n".join(lines) + "\n"


def findings_csv(report: CheckReport) -> str:
    """CSV: ``code,count,title,correction,map,map_corrected,effect``, a row per finding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "count", "title", "correction", "map", "map_corrected", "effect"])
    for f in report.findings:
        corrected = "" if f.map_corrected is None else repr(f.map_corrected)
        writer.writerow(
            [f.code, f.count, f.title, f.correction or "", repr(report.map), corrected, f.effect]
        )
    return buffer.getvalue()
