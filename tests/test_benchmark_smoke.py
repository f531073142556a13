"""The benchmark runs end to end on tiny sizes (its figures are not asserted here)."""

from __future__ import annotations

from fixture_paths import REPO


def test_benchmark_runs_and_reports_every_figure(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.run import main

    assert main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for figure in (
        "annotations cached",
        "cold annotation cache",
        "parse 1M lines",
        "match + AP",
        "peak RSS",
        "--help",
        "first run",
        "one annotation set",
        "ns per detection",
        "bootstrap: 20 resamples",
    ):
        assert figure in out, figure
    assert "Same APs as the reference on the 1M case, bit for bit: True." in out
    assert "imports torch/matplotlib/pandas: none." in out
    assert "The first run says it is compiling: True." in out
    assert "Bootstrap replicates equal the plain NumPy bootstrap's: True." in out
