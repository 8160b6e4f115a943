"""Learning-rate schedules: cosine with warm-up as a pure function, plateau as torch's ReduceLROnPlateau."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.training import PlateauScheduler, cosine_lr


def test_cosine_warms_up_then_decays_to_the_floor() -> None:
    rates = [cosine_lr(s, base_lr=1.0, total_steps=20, warmup_steps=4, min_lr=0.1) for s in range(25)]
    assert rates[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert all(a >= b for a, b in itertools.pairwise(rates[4:]))  # never rises after the warm-up
    assert rates[12] == pytest.approx(0.55)  # half-way through the decay: half-way between the ends
    assert rates[20:] == [0.1] * 5
    assert cosine_lr(0, base_lr=0.5, total_steps=10) == 0.5  # no warm-up: starts at the base rate


@settings(max_examples=40, deadline=None)
@given(
    losses=st.lists(st.floats(0.0, 2.0, allow_nan=False), min_size=1, max_size=40),
    factor=st.sampled_from([0.1, 0.5, 0.9]),
    patience=st.integers(0, 4),
    threshold=st.sampled_from([0.0, 1e-3, 0.1]),
    min_lr=st.sampled_from([0.0, 1e-3, 0.2]),
)
def test_plateau_matches_torch(losses, factor, patience, threshold, min_lr) -> None:
    ours = PlateauScheduler(lr=1.0, factor=factor, patience=patience, threshold=threshold, min_lr=min_lr)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=factor, patience=patience, threshold=threshold, threshold_mode="abs", min_lr=min_lr, eps=0
    )
    for loss in losses:
        theirs.step(loss)
        assert ours.step(loss) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)


def test_plateau_state_round_trips() -> None:
    a = PlateauScheduler(lr=1.0, factor=0.5, patience=1, threshold=0.0, min_lr=0.0)
    for loss in (1.0, 0.9, 0.95):
        a.step(loss)
    b = PlateauScheduler(lr=1.0, factor=0.5, patience=1, threshold=0.0, min_lr=0.0)
    b.load_state_dict(a.state_dict())
    assert [a.step(1.0) for _ in range(4)] == [b.step(1.0) for _ in range(4)]
    assert math.isinf(PlateauScheduler(lr=1, factor=0.5, patience=0, threshold=0, min_lr=0).state_dict()["best"])
