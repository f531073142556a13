"""The bootstrap benchmark runs on a tiny case and agrees with its NumPy baseline."""

from __future__ import annotations

from fixture_paths import REPO


def test_bootstrap_benchmark_runs_and_matches_numpy(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.bootstrap_bench import main

    report = main(["--smoke"])
    assert report["same_replicates"] is True
    assert "| bootstrap: 20 resamples" in capsys.readouterr().out
