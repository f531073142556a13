"""Build small VOC-format cases in a temporary folder for tests."""

from __future__ import annotations

from pathlib import Path

from vocmap.io.writers import VocObject, write_annotation, write_image_set


def make_case(
    root: Path,
    images: dict[str, list[VocObject]],
    results: dict[str, str] | None = None,
    image_set: list[str] | None = None,
) -> tuple[Path, Path]:
    """Write ``root/VOC2007`` (annotations + ImageSets/Main/test.txt) and
    ``root/results/comp4_det_test_<cls>.txt``; return (voc_root, results_dir)."""
    voc_root = root / "VOC2007"
    for image_id, objects in images.items():
        write_annotation(voc_root / "Annotations", image_id, 500, 375, objects)
    write_image_set(voc_root / "ImageSets" / "Main" / "test.txt", image_set or list(images))
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    for cls, text in (results or {}).items():
        (results_dir / f"comp4_det_test_{cls}.txt").write_text(text)
    return voc_root, results_dir


def dog(box=(10, 10, 50, 50), difficult=False) -> VocObject:
    return VocObject("dog", box, difficult)


def cat(box=(100, 100, 150, 150), difficult=False) -> VocObject:
    return VocObject("cat", box, difficult)
