"""The strategy spec: one pydantic model per YAML section.

Constraints are declared here once; error messages (with file, line and key path) are derived from them by
``_errors.py``. Checks that need other parts of the package (indicator parameters, references between sections)
live in ``_references.py``.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_serializer, model_validator

from neurotrade.config._base import Section
from neurotrade.config._live import LiveSpec
from neurotrade.config._model_composite import EnsembleSpec, FuzzyModelSpec, RegimeSpec
from neurotrade.config._model_specs import CNNSpec, GRUSpec, LSTMSpec, MLPSpec, TransformerSpec
from neurotrade.config._search import SearchSpec
from neurotrade.fuzzy import FuzzySet, breakpoint_problem

Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", max_length=64)]
Timeframe = Annotated[str, Field(pattern=r"^[1-9][0-9]*(m|h|d|w)$", max_length=8)]
# Generous caps on how many things a spec may list: far above any real strategy, far below what exhausts memory.
MAX_INDICATORS = 1000
MAX_SETS_PER_OUTPUT = 64
MAX_INPUT_NAMES = 10_000
InputName = Annotated[str, Field(max_length=200)]
# A symbol becomes a folder name in the store: it starts with a letter or digit, so `.` and `..` cannot.
Symbol = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", max_length=64)]
MAX_SYMBOLS = 5000


class DataSpec(Section):
    """Where the bars come from.

    ``source: sample`` reads the bundled real daily bars (split-adjusted on load), ``store`` the workspace's data
    store, ``file`` a CSV or Parquet file, ``synthetic`` the seeded generator used by tests.
    """

    source: Literal["sample", "store", "file", "synthetic"] = "sample"
    symbol: Symbol = "AAPL"
    # A universe: several symbols on one time axis, one model trained on all of them (see neurotrade.universe).
    # A list of symbols (a file source reads `path` with `{symbol}` in it), a count of seeded synthetic symbols,
    # or `universe: NAME` listed in the workspace's universes.yaml.
    symbols: (
        Annotated[list[Symbol], Field(min_length=1, max_length=MAX_SYMBOLS)]
        | Annotated[int, Field(ge=1, le=MAX_SYMBOLS)]
        | None
    ) = None
    universe: Name | None = None
    timeframe: Timeframe = "1d"
    path: Annotated[str, Field(max_length=4096)] | None = None
    repair: Annotated[list[Literal["sort", "dedupe", "split-adjust", "implausible-drop"]], Field(max_length=4)] = []
    timezone: Annotated[str, Field(max_length=64)] = "UTC"
    bars: Annotated[int, Field(ge=300, le=10_000_000)] = 3000
    # A file's bar whose prices move beyond this factor from the previous close is refused as implausible
    # (`repair: [implausible-drop]` drops short runs of such bars instead); null turns the check off.
    max_move: Annotated[float, Field(gt=1, le=1e6)] | None = 10.0
    # Resampling to a coarser timeframe: a period missing bars its session expects is dropped, or kept and
    # reported (mark), or kept without a word (keep).
    incomplete: Literal["drop", "mark", "keep"] = "drop"
    # Only bars strictly before this time (ISO date or time, UTC unless it names a zone) are loaded: every stage
    # then works as if the history ended there. The search's locked holdout is made this way.
    end: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("end", mode="before")
    @classmethod
    def _a_time(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str | datetime.date):  # YAML reads an unquoted 2012-06-30 as a date
            raise ValueError(f"{value!r} is not a date or time (write 2012-06-30 or 2012-06-30T16:00)")
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{value!r} is not a date or time (write 2012-06-30 or 2012-06-30T16:00)") from error
        if pd.isna(stamp):
            raise ValueError(f"{value!r} is not a date or time")
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.isoformat()

    @property
    def instrument(self) -> str:
        """What the bars are of, for display: the symbol, the universe, or ``synthetic``."""
        if self.universe is not None:
            return f"universe {self.universe}"
        if isinstance(self.symbols, int):
            return f"{self.symbols} synthetic symbols"
        if self.symbols is not None:
            shown = ", ".join(self.symbols[:6]) + (
                f" and {len(self.symbols) - 6} more" if len(self.symbols) > 6 else ""
            )
            return f"[{shown}]"
        return "synthetic" if self.source == "synthetic" else self.symbol

    @property
    def is_universe(self) -> bool:
        """Whether the strategy names a universe (``symbols`` or ``universe``), even of one symbol."""
        return self.symbols is not None or self.universe is not None

    @model_validator(mode="after")
    def _path_only_for_files(self) -> DataSpec:
        if self.source == "file" and not self.path:
            raise ValueError("source 'file' needs `path: <file.csv or .parquet>`")
        if self.source != "file" and self.path:
            raise ValueError(f"`path` is only read with source 'file' (source is {self.source!r})")
        return self

    @model_serializer(mode="wrap")
    def _without_the_unused_symbol(self, handler: Any) -> Any:
        """A universe's dump leaves out ``symbol`` (unused, at its default), so it validates again as written."""
        out = handler(self)
        if self.is_universe and isinstance(out, dict) and "symbol" not in self.model_fields_set:
            out.pop("symbol", None)
        if self.end is None and isinstance(out, dict):
            out.pop("end", None)  # a spec without an end dumps as before the key existed
        return out

    @model_validator(mode="after")
    def _one_way_to_name_symbols(self) -> DataSpec:
        if self.symbols is not None and self.universe is not None:
            raise ValueError("give `symbols` or `universe`, not both")
        if self.is_universe and "symbol" in self.model_fields_set:
            raise ValueError("give `symbol` (one) or `symbols`/`universe` (a universe), not both")
        if isinstance(self.symbols, int) and self.source != "synthetic":
            raise ValueError(f"a count of symbols ({self.symbols}) is for source 'synthetic'; list the symbols instead")
        if isinstance(self.symbols, list):
            seen = [s.upper() for s in self.symbols]
            doubled = sorted({s for s in seen if seen.count(s) > 1})
            if doubled:
                raise ValueError(f"symbols lists {doubled} more than once")
        several = self.universe is not None or (isinstance(self.symbols, list) and len(self.symbols) > 1)
        several = several or (isinstance(self.symbols, int) and self.symbols > 1)
        if self.source == "file" and several and self.path and "{symbol}" not in self.path:
            raise ValueError("a file source with several symbols needs `{symbol}` in `path`, e.g. data/{symbol}.csv")
        return self


