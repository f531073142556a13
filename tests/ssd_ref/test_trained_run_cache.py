"""The shared trained run is trained once and kept: keyed by what shapes it, locked
against concurrent sessions and workers, retrained when a killed session left half of it."""

from __future__ import annotations

import trained_run


def _fake_training(calls: list):
    def train(base, synthetic_seed=0, seed=0):
        calls.append(base)
        (base / "run" / "checkpoints").mkdir(parents=True)
        (base / "run" / "config.json").write_text("{}")
        return base / "run"

    return train


def test_trained_once_then_taken_from_the_cache(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(trained_run, "train_shared_run", _fake_training(calls))
    monkeypatch.setattr(trained_run, "_trained", {})
    monkeypatch.setenv("VOCMAP_TEST_CACHE", str(tmp_path / "cache"))
    said: list[str] = []
    first = trained_run.make_trained_run(tmp_path / "a", said.append)
    assert first == tmp_path / "a" / "run" and (first / "config.json").is_file()
    assert len(calls) == 1 and said and "training the shared run" in said[0]
    (entry,) = (tmp_path / "cache").glob("trained-run-*[!k]")
    assert (entry / "complete").is_file()
    monkeypatch.setattr(trained_run, "_trained", {})  # a new session
    trained_run.make_trained_run(tmp_path / "b", said.append)
    assert len(calls) == 1  # from the cache


def test_a_half_trained_cache_entry_is_trained_again(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(trained_run, "train_shared_run", _fake_training(calls))
    monkeypatch.setattr(trained_run, "_trained", {})
    monkeypatch.setenv("VOCMAP_TEST_CACHE", str(tmp_path / "cache"))
    half = tmp_path / "cache" / f"trained-run-{trained_run._cache_key()}"
    (half / "run").mkdir(parents=True)  # no "complete": a session killed while training
    trained_run.make_trained_run(tmp_path / "a", lambda _: None)
    assert calls == [half] and (half / "complete").is_file()


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(trained_run, "train_shared_run", _fake_training(calls))
    monkeypatch.setattr(trained_run, "_trained", {})
    monkeypatch.setenv("VOCMAP_TEST_CACHE", "off")
    trained_run.make_trained_run(tmp_path, lambda _: None)
    assert calls == [tmp_path / "trained_run_cache"]
