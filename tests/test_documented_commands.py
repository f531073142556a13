"""Every shell command in every README and in the notebook runs as written (issue 19,
section 3: `data_fixtures/demo/README.md` gave `python -m vocmap.synthetic`, which
does not exist).

The commands are read from the documents (fenced ``sh`` blocks and indented blocks
that start with a command), each is planned in ``PLANS`` (a documented command
without a plan fails, and so does a plan whose command is no longer documented),
and run in a temporary folder laid out with the names the documents use
(``results/``, ``VOC2007``, ``runs/ssd300``, ...), through the installed console
scripts. What cannot run here is listed with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_paths import DEMO, REPO
from run_builder import make_run

DOCUMENTS = [
    REPO / "README.md",
    REPO / "ssd_ref" / "README.md",
    *sorted((REPO / "data_fixtures").glob("*/README.md")),
    *sorted((REPO / "benchmarks").glob("*.md")),
]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
COMMAND_WORDS = ("vocmap", "ssd_ref", "python", "pip", "make", "torchrun", "jupyter")

# How each documented command is run: in which scene, or why not.
DEMO_SCENE = "demo"  # results/, dets_a/, dets_b/, VOC2007/ and data_fixtures/demo: the demo case
RUN_SCENE = "run"  # runs/ssd300 (steps 20000, 40000), its VOC2007/ and VOCdevkit/VOC2007
SSD_SCENE = "ssd"  # the ssd_ref loop on the synthetic set: data/synth, runs/small
EMPTY_SCENE = "empty"  # an empty folder
SKIP = "skip"
NETWORK = "installs from the package index (no network in the tests; the environment has it)"
REBUILDS = "rebuilds the test environment itself (.venv); `make demo` runs the evaluate below"
VOC_DOWNLOAD = (
    "needs the VOC2007+2012 download and the ImageNet VGG16 weights (user-supplied) "
    "and a day of GPU time"
)

PLANS: dict[str, tuple[str, str]] = {
    "pip install vocmap": (SKIP, NETWORK),
    'pip install "vocmap[train]"': (SKIP, NETWORK),
    'pip install "vocmap[plot]"': (SKIP, NETWORK),
    'pip install torch && pip install -e ".[train]"': (SKIP, NETWORK),
    "make demo": (SKIP, REBUILDS),
    "make test": (SKIP, "is this test suite"),
    "make setup-dev": (SKIP, REBUILDS),
    # the demo case
    "vocmap evaluate data_fixtures/demo/results --voc-root data_fixtures/demo/VOC2007": (
        DEMO_SCENE,
        "",
    ),
    "vocmap compare results/ --voc-root VOC2007 --semantics devkit --semantics py-faster-rcnn": (
        DEMO_SCENE,
        "",
    ),
    "vocmap diagnose results/ --voc-root VOC2007 --json diag.json": (DEMO_SCENE, ""),
    "vocmap report diag.json --out report.html": (DEMO_SCENE, "matplotlib"),
    "vocmap report diag.json --out report.html --images VOCdevkit/VOC2007/JPEGImages": (
        SKIP,
        "the demo ships no images; tests/vocmap/test_cli_check_yolo_images.py draws them",
    ),
    "vocmap check results/ --voc-root VOC2007": (DEMO_SCENE, ""),
    "vocmap evaluate runs/detect/predict/labels --yolo-predictions --yolo-labels "
    "datasets/VOC/labels/test2007 --yolo-classes datasets/VOC/data.yaml": (
        SKIP,
        "needs a YOLO data set and ultralytics' predictions; "
        "tests/vocmap/test_cli_check_yolo_images.py builds and evaluates one",
    ),
    "vocmap compare results/ --voc-root VOC2007 --semantics coco50": (DEMO_SCENE, ""),
    "vocmap compare-runs dets_a/ dets_b/ --voc-root VOC2007": (DEMO_SCENE, ""),
    "python -m vocmap.testing.synthetic data_fixtures/demo --images 200 --seed 2007": (
        EMPTY_SCENE,
        "",
    ),
    # a scored run
    "vocmap compare-runs runs/ssd300@20000 runs/ssd300@40000 --voc-root VOC2007": (RUN_SCENE, ""),
    "vocmap score runs/ssd300 --voc-root VOCdevkit/VOC2007": (RUN_SCENE, ""),
    "vocmap table runs/ssd300 --best-per 20000 --compare published": (RUN_SCENE, ""),
    "vocmap plot runs/ssd300 --compare published": (RUN_SCENE, "matplotlib"),
    "VOCMAP_RUN_DIR=runs/ssd300 jupyter nbconvert --to notebook --execute "
    "notebooks/ssd300_training_summary.ipynb": (RUN_SCENE, "nbconvert"),
    # the ssd_ref loop on the synthetic set
    "ssd_ref make-synthetic --out data/synth": (SSD_SCENE, "torch"),
    "ssd_ref train --config small --voc-root data/synth --out runs/small": (
        SSD_SCENE,
        "torch; instead of training again (minutes), the session's shared trained run "
        "(tests/ssd_ref/trained_run.py: this preset on make-synthetic's default set, seed 0) "
        "is copied to runs/small",
    ),
    "ssd_ref detect --checkpoint runs/small/checkpoints/step_000400.pt --voc-root "
    "data/synth/SYNTH --set test --out runs/small/detections/step_000400": (SSD_SCENE, "torch"),
    "vocmap evaluate runs/small/detections/step_000400 --voc-root data/synth/SYNTH --classes "
    "bottle car cat dog person": (SSD_SCENE, "torch"),
    "vocmap score runs/small --voc-root data/synth/SYNTH": (SSD_SCENE, "torch"),
    "vocmap score runs/small --voc-root data/synth/SYNTH && vocmap plot runs/small": (
        SSD_SCENE,
        "torch",
    ),
    # the reference run
    "ssd_ref train --config reference --voc-root /data/VOCdevkit --out runs/ssd300 --override "
    "'model.backbone_weights=\"vgg16_reducedfc.pth\"'": (SKIP, VOC_DOWNLOAD),
    "ssd_ref train --config reference --voc-root /data/VOCdevkit --out runs/ssd300 --override "
    "'model.backbone_weights=\"vgg16_ssd.pth\"'": (SKIP, VOC_DOWNLOAD),
    "torchrun --nproc_per_node=4 -m ssd_ref.cli train ...": (SKIP, "needs 4 GPUs; " + VOC_DOWNLOAD),
    "torchrun --nproc_per_node=4 -m ssd_ref.cli train --config reference --voc-root "
    "/data/VOCdevkit --out runs/ssd300 --override 'model.backbone_weights=\"vgg16_ssd.pth\"'": (
        SKIP,
        "needs 4 GPUs; " + VOC_DOWNLOAD,
    ),
    "ssd_ref train --out runs/ssd300 --resume": (
        SKIP,
        "continues the reference run; " + VOC_DOWNLOAD,
    ),
    "ssd_ref detect --checkpoint runs/ssd300/checkpoints/step_120000.pt --voc-root "
    "/data/VOCdevkit/VOC2007 --set test --out dets/": (
        SKIP,
        "the reference run's checkpoint; " + VOC_DOWNLOAD,
    ),
    "ssd_ref weights convert vgg16_reducedfc.pth vgg16_ssd.pth": (
        SKIP,
        "converts the user-downloaded ImageNet VGG16 weights (tests/ssd_ref test it on a "
        "fabricated file)",
    ),
    "ssd_ref prepare --config reference --voc-root /data/VOCdevkit --out /data/ssd_ref_cache": (
        SKIP,
        VOC_DOWNLOAD + " (tests/ssd_ref/test_prepared.py prepares the synthetic set)",
    ),
    "ssd_ref train --config fast --voc-root /data/VOCdevkit --out runs/fast "
    "--override data.pipeline=batched --override data.prepared=/data/ssd_ref_cache": (
        SKIP,
        "needs a GPU; " + VOC_DOWNLOAD,
    ),
    "vocmap table runs/fast": (SKIP, "the fast run above; " + VOC_DOWNLOAD),
}


def _blocks(text: str):
    """Fenced sh/bash blocks; indented blocks whose lines start with a command."""
    lines = text.splitlines()
    i, previous_blank = 0, True
    while i < len(lines):
        fence = re.match(r"^```(\w*)", lines[i])
        if fence:
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            i += 1
            if fence.group(1) in ("sh", "bash", "shell", "console"):
                yield body
            previous_blank = False
            continue
        if previous_blank and lines[i].startswith("    ") and lines[i].strip():
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            first = body[0].split()[0]
            if first in COMMAND_WORDS or re.fullmatch(r"[A-Z_]+=\S*", first):
                yield body
            previous_blank = False
            continue
        previous_blank = not lines[i].strip()
        i += 1


def _commands(body: list[str]) -> list[str]:
    """One command a line (``\\`` continues it), comments dropped, blanks squeezed."""
    if re.match(r"vocmap [a-z-]+ [A-Z_]+ \[", body[0]):
        return []  # the usage synopsis: tests/test_readme_usage.py checks it against --help
    commands, current = [], ""
    for raw in body:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        current = f"{current} {line}".strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        if current:
            commands.append(re.sub(r"\s+", " ", current))
        current = ""
    return commands


def documented_commands() -> dict[str, list[str]]:
    """Each command, with the documents that give it."""
    texts = {d.relative_to(REPO).as_posix(): d.read_text(encoding="utf-8") for d in DOCUMENTS}
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
        texts[notebook.relative_to(REPO).as_posix()] = "\n\n".join(markdown)
    found: dict[str, list[str]] = {}
    for name, text in texts.items():
        for block in _blocks(text):
            for command in _commands(block):
                found.setdefault(command, []).append(name)
    return found


def test_every_documented_command_has_a_plan_and_every_plan_a_command():
    documented = documented_commands()
    assert sorted(set(documented) - set(PLANS)) == []  # a new command: say how it runs
    assert sorted(set(PLANS) - set(documented)) == []  # a plan for a command now gone


def _run(command: str, scene: Path, extra_env: dict[str, str] | None = None) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PWD": str(scene),
        **(extra_env or {}),
    }
    done = subprocess.run(
        command, shell=True, cwd=scene, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def _scene_commands(scene: str) -> list[str]:
    """The scene's commands in document order."""
    return [c for c in documented_commands() if PLANS.get(c, (SKIP, ""))[0] == scene]


