"""The spec refuses what would hurt before anything runs (issue 9, items 10, 11 and 12): alias bombs, deep nesting and
huge integers in the YAML; bools, infinities and unbounded sizes in number fields; models too large to train."""

from __future__ import annotations

import time
import tracemalloc
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from neurotrade.cli import main
from neurotrade.config import Strategy, load_strategy, parse_strategy
from neurotrade.config._base import DEFAULT_MAX_PARAMETERS, Section
from neurotrade.config._size import feature_count
from neurotrade.config._yaml import MAX_DEPTH, MAX_VALUES
from neurotrade.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
BASE = "name: t\nindicators:\n  rsi_14: {period: 14}\nnn_inputs: {indicators: [rsi_14]}\n"

# The classic "billion laughs": nine levels of nine aliases each, 9**9 strings once expanded, in 342 bytes.
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join(['lol'] * 9) if prev is None else ', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_strategy(text, source="x.yaml")
    return info.value.problems


def validate(file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """``neurotrade validate FILE``: the exit code and the lines it printed."""
    with pytest.raises(SystemExit) as info:
        main(["validate", str(file)])
    out = capsys.readouterr()
    return int(info.value.code or 0), (out.out + out.err).strip().splitlines()


# Item 10: aliases


def test_an_alias_bomb_is_refused_at_its_line_quickly_and_in_little_memory() -> None:
    assert len(ALIAS_BOMB) < 400
    tracemalloc.start()
    start = time.perf_counter()
    try:
        found = problems(ALIAS_BOMB)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == [
        f"x.yaml:6 f[0]: alias *e expands the document past {MAX_VALUES:,} values (aliases of aliases multiply); "
        "write the values out or use fewer nested aliases"
    ]
    assert elapsed < 1.0  # measured ~0.01 s; the unguarded loader never finishes
    assert peak < 20 * 2**20


def test_an_alias_inside_the_value_it_names_is_refused() -> None:
    assert problems("name: t\nx: &a [1, *a]\n") == [
        "x.yaml:2 x[1]: alias *a is used inside the value it names; write the value out"
    ]


def test_aliases_within_the_budget_still_work() -> None:
    text = BASE + "fuzzy_sets:\n  rsi_14: &sets {low: [0, 0, 30, 40], high: [60, 70, 100, 100]}\n"
    spec = parse_strategy(text + "training: {seeds: &s [1, 2]}\n")
    assert list(spec.fuzzy_sets["rsi_14"]) == ["low", "high"] and spec.training.seeds == [1, 2]


def test_aliases_cannot_nest_values_deeper_than_the_budget() -> None:
    deep = "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2)
    (problem,) = problems(f"name: t\nx: &a {deep}\ny: [[[*a]]]\n")
    assert problem == f"x.yaml:3 y[0][0][0]: alias *a nests values more than {MAX_DEPTH} levels deep"


# Item 12 (config part): deep nesting and huge integers are located ConfigErrors, exit 2 from the CLI


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: t\nmodel: " + "[" * 10_000 + "]" * 10_000 + "\n",
            f"x.yaml:2 model[0][0][0][0][0][0][0]...: values nest more than {MAX_DEPTH} levels deep; "
            "a strategy needs a handful",
        ),
        (
            "name: t\nmodel:\n  x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
            f"x.yaml:3 model.x.a.a.a.a.a.a...: values nest more than {MAX_DEPTH} levels deep; "
            "a strategy needs a handful",
        ),
        (
            "name: t\nseed: " + "7" * 5_000 + "\n",
            "x.yaml:2 seed: an integer of 5,000 digits is far beyond what any setting accepts (at most 100 digits "
            "are read); check the value",
        ),
        (
            "name: t\ntraining:\n  seeds: [1, !!int '" + "7" * 5_000 + "']\n",
            "x.yaml:3 training.seeds[1]: an integer of 5,000 digits is far beyond what any setting accepts (at most "
            "100 digits are read); check the value",
        ),
        (  # hex letters are digits too: 0x + 5,000 f's would reach Python's int-string limit (exit 1)
            "name: t\nseed: 0x" + "f" * 5_000 + "\n",
            "x.yaml:2 seed: an integer of 5,000 digits is far beyond what any setting accepts (at most 100 digits "
            "are read); check the value",
        ),
    ],
    ids=["brackets", "braces", "digits", "tagged-digits", "hex-digits"],
)
def test_nesting_and_digits_are_one_located_line(tmp_path: Path, capsys, text: str, expected: str) -> None:
    assert problems(text) == [expected]  # was RecursionError / ValueError: exit 1 with a traceback
    file = tmp_path / "x.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_strategy(file)
    assert info.value.problems == [expected.replace("x.yaml", str(file), 1)]
    code, lines = validate(file, capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].endswith(expected.replace("x.yaml", str(file), 1))


