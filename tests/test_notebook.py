"""The summary notebook runs on a small scored run and shows what it promises."""

from __future__ import annotations

import json

import pytest
from fixture_paths import REPO
from run_builder import make_run

from vocmap.cli import main

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")

NOTEBOOK = REPO / "notebooks" / "ssd300_training_summary.ipynb"


@pytest.mark.slow
def test_notebook_reproduces_the_summary(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    voc_root, run = make_run(tmp_path)
    # the schedule names the drop: the history's rows show it between steps 390 and 400
    config = json.loads((run / "config.json").read_text())
    config["solver"] = {"batch_size": 16, "milestones": [400], "max_iter": 600}
    (run / "config.json").write_text(json.dumps(config))
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]) == 0
    # relative to the caller's directory ($PWD), not to the notebook's folder
    monkeypatch.setenv("PWD", str(run.parent))
    monkeypatch.setenv("VOCMAP_RUN_DIR", run.name)
    monkeypatch.setenv("VOCMAP_BEST_PER", "200")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "the committed notebook carries no outputs"
    )
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(REPO / "notebooks")}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # loss history and AP over steps
    markdown = "\n".join(
        o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})
    )
    assert "| bottle AP |" in markdown and "| mAP |" in markdown
    assert "| class | 200 | 400 | 600 |" in markdown  # --best-per 200 columns
    assert "has no step in common with" in markdown  # 600 is never set beside 102000
    assert (
        "mAP went from" in markdown
        and "The learning rate dropped from 0.001 to 0.0001 at step 400 (the schedule's milestone)."
        in markdown
    )
    assert (run / "plots" / "loss_history.png").stat().st_size > 20_000
