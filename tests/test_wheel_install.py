"""The wheel a pip user gets (issue 12 item 5): built from the repository, installed
into a fresh virtual environment with the core only, then with [train].

Kept fast: dependencies come as the versions of this environment, through pip's
cache into a local wheelhouse, then installed with ``--no-index`` and ``--no-compile`` (Python compiles only what runs); the fresh
environments have no pip of their own (this environment's pip installs into them
with ``--python``); torch is the CPU file pip finds on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

import vocmap

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data_fixtures" / "demo"
pytestmark = pytest.mark.slow

CORE = ("numpy", "numba", "llvmlite", "lxml")
TRAIN = ("torch", "opencv-python-headless")


def pip(*args: str, cwd: Path | None = None) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def pinned(names) -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in names]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    house = tmp_path_factory.mktemp("wheelhouse")
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(house), str(REPO))
    pip("download", "-d", str(house), *pinned(CORE + tuple(n for n in TRAIN if installed(n))))
    return house


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, wheelhouse) -> Path:
    """A new environment with the core install only."""
    env = tmp_path_factory.mktemp("env") / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    (wheel,) = wheelhouse.glob("vocmap-*.whl")
    pip("--python", str(env / "bin" / "python"), "install", "--no-index", "--no-compile",
        "--find-links", str(wheelhouse), str(wheel))  # fmt: skip
    return env


def run(env: Path, *command: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    clean["PATH"] = f"{env / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=300, env=clean, cwd=env.parent
    )


def test_the_core_install_has_the_commands_the_data_and_the_metadata(fresh):
    version = run(fresh, "vocmap", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"vocmap {vocmap.__version__}"
    evaluated = run(
        fresh, "vocmap", "evaluate", str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007")
    )
    assert evaluated.returncode == 0 and "0.7863" in evaluated.stdout, evaluated.stderr
    probe = run(
        fresh,
        "python",
        "-c",
        "import importlib.metadata as m, pathlib, vocmap, vocmap.data as d;"
        "print(m.version('vocmap'), m.metadata('vocmap')['License-Expression']);"
        "print(d.published_ap_table().read_text().splitlines()[0][:5]);"
        "print((pathlib.Path(vocmap.__file__).parent / 'py.typed').is_file());"
        "print(any(p.name == 'LICENSE' for p in m.files('vocmap')))",
    )
    assert probe.stdout.split() == [vocmap.__version__, "MIT", "class", "True", "True"], probe


def test_without_the_train_extra_ssd_ref_says_what_to_install_in_one_line(fresh):
    done = run(fresh, "ssd_ref", "train", "--config", "tiny")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "install vocmap[train]" in done.stderr
    assert "Traceback" not in done.stderr and "ssd_ref: ssd_ref" not in done.stderr
    helped = run(fresh, "ssd_ref", "--help")  # help needs neither torch nor OpenCV
    assert helped.returncode == 0 and helped.stdout.startswith("usage: ssd_ref")
    assert "install vocmap[train]" in helped.stdout and helped.stderr == ""
    imported = run(fresh, "python", "-c", "import ssd_ref")
    assert imported.returncode == 1
    assert imported.stderr.strip().splitlines()[-1].startswith("ImportError: ssd_ref needs torch")


def test_with_the_train_extra_the_trainer_command_runs(fresh, wheelhouse):
    if not all(installed(n) for n in TRAIN):
        pytest.skip("the train extra is not installed here")
    (wheel,) = wheelhouse.glob("vocmap-*.whl")
    pip("--python", str(fresh / "bin" / "python"), "install", "--no-index", "--no-compile",
        "--find-links", str(wheelhouse), f"vocmap[train] @ {wheel.as_uri()}")  # fmt: skip
    done = run(fresh, "ssd_ref", "--help")
    assert done.returncode == 0 and "make-synthetic" in done.stdout, done.stderr
    assert run(fresh, "python", "-c", "import ssd_ref.cli").returncode == 0