def _needs(command: str) -> None:
    for module in ("matplotlib", "nbconvert", "torch"):
        if module in PLANS[command][1].split(";")[0].split():
            pytest.importorskip(module)


def test_the_demo_commands_run(tmp_path):
    shutil.copytree(DEMO, tmp_path / "data_fixtures" / "demo")
    for name in ("results", "dets_a", "dets_b"):
        shutil.copytree(DEMO / "results", tmp_path / name)
    shutil.copytree(DEMO / "VOC2007", tmp_path / "VOC2007")
    commands = _scene_commands(DEMO_SCENE)
    assert len(commands) == 7
    for command in commands:
        _needs(command)
        _run(command, tmp_path)
    assert json.loads((tmp_path / "diag.json").read_text())["format"]
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_the_demo_generator_command_makes_the_shipped_demo(tmp_path):
    (command,) = _scene_commands(EMPTY_SCENE)
    _run(command, tmp_path)
    made = tmp_path / "data_fixtures" / "demo"
    files = sorted(p.relative_to(made) for p in made.rglob("*") if p.is_file())
    assert len(files) == 221  # 200 annotations, the image set, 20 result files
    for name in files:
        assert (made / name).read_bytes() == (DEMO / name).read_bytes(), name


def _run_scene(root: Path) -> Path:
    voc_root, run = make_run(root / "made", steps=(20000, 40000))
    (root / "runs").mkdir()
    run.rename(root / "runs" / "ssd300")
    shutil.copytree(voc_root, root / "VOC2007")
    shutil.copytree(voc_root, root / "VOCdevkit" / "VOC2007")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    return root


