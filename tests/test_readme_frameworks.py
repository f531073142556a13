"""The README's framework snippets, run as written (issue 12 item 3), each giving
== ``vocmap evaluate`` on the same detections.

Each snippet follows a ``<!-- readme-test: NAME -->`` line in README.md; the test
supplies the names it uses but does not define (``gt``, ``model``, loaders, and
detectron2's ``inference_on_dataset``, whose protocol is stood in for) and, for
the relative paths, a working directory where they lead to the demo data set.
"""

from __future__ import annotations

import re

import pytest
from fixture_paths import REPO
from framework_case import VOC_ROOT, cli_aps, demo_images, in_voc0, same

import vocmap

torch = pytest.importorskip("torch")


def snippet(name: str) -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(rf"<!-- readme-test: {name} -->\n```python\n(.*?)```", text, re.S)
    assert found, f"README has no snippet {name!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def case():
    return demo_images()


@pytest.fixture(scope="module")
def cli(case, tmp_path_factory):
    return cli_aps(case[1], tmp_path_factory.mktemp("cli"))


def aps_of(result):
    return {"map": result.map} | {n: r.ap for n, r in result.classes.items()}


def test_distributed_snippet(case, cli):
    gt, images = case
    outputs = [
        (im.image_id, torch.from_numpy(im.boxes), torch.from_numpy(im.scores), im.labels)
        for im in reversed(images)
    ]
    namespace = {"vocmap": vocmap, "gt": gt, "this_ranks_outputs": outputs}
    exec(snippet("distributed"), namespace)
    assert same(aps_of(namespace["result"]), cli)


class StoredModel(torch.nn.Module):
    """A 'detector' whose outputs are the case's detections (labels from 1)."""

    def __init__(self, images):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))
        self.by_id = {im.image_id: im for im in images}

    def forward(self, image_ids):
        return [
            {
                "boxes": torch.from_numpy(self.by_id[i].boxes) * self.weight.detach(),
                "scores": torch.from_numpy(self.by_id[i].scores),
                "labels": torch.from_numpy(self.by_id[i].labels + 1),
            }
            for i in image_ids
        ]


@pytest.mark.slow
# Lightning's own warnings, not the snippet's: its pytree helper's deprecation, and its
# advice against the shuffled validation loader that this test shuffles on purpose.
@pytest.mark.filterwarnings(
    "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"
)
@pytest.mark.filterwarnings("ignore:Your `val_dataloader`'s sampler has shuffling enabled")
def test_lightning_snippet_runs_a_few_steps_on_cpu(case, cli, tmp_path):
    pytest.importorskip("lightning")
    import lightning as L
    from torch.utils.data import DataLoader

    gt, images = case
    namespace: dict = {}
    exec(snippet("lightning"), namespace)

    class Trained(namespace["LitDetector"]):
        def training_step(self, batch, batch_idx):
            return ((self.model.weight - 1) ** 2).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.0)

    def collate(items):
        return [im.image_id for im in items], [{"image_id": im.image_id} for im in items]

    module = Trained(StoredModel(images), gt)
    train = DataLoader(images[:6], batch_size=2, collate_fn=collate)
    # shuffled on purpose: the number must not depend on the order
    val = DataLoader(images, batch_size=16, collate_fn=collate, shuffle=True)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
    )
    trainer.fit(module, train, val)
    assert trainer.global_step == 3
    assert module.val_map.result is not None and same(aps_of(module.val_map.result), cli)
    logged = trainer.callback_metrics["val_map"]  # Lightning keeps the float64
    assert logged.dtype == torch.float64 and logged.item() == cli["map"]


def test_detectron2_snippet(case, cli, tmp_path, monkeypatch, capsys):
    _, images = case
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "VOC2007").symlink_to(VOC_ROOT.resolve())
    monkeypatch.chdir(tmp_path)

    class Instances:
        def __init__(self, im):
            self.pred_boxes = type("Boxes", (), {"tensor": torch.from_numpy(im.boxes)})()
            self.scores = torch.from_numpy(im.scores)
            self.pred_classes = torch.from_numpy(im.labels)

    by_id = {im.image_id: im for im in images}

    def model(inputs):
        return [{"instances": Instances(by_id[x["image_id"]])} for x in inputs]

    def inference_on_dataset(model, data_loader, evaluator):
        """detectron2.evaluation.inference_on_dataset's protocol."""
        evaluator.reset()
        for inputs in data_loader:
            evaluator.process(inputs, model(inputs))
        return evaluator.evaluate()

    loader = [[{"image_id": im.image_id} for im in images[i : i + 4]] for i in range(0, 200, 4)]
    namespace = {
        "vocmap": vocmap,
        "model": model,
        "data_loader": loader,
        "inference_on_dataset": inference_on_dataset,
    }
    exec(snippet("detectron2"), namespace)
    assert capsys.readouterr().out.strip() == repr(cli["map"])
    values = namespace["results"]["voc07"]
    assert same({"map": values["mAP"]} | {k[3:]: v for k, v in values.items() if k != "mAP"}, cli)


def test_mmengine_snippet(case, tmp_path, monkeypatch):
    pytest.importorskip("mmengine")
    import importlib

    from mmengine.evaluator import Evaluator
    from mmengine.registry import METRICS
    from mmengine.structures import BaseDataElement, InstanceData

    _, images = case
    images = in_voc0(images)
    expected = cli_aps(images, tmp_path / "cli", "voc0")
    (tmp_path / "data" / "VOCdevkit").mkdir(parents=True)
    (tmp_path / "data" / "VOCdevkit" / "VOC2007").symlink_to(VOC_ROOT.resolve())
    monkeypatch.chdir(tmp_path)
    config: dict = {}
    exec(snippet("mmengine"), config)
    for module in config["custom_imports"]["imports"]:
        importlib.import_module(module)
    evaluator = Evaluator(METRICS.build(config["val_evaluator"]))
    evaluator.dataset_meta = {"classes": vocmap.VOC_CLASSES}
    samples = []
    for im in images:
        sample = BaseDataElement(metainfo={"img_id": im.image_id})
        sample.pred_instances = InstanceData(
            bboxes=torch.from_numpy(im.boxes),
            scores=torch.from_numpy(im.scores),
            labels=torch.from_numpy(im.labels),
        )
        samples.append(sample)
    evaluator.process(samples)
    metrics = evaluator.evaluate(len(samples))
    got = {"map": metrics["vocmap/mAP"]} | {
        k.removeprefix("vocmap/AP-"): v for k, v in metrics.items() if k != "vocmap/mAP"
    }
    assert same(got, expected)


def test_readme_sends_pip_users_to_what_the_wheel_has():
    text = (REPO / "README.md").read_text()
    assert "--compare data_fixtures" not in text
    assert "--compare published" in text
