"""Seed variance: mean and standard deviation of every numeric leaf, the shape of the documents kept."""

from __future__ import annotations

import numpy as np
import pytest

from neurotrade.errors import ModelError
from neurotrade.training import classification_metrics, summarize_seeds


def test_numeric_leaves_nested_and_in_lists() -> None:
    docs = [
        {"accuracy": 0.5, "per_class": {"BUY": {"f1": 0.2}}, "confusion_matrix": [[1, 2]], "stopped_early": True},
        {"accuracy": 0.6, "per_class": {"BUY": {"f1": 0.4}}, "confusion_matrix": [[3, 2]], "stopped_early": False},
        {"accuracy": 0.7, "per_class": {"BUY": {"f1": 0.6}}, "confusion_matrix": [[5, 2]], "stopped_early": False},
    ]
    summary = summarize_seeds(docs)
    assert summary["accuracy"] == pytest.approx({"mean": 0.6, "std": 0.1})
    assert summary["per_class"]["BUY"]["f1"] == pytest.approx({"mean": 0.4, "std": 0.2})
    assert summary["confusion_matrix"] == [[{"mean": 3.0, "std": 2.0}, {"mean": 2.0, "std": 0.0}]]
    assert summary["stopped_early"]["mean"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(summary["accuracy"]["std"], np.std([0.5, 0.6, 0.7], ddof=1))


def test_one_seed_has_zero_spread_and_text_is_kept_or_listed() -> None:
    assert summarize_seeds([{"a": 2, "name": "HOLD"}]) == {"a": {"mean": 2.0, "std": 0.0}, "name": "HOLD"}
    assert summarize_seeds([{"name": "HOLD"}, {"name": "BUY"}]) == {"name": {"values": ["HOLD", "BUY"]}}


def test_real_metrics_documents_summarise() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    docs = []
    for seed in range(3):
        proba = np.random.default_rng(seed).dirichlet(np.ones(3), size=60)
        docs.append(classification_metrics(y, proba, ("SELL", "HOLD", "BUY")))
    summary = summarize_seeds(docs)
    assert summary["majority_class"] == docs[0]["majority_class"]
    assert summary["samples"] == {"mean": 60.0, "std": 0.0}
    assert summary["ece"]["mean"] == pytest.approx(np.mean([d["ece"] for d in docs]))


def test_documents_of_different_shapes_are_refused() -> None:
    with pytest.raises(
        ModelError,
        match=r"the metrics of seed #1 differ in shape from the first seed's at "
        r"per_class: it lacks 'BUY'; summarise documents from the same training only",
    ):
        summarize_seeds([{"per_class": {"BUY": 1, "SELL": 2}}, {"per_class": {"SELL": 2}}])
    with pytest.raises(ModelError, match=r"at m\[0\]: it is list \[1\], the first seed's is int 1"):
        summarize_seeds([{"m": [1]}, {"m": [[1]]}])
    with pytest.raises(ModelError, match="at least one seed"):
        summarize_seeds([])
