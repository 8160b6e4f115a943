"""Issue 9 item 12 (bundles): a bundle whose spec no longer validates is a located user error, never a crash."""

from __future__ import annotations

import re

import pytest

from neurotrade.cli import main
from neurotrade.errors import StoreError
from neurotrade.store import bundle_strategy, load_bundle, save_bundle

LOCATED = re.compile(
    r"bundle old/1d_v1: models/old/1d_v1/spec\.json:(?P<line>\d+) model\.hiddn: unknown key 'hiddn'; did you mean "
    r"'hidden'\? This neurotrade \(.+\) cannot read the spec the bundle was saved with \(by neurotrade .+, see "
    r"environment\.json\); 2 problems, the first shown: retrain the strategy to save a bundle it reads, or load this "
    r"one with the version that saved it\."
)


@pytest.fixture
def old_home(trained_home, tmp_path):
    """A bundle ``old/1d_v1`` whose spec (as an older schema, or a hand edit, would have it) does not validate."""
    bundle = load_bundle(trained_home / "models", "tiny_mlp")
    spec = dict(bundle.documents["spec"])
    spec["model"] = {**spec["model"], "hiddn": [8]}
    spec["training"] = {**spec["training"], "epochs": 0}
    save_bundle(tmp_path / "models", "old", "1d", weights=bundle.weights, documents={**bundle.documents, "spec": spec})
    return tmp_path


def test_the_first_problem_is_named_by_file_line_and_key(old_home):
    with pytest.raises(StoreError) as info:
        bundle_strategy(load_bundle(old_home / "models", "old"))
    message = str(info.value)
    match = LOCATED.fullmatch(message)
    assert match, message
    lines = (old_home / "models" / "old" / "1d_v1" / "spec.json").read_text().splitlines()
    assert lines[int(match["line"]) - 1].strip() == '"hiddn": ['


def test_a_spec_that_validates_is_returned(trained_home):
    spec = bundle_strategy(load_bundle(trained_home / "models", "tiny_mlp"))
    assert (spec.name, spec.model.hidden) == ("tiny_mlp", [8])


def test_a_bundle_without_a_spec_is_refused(tmp_path, weights):
    save_bundle(tmp_path / "models", "bare", "1d", weights=weights, documents={"seed": 1})
    with pytest.raises(StoreError, match=r"bundle bare/1d_v1 has no spec\.json document; .* Retrain the strategy"):
        bundle_strategy(load_bundle(tmp_path / "models", "bare"))


def test_the_decision_engine_reports_it_as_a_store_error(old_home):
    from neurotrade.decision import DecisionEngine

    with pytest.raises(StoreError) as info:
        DecisionEngine.from_bundle(load_bundle(old_home / "models", "old"))
    assert LOCATED.fullmatch(str(info.value)), str(info.value)


def _main(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr()


def test_backtest_exits_2_with_one_located_line(old_home, capsys):
    yaml = old_home / "old.yaml"
    yaml.write_text(
        "name: old\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    )
    code, out = _main(capsys, "--home", str(old_home), "backtest", str(yaml))
    assert code == 2, out.err
    err = " ".join(out.err.split())
    assert err.startswith("error: bundle old/1d_v1: models/old/1d_v1/spec.json:"), err
    assert "model.hiddn: unknown key 'hiddn'; did you mean 'hidden'?" in err
    assert "Traceback" not in out.err


def test_models_export_exits_2_with_one_located_line(old_home, capsys):
    pytest.importorskip("onnxscript")
    code, out = _main(capsys, "--home", str(old_home), "models", "export", "old", "--out", str(old_home / "o.onnx"))
    assert code == 2, out.err
    err = " ".join(out.err.split())
    assert err.startswith("error: bundle old/1d_v1: models/old/1d_v1/spec.json:"), err
    assert "retrain the strategy to save a bundle it reads" in err
    assert not (old_home / "o.onnx").exists()


def test_a_spec_edited_into_a_huge_network_is_refused_before_anything_is_built(trained_home, tmp_path):
    """hidden: [65536, 65536] in a bundle's spec built a 4-billion-parameter network (17 GB) before failing."""
    bundle = load_bundle(trained_home / "models", "tiny_mlp")
    spec = {**bundle.documents["spec"], "model": {**bundle.documents["spec"]["model"], "hidden": [65536, 65536]}}
    save_bundle(tmp_path / "models", "huge", "1d", weights=bundle.weights, documents={**bundle.documents, "spec": spec})
    with pytest.raises(StoreError, match=r"bundle huge/1d_v1: .*spec\.json:\d+ model: the mlp would have 4,29"):
        bundle_strategy(load_bundle(tmp_path / "models", "huge"))