def test_the_alias_bomb_exits_2_from_validate(tmp_path: Path, capsys) -> None:
    file = tmp_path / "bomb.yaml"
    file.write_text(ALIAS_BOMB)
    code, lines = validate(file, capsys)
    assert code == 2 and len(lines) == 1 and f"{file}:6 f[0]: alias *e expands the document" in lines[0]


# Item 11: strict, finite, bounded numbers


BOOL_FOR_NUMBER = {
    "batch_size": ("training: {batch_size: true}", "training.batch_size: must be an integer from 1 to 1000000"),
    "commission_pct": ("backtest: {commission_pct: true}", "backtest.commission_pct: must be a number >= 0 and < 100"),
    "lookahead": ("labels: {lookahead: true}", "labels.lookahead: must be an integer from 1 to 10000"),
    "hidden": ("model: {hidden: [true, 8]}", "model.hidden[0]: must be an integer from 1 to 65536"),
    "seed": ("seed: true", "seed: must be an integer from 0 to 4294967295"),
    "seeds": ("training: {seeds: [1, yes]}", "training.seeds[1]: must be an integer from 0 to 4294967295"),
}


@pytest.mark.parametrize("name", sorted(BOOL_FOR_NUMBER))
def test_true_is_not_1(name: str) -> None:
    section, expected = BOOL_FOR_NUMBER[name]
    assert problems(BASE + section + "\n") == [f"x.yaml:5 {expected}, got True"]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("split: {folds: 2.0}", "split.folds: must be an integer from 1 to 100, got 2.0"),
        ("training: {amp: 1}", "training.amp: must be 'auto', true or false, got 1"),
        ("decisions: {allow_short: 1}", "decisions.allow_short: must be true or false, got 1"),
    ],
    ids=["float-for-int", "1-for-amp", "1-for-bool"],
)
def test_numbers_and_bools_are_not_each_other(section: str, expected: str) -> None:
    assert problems(BASE + section + "\n") == [f"x.yaml:5 {expected}"]


FINITE_AND_BOUNDED = {
    "patience": (
        f"training: {{early_stopping: {{patience: {10**30}}}}}",
        f"training.early_stopping.patience: must be an integer from 1 to 100000, got {10**30}",
    ),
    "grad_clip-inf": (
        "training: {grad_clip: .inf}",
        "training.grad_clip: must be a finite number > 0 and <= 1e+06, got inf",
    ),
    "grad_clip-nan": (
        "training: {grad_clip: .nan}",
        "training.grad_clip: must be a finite number > 0 and <= 1e+06, got nan",
    ),
    "weight_decay": (
        "training: {weight_decay: 1e300}",
        "training.weight_decay: must be a number from 0 to 10, got 1e+300",
    ),
    "initial_cash": (
        "backtest: {initial_cash: .inf}",
        "backtest.initial_cash: must be a finite number > 0 and <= 1e+15, got inf",
    ),
    "breakpoint": (
        "fuzzy_sets: {rsi_14: {low: [0, .inf, 30]}}",
        "fuzzy_sets.rsi_14.low[1]: must be a finite number, got inf",
    ),
    "seed-digits": ("seed: " + "9" * 40, "seed: must be an integer from 0 to 4294967295, got " + "9" * 40),
    "layers": (
        f"model: {{hidden: {[8] * 33}}}",
        f"model.hidden: list should have at most 32 items after validation, not 33, got {[8] * 33}",
    ),
}