class IndicatorSpec(BaseModel):
    """One named indicator: its registry ``type`` and parameters.

    Written flat in YAML (``rsi_14: {type: rsi, period: 14}``); ``type`` may be left out when the name starts
    with it (``rsi_14`` is an ``rsi``). After loading, ``type`` is always set and ``params`` holds every
    parameter with defaults filled in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Annotated[str, Field(max_length=64)] | None = None
    # Parameter values are checked (strictly: no bool for a number, finite) by the indicator registry.
    params: Annotated[dict[str, Any], Field(max_length=64)] = {}

    @model_validator(mode="before")
    @classmethod
    def _flat_params(cls, data: Any) -> Any:
        if isinstance(data, dict) and "params" not in data:
            params = {k: v for k, v in data.items() if k != "type"}
            return {"type": data.get("type"), "params": params}
        return data


class TriangularSet(Section):
    """``[a, b, c]``: 0 at a, 1 at b, 0 at c."""

    shape: Literal["triangular"] = "triangular"
    points: Annotated[list[float], Field(min_length=3, max_length=3)]

    @model_validator(mode="after")
    def _ordered(self) -> TriangularSet:
        _check_breakpoints(self.shape, self.points)
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "triangular", tuple(self.points))


class TrapezoidalSet(Section):
    """``[a, b, c, d]``: rising over a..b, 1 on b..c, falling over c..d."""

    shape: Literal["trapezoidal"] = "trapezoidal"
    points: Annotated[list[float], Field(min_length=4, max_length=4)]

    @model_validator(mode="after")
    def _ordered(self) -> TrapezoidalSet:
        _check_breakpoints(self.shape, self.points)
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "trapezoidal", tuple(self.points))


class GaussianSet(Section):
    """A bell centred on ``mean`` with width ``sigma``."""

    shape: Literal["gaussian"] = "gaussian"
    mean: float
    sigma: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _finite(self) -> GaussianSet:
        _check_breakpoints(self.shape, [self.mean, self.sigma])
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "gaussian", (self.mean, self.sigma))


class SigmoidSet(Section):
    """An S-curve through 0.5 at ``center``: ``slope > 0`` rises to the right ("high"), ``< 0`` falls ("low").

    The larger ``|slope|``, the sharper the step (membership goes from 0.12 to 0.88 over ``4 / |slope|``).
    """

    shape: Literal["sigmoid"] = "sigmoid"
    center: float
    slope: float

    @model_validator(mode="after")
    def _nonzero_slope(self) -> SigmoidSet:
        _check_breakpoints(self.shape, [self.slope, self.center])
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "sigmoid", (self.slope, self.center))


class BellSet(Section):
    """A generalised bell: 1 at ``center``, 0.5 at ``center ± width``; ``slope`` sets how steep its sides are
    (1 is a gentle bump, the default 2 a rounded plateau, 5 and above nearly flat with sharp edges)."""

    shape: Literal["bell"] = "bell"
    center: float
    width: Annotated[float, Field(gt=0)]
    slope: Annotated[float, Field(gt=0)] = 2.0

    @model_validator(mode="after")
    def _finite(self) -> BellSet:
        _check_breakpoints(self.shape, [self.width, self.slope, self.center])
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "bell", (self.width, self.slope, self.center))


def _check_breakpoints(shape: str, points: list[float]) -> None:
    problem = breakpoint_problem(shape, points)
    if problem:
        raise ValueError(problem)


FuzzySetSpec = Annotated[
    TriangularSet | TrapezoidalSet | GaussianSet | SigmoidSet | BellSet, Field(discriminator="shape")
]


def _shorthand_sets(value: Any) -> Any:
    """Fill in ``shape`` when the keys make it plain.

    ``[a, b, c]`` is a triangular set and ``[a, b, c, d]`` a trapezoidal one; a mapping with ``width`` is a bell,
    one with ``center`` or ``slope`` (and no ``width``) a sigmoid, and any other one a gaussian.
    """
    if not isinstance(value, dict):
        return value
    out = {}
    for name, spec in value.items():
        if isinstance(spec, list | tuple):
            spec = {"points": list(spec)}
        if isinstance(spec, dict) and "shape" not in spec:
            points = spec.get("points")
            if isinstance(points, list) and len(points) == 4:
                spec = {"shape": "trapezoidal", **spec}
            elif "points" in spec:
                spec = {"shape": "triangular", **spec}
            elif "width" in spec:
                spec = {"shape": "bell", **spec}
            elif "slope" in spec or "center" in spec:
                spec = {"shape": "sigmoid", **spec}
            else:
                spec = {"shape": "gaussian", **spec}
        out[name] = spec
    return out


class ContextSpec(Section):
    """Scale-free price and volume context: log returns over k bars, close over its SMA, volume over its SMA."""

    returns: Annotated[list[Annotated[int, Field(ge=1, le=10_000)]], Field(max_length=64)] = []
    price_over_ma: Annotated[list[Annotated[int, Field(ge=2, le=10_000)]], Field(max_length=64)] = []
    volume_ratio: Annotated[list[Annotated[int, Field(ge=2, le=10_000)]], Field(max_length=64)] = []


class CrossSectionSpec(Section):
    """Features of a universe across its symbols, at each bar from that bar's values only: the percentile rank
    (0 lowest .. 1 highest) and the z-score of base features (``rsi_14``, ``ret_20``) over the symbols that have
    the bar. Named ``{tf}_{feature}_xrank`` and ``{tf}_{feature}_xz``."""

    rank: Annotated[list[InputName], Field(max_length=MAX_INPUT_NAMES)] = []
    zscore: Annotated[list[InputName], Field(max_length=MAX_INPUT_NAMES)] = []

    @field_validator("rank", "zscore")
    @classmethod
    def _each_once(cls, names: list[str], info: ValidationInfo) -> list[str]:
        seen = [n for i, n in enumerate(names) if n in names[:i]]
        if seen:
            raise ValueError(f"{', '.join(dict.fromkeys(seen))} listed twice in {info.field_name}: one column each")
        return names


class NNInputsSpec(Section):
    """What the network sees: fuzzy memberships, raw indicator outputs and context, on which timeframes, and how
    many past bars of each.

    ``timeframes`` lists the data's timeframe and coarser ones (``[1h, 1d]``), or ``all`` for the data's timeframe
    and every coarser standard one up to ``1w``; the indicators and fuzzy sets are computed on each. A coarser bar
    is seen by the finer ones only once its period has ended.
    """

    timeframes: Literal["all"] | Annotated[list[Timeframe], Field(max_length=16)] | None = None
    fuzzy: Literal["all"] | Annotated[list[InputName], Field(max_length=MAX_INPUT_NAMES)] = "all"
    indicators: Annotated[list[InputName], Field(max_length=MAX_INPUT_NAMES)] = []
    context: ContextSpec = ContextSpec()
    lookback_periods: Annotated[int, Field(ge=0, le=500)] = 0
    # Universes only: features across the symbols at each bar, and who the network knows each row is of.
    cross_section: CrossSectionSpec = CrossSectionSpec()
    symbol_embedding: bool = False
    scaling: Literal["pooled", "per_symbol"] = "pooled"

    @field_validator("fuzzy", mode="before")
    @classmethod
    def _all_or_names(cls, value: Any) -> Any:
        if value == "all" or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return value
        raise ValueError(f"must be 'all' or a list of fuzzy sets such as ['rsi_14.oversold'], got {value!r}")


class ZigZagLabels(Section):
    """Direction of the next swing of at least ``threshold_pct`` percent that completes within ``lookahead`` bars."""

    type: Literal["zigzag"] = "zigzag"
    threshold_pct: Annotated[float, Field(gt=0, le=100)] = 5.0
    lookahead: Annotated[int, Field(ge=1, le=10_000)] = 20


IndicatorRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$", max_length=128)]
BundleName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*(/[A-Za-z0-9_.-]+)?$", max_length=200)]


class PrimarySide(Section):
    """The primary signal of meta-labelling: the side (+1 long, -1 short, 0 none) decided at each bar's close.

    Exactly one rule:

    - a crossover: ``{fast: sma_10, slow: sma_50}``: long while ``fast > slow``, short while ``fast < slow``;
    - thresholds on one indicator output: ``{indicator: rsi_14, long_below: 30, short_above: 70}`` (mean
      reversion) or ``{indicator: rsi_14, long_above: 60, short_below: 40}`` (momentum); either side may be left out;
    - a saved bundle: ``{bundle: other_strategy}`` (its latest bundle of this timeframe, or ``name/1d_v3``): its
      decision engine's target position at each bar.

    Indicators are named as in the ``indicators`` section (``bbands_20.upper`` for one output of several). Short
    sides count only with ``decisions.allow_short``; otherwise they are no bet.

    Examples
    --------
    >>> PrimarySide(fast="sma_10", slow="sma_50").rule
    'cross'
    """

    fast: IndicatorRef | None = None
    slow: IndicatorRef | None = None
    indicator: IndicatorRef | None = None
    long_below: float | None = None
    long_above: float | None = None
    short_above: float | None = None
    short_below: float | None = None
    bundle: BundleName | None = None

    @property
    def rule(self) -> str:
        """``cross``, ``threshold`` or ``bundle``."""
        if self.bundle is not None:
            return "bundle"
        return "cross" if self.fast is not None else "threshold"

    @property
    def references(self) -> list[str]:
        """The indicator outputs the rule reads."""
        return [name for name in (self.fast, self.slow, self.indicator) if name is not None]

    @model_validator(mode="after")
    def _one_rule(self) -> PrimarySide:
        levels = {k: getattr(self, k) for k in ("long_below", "long_above", "short_above", "short_below")}
        given = {k for k, v in levels.items() if v is not None}
        rules = [
            name
            for name, used in (
                ("cross (fast, slow)", self.fast is not None or self.slow is not None),
                ("threshold (indicator, long_/short_ levels)", self.indicator is not None or bool(given)),
                ("bundle", self.bundle is not None),
            )
            if used
        ]
        if len(rules) != 1:
            raise ValueError(
                "the primary side needs exactly one rule: {fast, slow}, {indicator, long_below/long_above, "
                "short_above/short_below} or {bundle}" + (f"; got {' and '.join(rules)}" if rules else "")
            )
        if rules[0].startswith("cross") and (self.fast is None or self.slow is None):
            raise ValueError("a crossover needs both `fast` and `slow` (e.g. fast: sma_10, slow: sma_50)")
        if rules[0].startswith("threshold"):
            if self.indicator is None:
                raise ValueError("threshold levels need `indicator: <name>` (e.g. indicator: rsi_14)")
            if not given:
                raise ValueError("a threshold rule needs a level: long_below, long_above, short_above or short_below")
            if self.long_below is not None and self.long_above is not None:
                raise ValueError("give long_below or long_above, not both")
            if self.short_above is not None and self.short_below is not None:
                raise ValueError("give short_above or short_below, not both")
        return self


class MetaLabels(Section):
    """Meta-labelling (de Prado, 2018, 3.6): the primary rule sets the side, the network learns whether to act."""

    side: PrimarySide


class TripleBarrierLabels(Section):
    """First touch of a profit-take or stop-loss barrier, set in multiples of a causal volatility estimate,
    within ``max_holding`` bars (BUY above, SELL below, HOLD if neither); de Prado (2018), ch. 3.

    With ``meta: {side: ...}`` the barriers follow the primary signal's side and the label says whether its
    profit-take came first: the network learns to act (BUY) or pass (HOLD), and a position is side x act.
    """

    type: Literal["triple_barrier"] = "triple_barrier"
    profit_take: Annotated[float, Field(gt=0, le=100)] = 2.0
    stop_loss: Annotated[float, Field(gt=0, le=100)] = 2.0
    max_holding: Annotated[int, Field(ge=1, le=10_000)] = 20
    volatility_span: Annotated[int, Field(ge=2, le=10_000)] = 20
    meta: MetaLabels | None = None


class ForwardReturnLabels(Section):
    """The log return over the next ``horizon`` bars, cut into terciles (SELL / HOLD / BUY) whose thresholds are
    fitted on each training window only."""

    type: Literal["forward_return"] = "forward_return"
    horizon: Annotated[int, Field(ge=1, le=10_000)] = 10
    # classification: the terciles alone; both: a return head (Huber loss on the standardised log return) beside
    # the classifier; regression: the return head alone, its class probabilities those of a normal around the
    # predicted return (spread: the training returns' deviation) falling below, between or above the terciles.
    target: Literal["classification", "regression", "both"] = "classification"
    huber_delta: Annotated[float, Field(gt=0, le=100)] = 1.0
    return_weight: Annotated[float, Field(gt=0, le=100)] = 1.0


LabelSpec = Annotated[ZigZagLabels | TripleBarrierLabels | ForwardReturnLabels, Field(discriminator="type")]


class WalkForwardSplit(Section):
    """Walk-forward evaluation: a model per test block, trained on what came before it.

    After the first ``first_train`` of the samples, the rest is cut into ``folds`` consecutive test blocks. Each
    fold trains on everything before its block (``expanding``) or on the last ``train_window`` of the samples
    (``rolling``); the last ``validation`` share of that history stops training early. Purge and embargo as in
    the chronological split.
    """

    method: Literal["walk_forward"] = "walk_forward"
    folds: Annotated[int, Field(ge=1, le=100)] = 4
    scheme: Literal["expanding", "rolling"] = "expanding"
    first_train: Annotated[float, Field(gt=0, lt=1)] = 0.4
    validation: Annotated[float, Field(gt=0, lt=1)] = 0.2
    train_window: Annotated[float, Field(gt=0, lt=1)] | None = None
    embargo: Annotated[int, Field(ge=0, le=10_000)] = 5

    @model_validator(mode="after")
    def _window_for_rolling(self) -> WalkForwardSplit:
        if self.scheme == "rolling" and self.train_window is None:
            raise ValueError("a rolling walk-forward needs `train_window` (a fraction of the samples, e.g. 0.4)")
        if self.scheme == "expanding" and self.train_window is not None:
            raise ValueError("`train_window` is only read with scheme: rolling")
        return self


class ChronologicalSplit(Section):
    """One chronological train / validation / test split, with purge and an embargo in bars."""

    method: Literal["chronological"] = "chronological"
    train: Annotated[float, Field(gt=0, lt=1)] = 0.6
    validation: Annotated[float, Field(gt=0, lt=1)] = 0.2
    test: Annotated[float, Field(gt=0, lt=1)] = 0.2
    embargo: Annotated[int, Field(ge=0, le=10_000)] = 5
    # The test window starts at the first sample at or after this time (ISO, UTC) instead of at the `test`
    # fraction; train and validation share what comes before in their ratio. `neurotrade confirm` uses it to test
    # on exactly the locked holdout.
    test_start: Annotated[str, Field(max_length=64)] | None = None

    @model_serializer(mode="wrap")
    def _without_an_absent_test_start(self, handler: Any) -> Any:
        out = handler(self)
        if self.test_start is None and isinstance(out, dict):
            out.pop("test_start", None)
        return out

    _a_time = field_validator("test_start", mode="before")(DataSpec._a_time.__func__)  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> ChronologicalSplit:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + validation + test must add up to 1, got {total:g}")
        return self


class CPCVSplit(Section):
    """Combinatorial purged cross-validation (de Prado, 2018, ch. 12): the samples cut into ``groups`` contiguous
    groups, a model per choice of ``test_groups`` of them, and the test groups stitched into C(N-1, k-1) complete
    backtest paths. Each split stops early on the latest ``validation`` share of its training samples (purged
    against the rest); purge and embargo (in bars) as in the other splits.

    Examples
    --------
    >>> CPCVSplit(groups=6, test_groups=2).paths
    5
    """

    method: Literal["cpcv"] = "cpcv"
    groups: Annotated[int, Field(ge=3, le=20)] = 6
    test_groups: Annotated[int, Field(ge=1, le=10)] = 2
    validation: Annotated[float, Field(gt=0, lt=1)] = 0.2
    embargo: Annotated[int, Field(ge=0, le=10_000)] = 5

    @property
    def paths(self) -> int:
        """How many backtest paths the splits form: C(groups - 1, test_groups - 1)."""
        import math

        return math.comb(self.groups - 1, self.test_groups - 1)

    @model_validator(mode="after")
    def _fewer_test_groups(self) -> CPCVSplit:
        if self.test_groups >= self.groups:
            raise ValueError(f"test_groups ({self.test_groups}) must be fewer than groups ({self.groups})")
        import math

        if math.comb(self.groups, self.test_groups) > 100:
            raise ValueError(
                f"groups {self.groups} with test_groups {self.test_groups} make "
                f"{math.comb(self.groups, self.test_groups)} models to train; keep it at 100 or fewer"
            )
        return self


SplitSpec = Annotated[WalkForwardSplit | ChronologicalSplit | CPCVSplit, Field(discriminator="method")]


ModelSpec = Annotated[
    MLPSpec | LSTMSpec | GRUSpec | CNNSpec | TransformerSpec | EnsembleSpec | RegimeSpec | FuzzyModelSpec,
    Field(discriminator="type"),
]
EnsembleSpec.model_rebuild(_types_namespace={"ModelSpec": ModelSpec})


class EarlyStoppingSpec(Section):
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs."""

    patience: Annotated[int, Field(ge=1, le=100_000)] = 15
    min_delta: Annotated[float, Field(ge=0, le=1000)] = 1e-4


