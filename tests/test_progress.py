"""Progress: one count of training epochs over the whole run, with a total known up front, and a default bar."""

from __future__ import annotations

from pathlib import Path

from neurotrade import pipeline
from neurotrade.config import parse_strategy

SPEC = parse_strategy(
    "name: progress\ndata: {source: synthetic, bars: 600}\nindicators: {rsi_14: {}}\n"
    "nn_inputs: {indicators: [rsi_14]}\nsplit: {folds: 2}\n"
    "training: {epochs: 6, seeds: [1, 2], early_stopping: {patience: 1}}\n"
)


def test_one_count_covers_seeds_folds_and_epochs(tmp_path: Path) -> None:
    events: list = []
    pipeline.run(SPEC, home=tmp_path, progress=events.append)
    total = 2 * 2 * 6  # seeds x folds x epochs
    training = [e for e in events if e.total is not None]
    assert {e.total for e in training} == {total}
    done = [e.done for e in training]
    assert done == sorted(done), "the count never goes back"
    assert done[-1] == total, "a fit that stopped early counts as finished"
    later = [e for e in events if e.stage in ("evaluate", "save", "report")]
    assert later and all(e.done == e.total for e in later[-2:]), "no stale count after training"


def test_a_bar_by_default_in_a_terminal_and_none_when_asked(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(pipeline, "_interactive", lambda: True)
    spec = SPEC.model_copy(update={"training": SPEC.training.model_copy(update={"seeds": None, "epochs": 2})})
    pipeline.run(spec, home=tmp_path)
    err = capsys.readouterr().err
    assert "4/4" in err and "epoch" in err
    pipeline.run(spec, home=tmp_path, progress=False)
    assert "epoch" not in capsys.readouterr().err  # log lines may be there, never a bar


def test_no_bar_when_nobody_watches(tmp_path: Path, capsys) -> None:
    spec = SPEC.model_copy(update={"training": SPEC.training.model_copy(update={"seeds": None, "epochs": 1})})
    pipeline.run(spec, home=tmp_path)
    assert "epoch" not in capsys.readouterr().err