@pytest.mark.parametrize("name", sorted(FINITE_AND_BOUNDED))
def test_numbers_are_finite_and_bounded(name: str) -> None:
    section, expected = FINITE_AND_BOUNDED[name]
    assert problems(BASE + section + "\n") == [f"x.yaml:5 {expected}"]


def test_exponents_without_a_dot_are_numbers() -> None:
    # YAML 1.1 reads 1e-3 as text; strict number fields would then refuse what JSON and YAML 1.2 call a number.
    spec = parse_strategy(BASE + "training: {learning_rate: 1e-3, schedule: {type: plateau, min_lr: 1E-7}}\n")
    assert spec.training.learning_rate == 0.001 and spec.training.schedule.min_lr == 1e-7
    assert parse_strategy(spec.model_dump_json(), source="spec.json") == spec  # json writes 1e-07


def _sections(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        for tp in _leaf_types(field.annotation):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                _sections(tp, seen)


def _leaf_types(tp: Any) -> list[Any]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Annotated:
        return _leaf_types(args[0])
    return [leaf for arg in args for leaf in _leaf_types(arg)] if args else [tp]


SECTIONS: set[type[BaseModel]] = set()
_sections(Strategy, SECTIONS)
# Fuzzy set breakpoints are values of the indicator they describe: finite, but not bounded by the spec.
UNBOUNDED_VALUES = (
    {("BellSet", f) for f in ("center", "width", "slope")}
    | {
        ("GaussianSet", "mean"),
        ("GaussianSet", "sigma"),
        ("SigmoidSet", "center"),
        ("SigmoidSet", "slope"),
        ("TrapezoidalSet", "points"),
        ("TriangularSet", "points"),
    }
    | {("PrimarySide", f) for f in ("long_below", "long_above", "short_above", "short_below")}
    # A search's bounds are values of the spec key they vary, bounded by that key when the extremes are checked.
    | {("LogUniform", "loguniform"), ("Uniform", "uniform")}
)  # indicator units


@pytest.mark.parametrize("section", sorted(SECTIONS, key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_every_number_is_strict_finite_and_every_size_bounded(section: type[BaseModel]) -> None:
    if issubclass(section, Section):
        assert section.model_config.get("strict") is True and section.model_config.get("allow_inf_nan") is False
    schema = section.model_json_schema()
    unbounded: list[str] = []

    def walk(node: Any, where: tuple[Any, ...], field: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "integer" and not {"maximum", "exclusiveMaximum"} & set(node):
                unbounded.append(f"{field}: integer without a maximum")
            exempt = (section.__name__, field) in UNBOUNDED_VALUES
            if kind == "number" and not exempt and not {"maximum", "exclusiveMaximum"} & set(node):
                unbounded.append(f"{field}: number without a maximum")
            if kind == "array" and "maxItems" not in node:
                unbounded.append(f"{field}: list without maxItems")
            if kind == "string" and not {"maxLength", "enum", "const", "pattern"} & set(node):
                unbounded.append(f"{field}: text without maxLength")
            if (
                kind == "object"
                and node.get("additionalProperties") not in (None, False)
                and "maxProperties" not in node
            ):
                unbounded.append(f"{field}: mapping without maxProperties")
            for key, value in node.items():
                if key == "$defs":
                    continue  # nested sections are checked on their own
                walk(value, (*where, key), str(key) if where[-1:] == ("properties",) else field)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*where, i), field)

    walk(schema, (), "")
    assert unbounded == []


# Item 11: a parameter-count estimate checked against model.max_parameters


def test_a_model_too_large_to_train_is_refused_with_its_size_and_the_key_to_raise() -> None:
    (problem,) = problems(BASE + "model: {hidden: [65536, 65536]}\n")
    assert problem == (
        "x.yaml:5 model: the mlp would have 4,295,360,515 parameters on 1 feature column (about 68.7 GB to train), "
        f"more than model.max_parameters ({DEFAULT_MAX_PARAMETERS:,}); make it smaller (fewer or narrower layers, "
        "fewer inputs), or raise model.max_parameters if the machine can hold it"
    )
    raised = parse_strategy(BASE + "model: {hidden: [65536, 65536], max_parameters: 5000000000}\n")
    assert raised.model.max_parameters == 5_000_000_000


def test_the_size_counts_every_input_column_and_ensemble_member() -> None:
    # 20 inputs per timeframe x 2 timeframes x 3 lags = 120 columns: the transformer's embedding grows with them.
    text = (
        "name: t\ndata: {timeframe: 1h}\nindicators: {rsi_14: {}}\n"
        "nn_inputs: {indicators: [rsi_14], context: {returns: [" + ", ".join(map(str, range(1, 20))) + "]}, "
        "timeframes: [1h, 1d], lookback_periods: 2}\n"
        "model:\n  type: ensemble\n  members:\n    - {type: transformer, d_model: 1024, heads: 4, layers: 4, "
        "feed_forward: 4096, lookback: 30, max_parameters: 1000000}\n    - {hidden: [8]}\n"
    )
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("x.yaml:5 model: the ensemble would have 50,5")
    assert found[1].startswith("x.yaml:8 model.members[0]: the transformer would have 50,5")
    assert "on 120 feature columns" in found[1] and "model.members[0].max_parameters (1,000,000)" in found[1]


MODEL_SPECS = {
    "mlp": {"hidden": [16, 8]},
    "lstm": {"type": "lstm", "lookback": 5, "hidden": 6, "layers": 2, "bidirectional": True},
    "gru": {"type": "gru", "lookback": 5, "hidden": 6, "layers": 3},
    "cnn": {"type": "cnn", "lookback": 9, "kernel_sizes": [3, 5], "filters": 4, "layers": 2},
    "transformer-cls": {"type": "transformer", "lookback": 6, "d_model": 8, "heads": 2, "pooling": "cls"},
    "transformer-sin": {"type": "transformer", "lookback": 6, "d_model": 8, "heads": 2, "positions": "sinusoidal"},
    "regime": {"type": "regime", "lookback": 6, "d_model": 8, "heads": 2, "latent_dim": 3},
    "fuzzy": {"type": "fuzzy", "rules": 12, "sets_per_input": 4},
    "fuzzy-triangular": {"type": "fuzzy", "rules": 5, "membership": "triangular"},
    "ensemble": {"type": "ensemble", "members": [{"hidden": [4]}, {"type": "gru", "lookback": 4, "hidden": 3}]},
}


@pytest.mark.parametrize("name", sorted(MODEL_SPECS))
def test_the_parameter_count_is_that_of_the_built_network(name: str) -> None:
    from neurotrade.models import build_model

    spec = Strategy.model_validate({"name": "t", "model": {"type": "mlp", **MODEL_SPECS[name]}}).model
    net = build_model(spec, n_inputs=7, n_classes=3)
    assert spec.parameters(7, 3) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("path", sorted((REPO / "strategies").glob("*.yaml")), ids=lambda p: p.name)
def test_the_feature_count_is_that_of_the_feature_names(path: Path) -> None:
    from neurotrade.features import cross_section_columns, resolve_features, symbol_columns

    spec = load_strategy(path)
    names = resolve_features(spec) + [name for _, name, _ in cross_section_columns(spec)]
    if spec.nn_inputs.symbol_embedding:
        names += symbol_columns(spec.data.symbols)
    assert feature_count(spec) == len(names)


def test_the_data_section_reaches_the_readers_new_options(tmp_path: Path) -> None:
    """implausible-drop, max_move and incomplete are spec keys, so the fixes error messages suggest validate."""
    (tmp_path / "bars.csv").write_text("time,open,high,low,close,volume\n")
    spec = parse_strategy(
        f"name: x\ndata: {{source: file, path: {tmp_path / 'bars.csv'}, repair: [implausible-drop], max_move: 20, "
        "incomplete: mark}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    )
    assert (spec.data.repair, spec.data.max_move, spec.data.incomplete) == (["implausible-drop"], 20.0, "mark")
    for symbol in (".", "..", "...", "-x"):
        with pytest.raises(ConfigError, match=r"data\.symbol"):
            parse_strategy(f"name: x\ndata: {{symbol: '{symbol}'}}\nindicators: {{rsi_14: {{}}}}\n")