class ConstantSchedule(Section):
    """The learning rate stays at ``training.learning_rate``."""

    type: Literal["none"] = "none"


class CosineSchedule(Section):
    """A linear warm-up over ``warmup_epochs``, then half a cosine from ``learning_rate`` down to
    ``min_lr_ratio * learning_rate`` at the last epoch; the rate changes at every minibatch."""

    type: Literal["cosine"] = "cosine"
    warmup_epochs: Annotated[int, Field(ge=0, le=100_000)] = 0
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.1


class PlateauSchedule(Section):
    """Multiply the learning rate by ``factor`` when the validation loss has not improved by ``threshold`` for
    ``patience`` epochs, never going below ``min_lr`` (as torch's ``ReduceLROnPlateau``)."""

    type: Literal["plateau"] = "plateau"
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.5
    patience: Annotated[int, Field(ge=0, le=100_000)] = 5
    threshold: Annotated[float, Field(ge=0, le=1000)] = 1e-4
    min_lr: Annotated[float, Field(ge=0, le=10)] = 1e-6


ScheduleSpec = Annotated[ConstantSchedule | CosineSchedule | PlateauSchedule, Field(discriminator="type")]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class TrainingSpec(Section):
    """How the network is fitted.

    ``sgd`` uses momentum 0.9; ``adamw`` decouples ``weight_decay`` from the gradient. ``loss: focal`` scales each
    sample's cross-entropy by ``(1 - p) ** focal_gamma`` (p: the probability of its true class), so confidently
    right samples count less (``focal_gamma`` is read only then). ``schedule`` is ``none``, ``cosine`` or
    ``plateau`` (a name, or a mapping with ``type`` and its settings). ``grad_clip`` caps the gradients' global
    norm. ``amp`` trains in mixed precision, on CUDA only (``auto``, ``true``: on CUDA; ``false``: never).
    ``seeds`` trains once per seed and reports the metrics' mean and standard deviation across them.

    Examples
    --------
    >>> TrainingSpec(schedule="cosine").schedule.min_lr_ratio
    0.1
    """

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    # "balanced" weighs each class by n / (classes * count) on the training rows, so a rare class is not ignored.
    class_weights: Literal["none", "balanced"] = "none"
    loss: Literal["cross_entropy", "focal"] = "cross_entropy"
    focal_gamma: Annotated[float, Field(ge=0, le=10)] = 2.0
    learning_rate: Annotated[float, Field(gt=0, le=10)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0, le=10)] = 0.0
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 64
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 200
    early_stopping: EarlyStoppingSpec | None = EarlyStoppingSpec()
    schedule: ScheduleSpec = ConstantSchedule()
    grad_clip: Annotated[float, Field(gt=0, le=1e6)] | None = None
    amp: Literal["auto", True, False] = "auto"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=100)] | None = None

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_by_name(cls, value: Any) -> Any:
        """``schedule: cosine`` is ``schedule: {type: cosine}``."""
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, dict) and "type" not in value:
            raise ValueError("a schedule mapping needs `type: none | cosine | plateau`")
        return value

    @field_validator("amp", mode="before")
    @classmethod
    def _amp_is_a_word_or_a_bool(cls, value: Any) -> Any:
        # A Literal[True] would also take 1: refuse numbers here as every number field refuses bools.
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"must be 'auto', true or false, got {value!r}")
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int] | None) -> list[int] | None:
        if seeds is not None and len(set(seeds)) < len(seeds):
            repeated = sorted({s for s in seeds if seeds.count(s) > 1})
            raise ValueError(f"seeds repeat {', '.join(map(str, repeated))}; list each seed once")
        return seeds


