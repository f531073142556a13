"""The report's error gallery: the top false positives and missed objects drawn on
downscaled copies of their images, as JPEG data URIs (the report stays one file).

Images are looked up as ``<images_dir>/<image id>.jpg`` (then ``.jpeg``, ``.png``),
read through :mod:`vocmap.io.files` (regular files only, no link out of the
folder), decoded with Pillow (matplotlib's own dependency, so the ``plot`` extra
brings it) and scaled to at most THUMBNAIL_SIDE pixels a side. The gallery stops
adding thumbnails at BUDGET_BYTES of JPEG data and says how many it left out.

Boxes are VOC pixels (1-based, inclusive): pixel ``p`` covers ``[p - 1, p)``, so a
box is drawn over ``[xmin - 1, xmax]`` scaled to the thumbnail.
"""

from __future__ import annotations

import base64
import io
import os
from html import escape
from pathlib import Path

from vocmap.core.errors import InputError
from vocmap.io.files import file_name_problem, read_input_file

#: Longest side of a thumbnail, in pixels.
THUMBNAIL_SIDE = 200
#: JPEG quality of the thumbnails.
QUALITY = 72
#: The gallery's JPEG bytes at most (base64 adds a third in the HTML).
BUDGET_BYTES = 1_500_000
#: Thumbnails per error type at most.
PER_GROUP = 8
#: Images larger than this are not decoded (a decompression bomb guard).
MAX_PIXELS = 60_000_000

_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")
_DETECTION_COLOUR = (225, 87, 89)  # red: the detection
_OBJECT_COLOUR = (89, 161, 79)  # green: the annotated object
_GROUP_ORDER = ("cls", "loc", "both", "dupe", "bkg", "miss")


def find_image(images_dir: Path, image_id: str) -> Path | None:
    """The image file of ``image_id`` in ``images_dir``, or None."""
    if file_name_problem(image_id, ".jpeg") is not None:
        return None
    for suffix in _SUFFIXES:
        path = images_dir / f"{image_id}{suffix}"
        if path.is_file():
            return path
    return None


def thumbnail(
    path: Path, folder: Path, boxes: list[tuple[list[float], tuple[int, int, int]]]
) -> bytes:
    """A JPEG thumbnail of ``path`` with ``boxes`` ((xmin, ymin, xmax, ymax) VOC
    pixels, RGB colour) drawn; InputError if the file is not a readable image."""
    from PIL import Image, ImageDraw

    raw = read_input_file(path, "image file", folder=folder)
    try:
        with Image.open(io.BytesIO(raw)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise InputError(
                    f"image of {opened.width} x {opened.height} pixels is too large", path
                )
            picture = opened.convert("RGB")
    except InputError:
        raise
    except Exception as error:  # Pillow raises many kinds for a damaged file
        raise InputError(f"cannot decode image ({type(error).__name__})", path) from None
    scale = min(1.0, THUMBNAIL_SIDE / max(picture.width, picture.height))
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(size, Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(picture)
    for box, colour in boxes:
        xmin, ymin, xmax, ymax = box
        corners = [(xmin - 1) * scale, (ymin - 1) * scale, xmax * scale - 1, ymax * scale - 1]
        corners[2] = max(corners[2], corners[0])
        corners[3] = max(corners[3], corners[1])
        draw.rectangle(corners, outline=colour, width=2)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def _entries(diagnosis: dict) -> list[tuple[str, dict, list]]:
    """(error type, entry, boxes to draw) for the top false positives and missed objects."""
    out = []
    for e in diagnosis.get("top_false_positives", []):
        boxes = [(e["box"], _DETECTION_COLOUR)]
        if e.get("object"):
            boxes.insert(0, (e["object"]["box"], _OBJECT_COLOUR))
        out.append((e["why"], e, boxes))
    for e in diagnosis.get("top_missed", []):
        boxes = [(e["box"], _OBJECT_COLOUR)]
        if e.get("detection"):
            boxes.append((e["detection"]["box"], _DETECTION_COLOUR))
        out.append(("miss", e, boxes))
    return out


def _caption(kind: str, e: dict) -> str:
    if kind == "miss" or "area" in e:
        text = f"{e['image_id']}: missed {e['class']}"
        if e.get("detection"):
            overlap = e["detection"].get("overlap")
            text += f"; nearest {e['detection']['class']} {e['score']:.3g}"
            text += "" if overlap is None else f", IoU {overlap:.2f}"
        return text
    text = f"{e['image_id']}: {e['class']} {e['score']:.3g}"
    if e.get("object"):
        text += f" on {e['object']['class']}"
    overlap = e.get("overlap")
    return text if overlap is None else f"{text}, IoU {overlap:.2f}"


def error_gallery(diagnosis: dict, images_dir: str | os.PathLike, labels: dict[str, str]) -> str:
    """The gallery's HTML: one group per error type, thumbnails in the lists' order.

    ``labels`` names each error type (``why`` -> words). Entries whose image is
    missing or unreadable are counted and said, not drawn.
    """
    folder = Path(images_dir)
    groups: dict[str, list[str]] = {}
    spent, skipped, unreadable, missing = 0, 0, 0, 0
    for kind, entry, boxes in _entries(diagnosis):
        group = groups.setdefault(kind, [])
        if len(group) >= PER_GROUP:
            continue
        path = find_image(folder, str(entry["image_id"]))
        if path is None:
            missing += 1
            continue
        try:
            jpeg = thumbnail(path, folder, boxes)
        except InputError:
            unreadable += 1
            continue
        if spent + len(jpeg) > BUDGET_BYTES:
            skipped += 1
            continue
        spent += len(jpeg)
        uri = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
        caption = escape(_caption(kind, entry))
        group.append(
            f'<figure class="thumb"><img src="{uri}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'
        )
    parts = [
        '<p class="note">Green: the annotated object; red: the detection. '
        f"At most {PER_GROUP} a type, {BUDGET_BYTES // 1000} kB of images in all.</p>"
    ]
    for kind in sorted(
        groups, key=lambda k: (_GROUP_ORDER.index(k) if k in _GROUP_ORDER else 99, k)
    ):
        if groups[kind]:
            parts.append(
                f'<h3>{escape(labels.get(kind, kind))}</h3><div class="gallery">{"".join(groups[kind])}</div>'
            )
    notes = []
    if missing:
        notes.append(f"{missing} without an image file in {escape(os.fspath(folder.name))}/")
    if unreadable:
        notes.append(f"{unreadable} whose image could not be read")
    if skipped:
        notes.append(f"{skipped} left out to keep the report small")
    if notes:
        parts.append(f'<p class="note">Not drawn: {"; ".join(notes)}.</p>')
    return "".join(parts)


#: CSS for the gallery (added to the report's style sheet).
GALLERY_STYLE = (
    ".gallery{display:flex;flex-wrap:wrap;gap:10px}"
    "figure.thumb{margin:0;width:210px;font-size:12px;color:#444}"
    "figure.thumb img{border:1px solid #ddd;margin:0 0 3px}"
)
