"""The regime-change score: batch and streaming agree bit for bit, and a planted regime change scores highest."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurotrade.errors import ModelError
from neurotrade.models import RegimeChangeScore, regime_change_score


def test_batch_equals_streaming_bit_for_bit() -> None:
    latents = np.random.default_rng(0).normal(size=(300, 4)) * np.array([1.0, 1e-3, 10.0, 0.5])
    batch = regime_change_score(latents, window=20)
    stream = RegimeChangeScore(20)
    streamed = np.array([stream.update(z) for z in latents])
    assert batch.dtype == np.float64 and batch.shape == (300,)
    assert np.array_equal(batch, streamed, equal_nan=True)
    assert np.isnan(batch[:40]).all() and np.isfinite(batch[40:]).all()


def test_the_definition_by_hand() -> None:
    rng = np.random.default_rng(1)
    latents, w = rng.normal(size=(30, 3)), 5
    score = regime_change_score(latents, window=w)
    d = {t: np.linalg.norm(latents[t] - latents[t - w : t].mean(axis=0)) for t in range(w, 30)}
    for t in range(2 * w, 30):
        expected = d[t] / math.sqrt(np.mean([d[s] ** 2 for s in range(t - w, t)]))
        assert score[t] == pytest.approx(expected, rel=1e-12)


def test_a_planted_jump_gives_the_largest_score_at_the_jump() -> None:
    rng = np.random.default_rng(2)
    latents = 0.1 * rng.normal(size=(200, 3))  # (T, Z) a noisy, steady regime
    latents[120:] += np.array([1.0, -0.5, 0.3])  # the regime changes at bar 120
    score = regime_change_score(latents, window=15)
    assert int(np.nanargmax(score)) == 120
    assert score[120] > 5 and np.nanmedian(score[:120]) == pytest.approx(1.0, abs=0.3)


def test_no_look_ahead_a_later_latent_never_changes_an_earlier_score() -> None:
    latents = np.random.default_rng(3).normal(size=(80, 2))
    changed = latents.copy()
    changed[50:] += 100.0
    np.testing.assert_array_equal(regime_change_score(latents, 6)[:50], regime_change_score(changed, 6)[:50])


def test_a_latent_that_does_not_move_has_no_score() -> None:
    assert np.isnan(regime_change_score(np.ones((30, 2)), window=3)).all()


def test_bad_inputs_are_model_errors() -> None:
    for window in (0, -1, 2.5, True):
        with pytest.raises(ModelError, match="window must be a whole number"):
            RegimeChangeScore(window)
    with pytest.raises(ModelError, match=r"shape \(T, Z\)"):
        regime_change_score(np.zeros(5), 2)
    stream = RegimeChangeScore(2)
    stream.update([0.0, 1.0])
    with pytest.raises(ModelError, match="had 2 dimensions, this one has 3"):
        stream.update([0.0, 1.0, 2.0])
    with pytest.raises(ModelError, match="not finite"):
        stream.update([np.nan, 0.0])