class DecisionSpec(Section):
    """How the model's outputs become positions, at each bar's close, from what is known at that close.

    A class acts only when its probability reaches ``confidence_threshold``. ``sizing`` sets the share of equity
    a new position takes: ``fixed`` (``backtest.fraction``), ``confidence`` (grows from 0 at a uniform guess to
    ``max_leverage`` at certainty), ``volatility_target`` (``target_volatility_pct`` annualised over the
    predicted volatility: the model's volatility head, else a causal EWM of returns over ``volatility_span``
    bars) or ``kelly`` (``kelly_fraction`` of the Kelly bet: from a predicted return and volatility, else from the
    probabilities and the labels' payoff); every size is capped at ``max_leverage``. Entry filters refuse a new
    position, never an exit (a refused reversal goes flat): an expected edge (the probability margin times the
    average move of the training labels, a meta model's expected win less its expected loss, or a predicted
    return; less round-trip costs) below ``min_expected_edge_pct`` percent, or a size the rule cannot give.
    Change filters keep the position held: fewer than ``min_bars_between_signals`` bars since the last change,
    or ``max_trades_per_day`` changes already made that UTC day.
    """

    confidence_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    allow_short: bool = False
    sizing: Literal["fixed", "confidence", "volatility_target", "kelly"] = "fixed"
    max_leverage: Annotated[float, Field(gt=0, le=10)] = 1.0
    target_volatility_pct: Annotated[float, Field(gt=0, le=1000)] = 15.0
    volatility_span: Annotated[int, Field(ge=2, le=10_000)] = 20
    kelly_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_bars_between_signals: Annotated[int, Field(ge=0, le=100_000)] = 0
    min_expected_edge_pct: Annotated[float, Field(ge=-100, le=100)] | None = None
    max_trades_per_day: Annotated[int, Field(ge=1, le=100_000)] | None = None


