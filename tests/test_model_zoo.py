"""Every model type trains through the run with its example strategy; seeds report their spread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurotrade.cli import main
from neurotrade.config import load_strategy, parse_strategy
from neurotrade.models import model_types
from neurotrade.pipeline import run

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = {load_strategy(p).model.type: p for p in sorted((REPO / "strategies").glob("*.yaml"))}


def quick(path: Path):
    """The example strategy, shortened: two folds, two epochs."""
    spec = load_strategy(path)
    return spec.model_copy(
        update={
            "split": spec.split.model_copy(update={"folds": 2}) if spec.split.method == "walk_forward" else spec.split,
            "training": spec.training.model_copy(update={"epochs": 2}),
        }
    )


def test_every_model_type_has_an_example_strategy() -> None:
    assert set(model_types()) <= set(EXAMPLES), f"no example strategy for {set(model_types()) - set(EXAMPLES)}"


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_model_type_trains_through_run(kind: str, tmp_path: Path) -> None:
    result = run(quick(EXAMPLES[kind]), home=tmp_path)
    aggregate = result.metrics["aggregate"]
    assert result.metrics["model"]["type"] == kind
    assert aggregate["test_samples"] > 0 and aggregate["strategy"]["final_equity"] > 0
    assert set(aggregate["baselines"]) == {"logistic", "lorentzian_knn"}
    assert (result.bundle.path / "weights.safetensors").is_file()
    assert not (tmp_path / "checkpoints" / result.strategy.name).exists()  # cleaned up once the run finished
    importance = json.loads((result.run_dir / "importance.json").read_text())["log_loss_increase"]
    assert set(importance) == load_bundle_features(result)
    bins = json.loads((result.run_dir / "calibration.json").read_text())["bins"]  # from the validation rows
    assert sum(b["count"] for b in bins) == sum(f["split"]["validation"]["samples"] for f in result.metrics["folds"])
    assert (result.run_dir / "attention.json").is_file() == (kind == "transformer")
    assert (result.run_dir / "latent.parquet").is_file() == (kind == "regime")


def load_bundle_features(result) -> set[str]:
    return set(json.loads((result.bundle.path / "features.json").read_text())["resolved_features"])


def test_fuzzy_rules_appear_in_the_run_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzzy.yaml"
    path.write_text(
        "name: fz\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}, adx_14: {}}\n"
        "nn_inputs: {indicators: [rsi_14, adx_14]}\nsplit: {folds: 2}\nmodel: {type: fuzzy, rules: 8}\n"
        "training: {epochs: 3}\n"
    )
    with pytest.raises(SystemExit) as done:
        main(["--home", str(tmp_path), "run", str(path)])
    out = capsys.readouterr().out
    assert done.value.code in (0, None)
    assert "rule: IF 1d_" in out and " THEN " in out


def test_seeds_report_mean_and_spread(tmp_path: Path) -> None:
    spec = parse_strategy(
        "name: s\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
        "split: {folds: 2}\ntraining: {epochs: 2, seeds: [1, 2, 3]}\n"
    )
    seeds = run(spec, home=tmp_path).metrics["seeds"]
    assert seeds["seeds"] == [1, 2, 3]
    accuracy = seeds["aggregate"]["classification"]["accuracy"]
    assert set(accuracy) == {"mean", "std"} and 0 < accuracy["mean"] < 1 and accuracy["std"] >= 0