def test_the_run_commands_run(tmp_path):
    scene = _run_scene(tmp_path)
    commands = [c for c in _scene_commands(RUN_SCENE) if "jupyter" not in c]
    # score first: the others read what it stores
    commands.sort(key=lambda c: not c.startswith("vocmap score"))
    for command in commands:
        _needs(command)
        _run(command, scene)
    assert (scene / "runs" / "ssd300" / "plots" / "ap_over_steps.png").is_file()


@pytest.mark.slow
def test_the_notebook_command_runs(tmp_path):
    (command,) = [c for c in _scene_commands(RUN_SCENE) if "jupyter" in c]
    _needs(command)
    pytest.importorskip("ipykernel")
    scene = _run_scene(tmp_path)
    _run("vocmap score runs/ssd300 --voc-root VOCdevkit/VOC2007 --quiet", scene)
    _run(command, scene)
    assert (scene / "notebooks" / "ssd300_training_summary.nbconvert.ipynb").is_file()


@pytest.mark.slow
def test_the_ssd_ref_loop_runs(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("cv2")
    sys.path.insert(0, str(REPO / "tests" / "ssd_ref"))
    from trained_run import make_trained_run

    commands = _scene_commands(SSD_SCENE)
    assert commands[:2] == [
        "ssd_ref make-synthetic --out data/synth",
        "ssd_ref train --config small --voc-root data/synth --out runs/small",
    ]
    _run(commands[0], tmp_path)
    (tmp_path / "runs").mkdir()
    make_trained_run(tmp_path / "runs").rename(tmp_path / "runs" / "small")  # the train command
    for command in commands[2:]:
        _run(command, tmp_path)
    assert (tmp_path / "runs" / "small" / "plots" / "ap_over_steps.png").is_file()


def test_skipped_commands_say_why():
    for command, (scene, why) in PLANS.items():
        assert scene != SKIP or len(why) > 10, command
