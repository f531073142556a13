"""Two processes on gloo (issue 12 item 2): every distributed path gives, on every
rank, == one process and == ``vocmap evaluate`` on the same detections, with a
shuffled, padded DistributedSampler; a rank alone is never scored silently."""

from __future__ import annotations

import json

import pytest
from framework_case import VOC_ROOT, cli_aps, demo_images, result_aps, same

import vocmap

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")

WORLD = 2
pytestmark = pytest.mark.slow  # two spawned processes: about 30 s


@pytest.fixture(scope="module")
def padded_root(tmp_path_factory):
    """The demo with 199 images, so that 2 ranks pad one image."""
    root = tmp_path_factory.mktemp("voc") / "VOC2007"
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "Annotations").symlink_to((VOC_ROOT / "Annotations").resolve())
    ids = (VOC_ROOT / "ImageSets" / "Main" / "test.txt").read_text().split()[:199]
    (root / "ImageSets" / "Main" / "test.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture(scope="module")
def reports(padded_root, tmp_path_factory):
    import torch.multiprocessing as mp
    from vocmap_ddp_worker import run  # not "ddp_worker": tests/ssd_ref has one

    out = tmp_path_factory.mktemp("ddp")
    mp.start_processes(
        run, args=(str(out), WORLD, str(padded_root)), nprocs=WORLD, start_method="spawn"
    )
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(WORLD)]


@pytest.fixture(scope="module")
def expected(padded_root, tmp_path_factory):
    _, images = demo_images()
    ids = set(vocmap.read_voc(padded_root, cache=False).image_ids)
    kept = [im for im in images if im.image_id in ids]
    cli = cli_aps(kept, tmp_path_factory.mktemp("cli"), "xyxy", "--voc-root", str(padded_root))
    acc = vocmap.Evaluator(vocmap.read_voc(padded_root, cache=False)).accumulator("xyxy")
    for im in kept:
        acc.add(im.image_id, im.boxes, im.scores, im.labels)
    one_process = result_aps(acc.evaluate())
    assert same(one_process, cli)
    return cli


def test_the_sampler_padded_one_image_onto_both_ranks(reports):
    shares = [set(r["share"]) for r in reports]
    assert len(shares[0] | shares[1]) == 199 and len(shares[0] & shares[1]) == 1


@pytest.mark.parametrize(
    "path", ["accumulator", "torchmetrics_gt", "torchmetrics_targets", "detectron2"]
)
def test_every_rank_gets_the_clis_numbers(reports, expected, path):
    for report in reports:
        assert same(report[path], expected), path


def test_a_rank_alone_refuses_to_score_the_whole_set(reports):
    for rank, report in enumerate(reports):
        assert f"rank {rank} of 2" in report["alone"]


def test_padding_without_drop_repeats_is_the_same_error_on_every_rank(reports):
    messages = {r["strict"] for r in reports}
    assert len(messages) == 1
    assert "added twice" in messages.pop()
