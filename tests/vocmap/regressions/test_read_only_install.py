"""A read-only installation (package folder and $HOME not writable, as in
containers): every command failed at import with numba's "cannot cache function
... no locator available" (issue 10). Now vocmap points numba at a private
folder under the temporary directory, says so once, and gives the same number."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from fixture_paths import DEMO, REPO
from restricted import permissions_apply, restricted

DEMO_MAP = "0.7863302603064434"


@pytest.fixture
def read_only_install(tmp_path):
    """A copy of the vocmap package in a read-only folder, and a read-only $HOME."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "vocmap", site / "vocmap", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    for path in [site, *site.rglob("*"), home]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if not permissions_apply(home):
        pytest.skip("cannot make folders read-only for a child process here")
    yield site, home, temporary
    for path in [site, *site.rglob("*"), home]:
        path.chmod(0o755)


def run_from(site, home, temporary, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(temporary),
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", "import sys, vocmap.cli; print(vocmap.__file__, file=sys.stderr)"]
        if args == ("where",)
        else [sys.executable, "-m", "vocmap", *args],
        env=env,
        cwd=str(temporary),
        preexec_fn=restricted(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_read_only_installation_evaluates_and_says_so_once(read_only_install):
    site, home, temporary = read_only_install
    args = [
        "evaluate",
        str(DEMO / "results"),
        "--voc-root",
        str(DEMO / "VOC2007"),
        "--format",
        "map",
        "--no-cache",
    ]
    first = run_from(site, home, temporary, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{DEMO_MAP}\n"
    assert "Traceback" not in first.stderr
    said = [line for line in first.stderr.splitlines() if "not writable" in line]
    assert said == [
        "vocmap: the package folder and ~/.cache are not writable; numba's compiled kernels "
        f"are cached in {temporary}/vocmap-numba-{__import__('os').getuid()} "
        "(set NUMBA_CACHE_DIR to choose)"
    ]
    # The second run finds the cache: nothing more to say, same number.
    second = run_from(site, home, temporary, *args)
    assert second.returncode == 0, second.stderr
    assert second.stdout == f"{DEMO_MAP}\n"
    assert second.stderr == ""
    # And it was the read-only copy that ran, not the checkout.
    where = run_from(site, home, temporary, "where")
    assert where.stderr.strip() == f"{site}/vocmap/__init__.py", where.stderr