class ATRStop(Section):
    """A stop ``multiple`` average true ranges (Wilder, ``period`` bars, known at the entry decision's close) from
    the entry price; with ``stop_loss_pct`` too, the nearer of the two is in force."""

    period: Annotated[int, Field(ge=1, le=10_000)] = 14
    multiple: Annotated[float, Field(gt=0, le=100)] = 2.0


class BacktestSpec(Section):
    """Simulation settings. Percentages are percent (0.05 means 0.05 %)."""

    initial_cash: Annotated[float, Field(gt=0, le=1e15)] = 100_000.0
    commission_pct: Annotated[float, Field(ge=0, lt=100)] = 0.05
    commission_fixed: Annotated[float, Field(ge=0, le=1e15)] = 0.0
    slippage_pct: Annotated[float, Field(ge=0, lt=100)] = 0.02
    fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    fill: Literal["next_open", "same_close"] = "next_open"
    # How returns are annualised: ``auto`` counts the bars per year the loaded data really has; ``equity``
    # assumes 252 sessions of 6.5 hours, ``crypto`` 365 days of 24 hours.
    calendar: Literal["auto", "equity", "crypto"] = "auto"
    # How many strategy configurations were tried: the deflated Sharpe ratio discounts the luck of keeping the
    # best of them (Bailey and Lopez de Prado, 2014). The workspace's ledger counts every configuration run on
    # the same data; a number here is used only when it is larger (trials made outside this workspace).
    trials: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    # Exits inside the bar, in percent of the entry price (trailing: of the best price since entry); see
    # neurotrade.backtest.simulate. A stopped-out side is not re-entered until the target leaves it.
    stop_loss_pct: Annotated[float, Field(gt=0, lt=100)] | None = None
    take_profit_pct: Annotated[float, Field(gt=0, le=10_000)] | None = None
    trailing_stop_pct: Annotated[float, Field(gt=0, lt=100)] | None = None
    atr_stop: ATRStop | None = None

    @property
    def exits(self) -> bool:
        """Whether any intra-bar exit is set."""
        return any(v is not None for v in (self.stop_loss_pct, self.take_profit_pct, self.trailing_stop_pct)) or (
            self.atr_stop is not None
        )


