"""The ``training:`` section: optimizers, losses, schedules, clipping, AMP and seeds, and their error messages."""

from __future__ import annotations

import pytest

from neurotrade.config import Strategy, TrainingSpec, parse_strategy
from neurotrade.errors import ConfigError

BASE = "name: t\nindicators:\n  rsi_14: {period: 14}\nnn_inputs: {indicators: [rsi_14]}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_strategy(text, source="x.yaml")
    return info.value.problems


def test_defaults_keep_the_old_behaviour() -> None:
    spec = TrainingSpec()
    assert (spec.optimizer, spec.loss, spec.schedule.type, spec.grad_clip, spec.amp, spec.seeds) == (
        "adam",
        "cross_entropy",
        "none",
        None,
        "auto",
        None,
    )


def test_a_schedule_by_name_or_mapping() -> None:
    assert TrainingSpec(schedule="plateau").schedule.patience == 5
    cosine = TrainingSpec(schedule={"type": "cosine", "warmup_epochs": 3}).schedule
    assert (cosine.warmup_epochs, cosine.min_lr_ratio) == (3, 0.1)


def test_a_full_training_section_parses() -> None:
    text = BASE + (
        "training:\n  optimizer: adamw\n  loss: focal\n  focal_gamma: 1.5\n"
        "  schedule: {type: cosine, warmup_epochs: 2}\n  grad_clip: 1.0\n  amp: true\n  seeds: [1, 2, 3]\n"
    )
    training = parse_strategy(text, source="x.yaml").training
    assert training.optimizer == "adamw" and training.focal_gamma == 1.5 and training.amp is True
    assert training.seeds == [1, 2, 3] and training.schedule.warmup_epochs == 2


def test_a_resolved_spec_round_trips() -> None:
    spec = Strategy(name="t", training=TrainingSpec(schedule="plateau", seeds=[4, 5], loss="focal"))
    assert Strategy.model_validate(spec.model_dump(mode="json")) == spec


def test_bad_values_name_the_key() -> None:
    found = problems(BASE + "training: {grad_clip: 0, seeds: [1, 1], schedule: {type: cosine, min_lr_ratio: 2}}\n")
    assert found == [
        "x.yaml:5 training.schedule.min_lr_ratio: must be a number from 0 to 1, got 2",
        "x.yaml:5 training.grad_clip: must be a number > 0 and <= 1e+06, got 0",
        "x.yaml:5 training.seeds: seeds repeat 1; list each seed once",
    ]
    found = problems(BASE + "training: {amp: maybe, loss: focall, optimizer: adamx}\n")
    assert found == [
        "x.yaml:5 training.optimizer: must be one of 'adam', 'adamw', 'sgd', got 'adamx'; did you mean 'adam'?",
        "x.yaml:5 training.loss: must be one of 'cross_entropy', 'focal', got 'focall'; did you mean 'focal'?",
        "x.yaml:5 training.amp: must be one of 'auto', True, False, got 'maybe'",
    ]


def test_schedules_are_named_and_their_keys_checked() -> None:
    assert problems(BASE + "training: {schedule: cosin}\n") == [
        "x.yaml:5 training.schedule: unknown 'type' 'cosin'; did you mean 'cosine'?; must be one of 'none', 'cosine', "
        "'plateau'"
    ]
    assert problems(BASE + "training: {schedule: {warmup_epochs: 3}}\n") == [
        "x.yaml:5 training.schedule: a schedule mapping needs `type: none | cosine | plateau`"
    ]
    assert problems(BASE + "training: {schedule: {type: plateau, warmup_epochs: 3}}\n") == [
        "x.yaml:5 training.schedule.warmup_epochs: unknown key 'warmup_epochs'; allowed keys: factor, min_lr, "
        "patience, threshold, type"
    ]
