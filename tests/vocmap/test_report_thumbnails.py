"""The report's error gallery: thumbnails of the top errors, drawn from the image
files, within the stated size, escaped, and honest about what it left out."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from fixture_paths import GOLDEN

import vocmap
from vocmap.analysis.diagnose import diagnose
from vocmap.analysis.tide_types import ERROR_LABELS
from vocmap.report import html_thumbnails
from vocmap.report.html_thumbnails import THUMBNAIL_SIDE, error_gallery

Image = pytest.importorskip("PIL.Image")

CASE = GOLDEN / "random_11"


@pytest.fixture(scope="module")
def diagnosis() -> dict:
    gt = vocmap.read_voc(CASE, cache=False)
    classes = json.loads((CASE / "case.json").read_text())["classes"]
    dets = vocmap.read_detections(CASE / "results", gt, classes)
    return diagnose(gt, dets, classes, top=12).to_dict()


def _images(folder, ids, size=(500, 375)):
    folder.mkdir(exist_ok=True)
    for image_id in ids:
        Image.new("RGB", size, (120, 130, 140)).save(folder / f"{image_id}.jpg", quality=90)


def _ids(diagnosis: dict) -> set[str]:
    return {e["image_id"] for e in diagnosis["top_false_positives"] + diagnosis["top_missed"]}


def _thumbnails(html: str) -> list:
    return [
        Image.open(io.BytesIO(base64.b64decode(uri)))
        for uri in re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    ]


def test_every_error_gets_a_thumbnail_grouped_by_type(diagnosis, tmp_path):
    _images(tmp_path / "JPEGImages", _ids(diagnosis))
    html = error_gallery(diagnosis, tmp_path / "JPEGImages", ERROR_LABELS)
    pictures = _thumbnails(html)
    kinds = [e["why"] for e in diagnosis["top_false_positives"]] + ["miss"] * len(
        diagnosis["top_missed"]
    )
    expected = sum(min(kinds.count(k), html_thumbnails.PER_GROUP) for k in set(kinds))
    assert len(pictures) == expected
    assert all(max(p.size) == THUMBNAIL_SIDE and p.format == "JPEG" for p in pictures)
    for kind in set(kinds):
        assert f"<h3>{ERROR_LABELS[kind]}</h3>" in html
    assert "Not drawn" not in html


def test_boxes_are_drawn_where_the_object_is(tmp_path):
    folder = tmp_path / "img"
    _images(folder, ["a"], size=(400, 200))
    jpeg = html_thumbnails.thumbnail(
        folder / "a.jpg", folder, [([1.0, 1.0, 200.0, 100.0], (255, 0, 0))]
    )
    picture = Image.open(io.BytesIO(jpeg)).convert("RGB")
    assert picture.size == (200, 100)
    red = lambda xy: picture.getpixel(xy)[0] > 180 and picture.getpixel(xy)[1] < 110  # noqa: E731
    assert red((0, 20)) and red((99, 20)) and red((50, 0)) and red((50, 49))
    assert not red((150, 80)) and not red((50, 25))


def test_missing_unreadable_and_outside_images_are_counted_not_drawn(diagnosis, tmp_path):
    folder = tmp_path / "JPEGImages"
    ids = sorted(_ids(diagnosis))
    _images(folder, ids[2:])
    (folder / f"{ids[2]}.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "secret.jpg").write_bytes((folder / f"{ids[3]}.jpg").read_bytes())
    (folder / f"{ids[3]}.jpg").unlink()
    (folder / f"{ids[3]}.jpg").symlink_to(tmp_path / "secret.jpg")
    html = error_gallery(diagnosis, folder, ERROR_LABELS)
    assert "without an image file in JPEGImages/" in html
    assert "whose image could not be read" in html


def test_the_gallery_keeps_to_its_budget(diagnosis, tmp_path, monkeypatch):
    _images(tmp_path / "JPEGImages", _ids(diagnosis))
    monkeypatch.setattr(html_thumbnails, "BUDGET_BYTES", 6000)
    html = error_gallery(diagnosis, tmp_path / "JPEGImages", ERROR_LABELS)
    sizes = [len(base64.b64decode(u)) for u in re.findall(r"base64,([^\"]+)", html)]
    assert sum(sizes) <= 6000
    assert "left out to keep the report small" in html


def test_captions_are_escaped(tmp_path):
    folder = tmp_path / "img"
    _images(folder, ["x"])
    entry = {
        "image_id": "x",
        "class": "<script>alert(1)</script>",
        "score": 0.9,
        "box": [1.0, 1.0, 10.0, 10.0],
        "why": "bkg",
        "object": None,
        "overlap": None,
    }
    html = error_gallery({"top_false_positives": [entry], "top_missed": []}, folder, {"bkg": "<b>"})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<h3>&lt;b&gt;</h3>" in html


def test_an_image_id_that_is_not_a_file_name_is_not_looked_up(tmp_path):
    (tmp_path / "img").mkdir()
    assert html_thumbnails.find_image(tmp_path / "img", "../secret") is None
