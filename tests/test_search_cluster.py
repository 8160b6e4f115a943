"""A search on a two-node Ray cluster (two raylets on this machine): trials spread over both nodes."""

from __future__ import annotations

from pathlib import Path

from neurotrade.config import parse_strategy
from neurotrade.search import load_study, tune

SPEC = """
name: spread
data: {source: synthetic, bars: 900}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14]}
split: {folds: 2}
model: {hidden: [8]}
training: {epochs: 2}
search:
  trials: 4
  pruner: none
  space:
    training.learning_rate: {loguniform: [1.0e-3, 1.0e-2]}
"""


def test_trials_spread_over_both_nodes_of_a_cluster(tmp_path: Path) -> None:
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        outcome = tune(parse_strategy(SPEC), home=tmp_path, address=cluster.address, workers=2)
        assert outcome.complete == 4
        nodes = {t.user_attrs["node"] for t in load_study(tmp_path, "spread").trials}
        assert len(nodes) == 2, nodes  # one trial per CPU, one CPU per node: both nodes ran trials
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