class PortfolioSpec(Section):
    """How a universe's per-symbol decisions share one cash account (``neurotrade.backtest.simulate_portfolio``).

    ``selection: all`` trades every symbol's own decision; ``top_k`` holds, at each bar, the ``top_k`` symbols
    with the highest predicted score (P(BUY) - P(SELL)) long, and with ``decisions.allow_short`` the ``top_k``
    lowest short. Each new position takes ``max_position_pct`` percent of the equity (default: an equal share,
    100 / symbols, or 100 / the positions top_k can hold), times the rules' size.
    """

    selection: Literal["all", "top_k"] = "all"
    top_k: Annotated[int, Field(ge=1, le=MAX_SYMBOLS)] = 1
    max_position_pct: Annotated[float, Field(gt=0, le=100)] | None = None


class TrackingSpec(Section):
    """``tracking:``: log each run to MLflow (``neurotrade.tracking``); the section's presence turns it on.

    ``mlflow`` is a tracking URI (``sqlite:///path/mlflow.db``, ``http://host:5000``, ...); left out, a SQLite store
    in the workspace (``mlflow.db``, artifacts under ``mlruns/``). ``experiment`` defaults to the strategy's name.
    Credentials belong in MLflow's environment variables (``MLFLOW_TRACKING_USERNAME`` ...), not in the URI: the
    spec is saved with every bundle.

    Examples
    --------
    >>> TrackingSpec(mlflow="sqlite:///mlflow.db").experiment is None
    True
    """

    mlflow: Annotated[str, Field(min_length=1, max_length=2_000)] | None = None
    experiment: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class Strategy(Section):
    """A whole strategy, as declared in one YAML file.

    Examples
    --------
    >>> s = Strategy(name="demo")
    >>> s.data.symbol, s.labels.type, s.model.hidden
    ('AAPL', 'zigzag', [64, 32])
    """

    name: Name
    description: Annotated[str, Field(max_length=10_000)] = ""
    seed: Seed = 42
    data: DataSpec = DataSpec()
    indicators: Annotated[dict[str, IndicatorSpec], Field(max_length=MAX_INDICATORS)] = {}
    # Where the indicators are computed: `cpu` the numba kernels (whose values the streaming engine replays, bit
    # for bit), `cuda` their torch forms on the GPU (within 1e-9, not bit for bit), `auto` CUDA when present.
    indicators_device: Literal["auto", "cpu", "cuda"] = "cpu"
    fuzzy_sets: Annotated[
        dict[str, Annotated[dict[str, FuzzySetSpec], Field(min_length=1, max_length=MAX_SETS_PER_OUTPUT)]],
        Field(max_length=MAX_INDICATORS),
    ] = {}
    nn_inputs: NNInputsSpec = NNInputsSpec()
    labels: LabelSpec = ZigZagLabels()
    split: SplitSpec = WalkForwardSplit()
    model: ModelSpec = MLPSpec()
    training: TrainingSpec = TrainingSpec()
    decisions: DecisionSpec = DecisionSpec()
    backtest: BacktestSpec = BacktestSpec()
    portfolio: PortfolioSpec = PortfolioSpec()
    search: SearchSpec | None = None
    tracking: TrackingSpec | None = None
    live: LiveSpec | None = None

    @model_serializer(mode="wrap")
    def _without_absent_optional_sections(self, handler: Any) -> Any:
        """A spec without ``search``, ``tracking`` or ``live`` (and with ``indicators_device: cpu``) dumps as it did
        before those keys existed (same bundles, same ledger hashes)."""
        out = handler(self)
        if isinstance(out, dict):
            for key in ("search", "tracking", "live"):
                if getattr(self, key) is None:
                    out.pop(key, None)
            if self.indicators_device == "cpu":  # the default, as before the key existed
                out.pop("indicators_device", None)
        return out

    @model_validator(mode="before")
    @classmethod
    def _default_tags(cls, data: Any) -> Any:
        """``model:`` and ``labels:`` may leave out ``type``; the first kind is then meant."""
        if isinstance(data, dict):
            data = dict(data)
            for section, tag, default in (("model", "type", "mlp"), ("labels", "type", "zigzag")):
                if isinstance(data.get(section), dict) and tag not in data[section]:
                    data[section] = {tag: default, **data[section]}
        return data

    @model_validator(mode="after")
    def _return_head_fits_the_model(self) -> Strategy:
        target = getattr(self.labels, "target", "classification")
        if target != "classification" and self.model.type in ("regime", "ensemble"):
            why = (
                "the regime model has its own return and volatility heads"
                if self.model.type == "regime"
                else "an ensemble's combiner weighs its members' class probabilities"
            )
            raise ValueError(
                f"labels.target: {target} adds a return head to the network, which the {self.model.type} model "
                f"cannot take ({why}); use target: classification"
            )
        return self

    @model_validator(mode="after")
    def _universe_keys_need_a_universe(self) -> Strategy:
        nn = self.nn_inputs
        if not self.data.is_universe:
            used = [
                key
                for key, on in (
                    ("nn_inputs.cross_section", bool(nn.cross_section.rank or nn.cross_section.zscore)),
                    ("nn_inputs.symbol_embedding", nn.symbol_embedding),
                    ("nn_inputs.scaling", nn.scaling != "pooled"),
                    ("portfolio", self.portfolio != PortfolioSpec()),
                )
                if on
            ]
            if used:
                raise ValueError(f"{', '.join(used)} apply to a universe; list data.symbols or name data.universe")
            return self
        if nn.symbol_embedding and nn.scaling == "per_symbol":
            # Within one symbol its own column is constant: scaled per symbol, every symbol column would be 0.
            raise ValueError(
                "nn_inputs.symbol_embedding cannot be used with nn_inputs.scaling: per_symbol (scaled within one "
                "symbol, its indicator column is constant and becomes 0, so the network could not tell the symbols "
                "apart); use scaling: pooled with the embedding"
            )
        bt = self.backtest
        unsupported = [
            key
            for key, on in (
                ("backtest.stop_loss_pct", bt.stop_loss_pct is not None),
                ("backtest.take_profit_pct", bt.take_profit_pct is not None),
                ("backtest.trailing_stop_pct", bt.trailing_stop_pct is not None),
                ("backtest.atr_stop", bt.atr_stop is not None),
                ("backtest.fill: same_close", bt.fill != "next_open"),
                ("labels.meta", getattr(self.labels, "meta", None) is not None),
                ("split.method: cpcv", self.split.method == "cpcv"),
            )
            if on
        ]
        if unsupported:
            raise ValueError(
                f"{', '.join(unsupported)} cannot be used with a universe yet (the shared-cash portfolio fills at "
                "the next open without intra-bar exits, over consecutive test windows); use walk_forward or "
                "chronological splits, or trade one symbol for these"
            )
        return self

    @field_validator("split", mode="before")
    @classmethod
    def _default_split_method(cls, split: Any) -> Any:
        if isinstance(split, dict) and "method" not in split:
            if {"train", "test"} & set(split):
                raise ValueError(
                    "train/validation/test fractions need `method: chronological` "
                    "(the default method is walk_forward, with folds)"
                )
            return {"method": "walk_forward", **split}
        return split

    @field_validator("fuzzy_sets", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {source: _shorthand_sets(sets) for source, sets in value.items()}
        return value
