"""Request and response bodies: pydantic models whose limits (sizes, counts, string lengths, ranges) bound every
request before any work starts, and which the OpenAPI schema is generated from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neurotrade.serve._bundles import MODEL_NAME_PATTERN

# A strategy file is a few KiB; 256 KiB leaves room for long comments and search spaces, and no more.
MAX_STRATEGY_CHARS = 256 * 1024
# Enough history to warm up a 1h strategy with daily and weekly features; ~1.5 s of engine time at most.
MAX_BARS = 10_000
# Prices and volumes beyond these are not market data; they would only overflow an indicator's arithmetic.
MAX_PRICE = 1e12
MAX_VOLUME = 1e18
# pandas' time range (a bar outside it cannot be a timestamp).
MIN_YEAR, MAX_YEAR = 1678, 2261
EXAMPLE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# Unknown keys refused, and no coercion ("1.5" or true is not a number): what the schema says is what passes.
STRICT = ConfigDict(extra="forbid", strict=True)


class StrategySource(BaseModel):
    """A strategy: its YAML text, or the name of a packaged example (``default``, ``synthetic_lstm`` ...)."""

    model_config = STRICT

    strategy: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_STRATEGY_CHARS,
        description="The strategy's YAML text. Relative data paths in it are taken from the workspace.",
    )
    example: str | None = Field(
        None, pattern=EXAMPLE_NAME, description="A packaged example strategy's name, instead of `strategy`."
    )

    @model_validator(mode="after")
    def _one_source(self) -> StrategySource:
        if (self.strategy is None) == (self.example is None):
            raise ValueError("give exactly one of `strategy` (YAML text) and `example` (a packaged example's name)")
        return self


class ValidateRequest(BaseModel):
    """A strategy to check."""

    model_config = STRICT

    strategy: str = Field(min_length=1, max_length=MAX_STRATEGY_CHARS, description="The strategy's YAML text.")


class Problem(BaseModel):
    """One problem of a strategy: where (line, key path) and what."""

    line: int | None = Field(None, description="1-based line of the YAML text, when known.")
    path: str | None = Field(None, description="The key path, e.g. `nn_inputs.indicators[1]`.")
    message: str


class ValidateResponse(BaseModel):
    """Whether the strategy is valid; if not, every problem."""

    valid: bool
    name: str | None = Field(None, description="The strategy's name, when valid.")
    errors: list[Problem] = Field(default_factory=list)


class RunJobRequest(StrategySource):
    """Train and evaluate a strategy (``neurotrade run``): walk-forward folds, a saved bundle, a report."""

    workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="(seed, fold) trainings at once, as Ray tasks when > 1 (`neurotrade run --workers`). Default: "
        "1 (one after another in the job's process), or as many as the cluster's CPUs on a server started with "
        "`--ray`. The result is the same bit for bit whatever the count.",
    )


class BacktestJobRequest(StrategySource):
    """Trade a saved model over a window (``neurotrade backtest``)."""

    model: str = Field(
        "latest",
        pattern=r"^(latest|latest-[A-Za-z0-9]{1,16}|([A-Za-z0-9]{1,16}_)?v[1-9][0-9]{0,8})$",
        description="The bundle version: latest, latest-1d, 1d_v2 or v2.",
    )
    # Times arrive as JSON strings: parsed, not coerced (strict=False on these fields only).
    start: datetime | None = Field(None, strict=False, description="First bar to trade (UTC). Default: the first.")
    end: datetime | None = Field(None, strict=False, description="Last bar to trade (UTC). Default: the last.")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return _iso_text(value)

    @field_validator("start", "end")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc_in_range(value)


class TuneJobRequest(StrategySource):
    """Search the strategy's ``search.space`` (``neurotrade tune``)."""

    trials: int | None = Field(None, ge=1, le=10_000, description="Finished trials the study should hold.")
    workers: int | None = Field(None, ge=1, le=256, description="Trials at once.")
    study: str | None = Field(None, pattern=EXAMPLE_NAME, description="The study's name. Default: the strategy's.")


JobState = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
JobKind = Literal["run", "backtest", "tune"]


class Progress(BaseModel):
    """What a running job last reported."""

    stage: str | None = None
    message: str | None = None
    done: int | None = None
    total: int | None = None


class JobOut(BaseModel):
    """A job."""

    id: int
    kind: JobKind
    state: JobState
    strategy: str = Field(description="The strategy's name.")
    params: dict[str, Any]
    attempts: int = Field(description="How many times a process started on it (resumes count).")
    resumable: bool = Field(description="Interrupted, and its command can continue where it stopped.")
    cancel_requested: bool
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: Progress | None = None
    links: dict[str, str] = Field(description="Where its logs and result are.")


class JobList(BaseModel):
    """A page of jobs, newest first."""

    jobs: list[JobOut]
    total: int
    limit: int
    offset: int


class LogChunk(BaseModel):
    """Part of a job's log."""

    text: str
    offset: int = Field(description="Where this text starts, in bytes.")
    next_offset: int = Field(description="Pass it as `offset` to read on.")
    size: int = Field(description="The log's size now, in bytes.")


class JobResult(BaseModel):
    """What a finished job produced."""

    id: int
    state: JobState
    result: dict[str, Any] | None = None
    error: str | None = None


class ModelOut(BaseModel):
    """A saved bundle, as listed."""

    name: str = Field(description="strategy/timeframe_vN")
    strategy: str
    timeframe: str
    version: int
    created_at: str
    is_latest: bool
    is_latest_of_timeframe: bool
    metrics: dict[str, float | int | None] = Field(
        default_factory=dict, description="Out of sample: accuracy, total return and Sharpe, buy-and-hold's Sharpe."
    )


class ModelList(BaseModel):
    """The saved bundles, oldest first."""

    models: list[ModelOut]


class ModelDetail(ModelOut):
    """A verified bundle: its files, features and documents."""

    files: dict[str, dict[str, Any]] = Field(description="File name -> size and sha256, from the manifest.")
    parameters: int = Field(description="Trainable numbers in its weights.")
    resolved_features: list[str]
    documents: dict[str, Any] = Field(description="Every JSON document of the bundle (spec, metrics, scaler ...).")


class VerifyOut(BaseModel):
    """Whether every file matches the manifest (size and sha256)."""

    name: str
    verified: bool
    files: int
    problem: str | None = None


class DeletedOut(BaseModel):
    """A deleted bundle."""

    deleted: str
    was_latest: bool


class Bar(BaseModel):
    """One OHLCV bar, labelled by its open time (UTC; a time without an offset is read as UTC)."""

    model_config = STRICT

    time: datetime = Field(strict=False)
    open: float = Field(gt=0, le=MAX_PRICE, allow_inf_nan=False)
    high: float = Field(gt=0, le=MAX_PRICE, allow_inf_nan=False)
    low: float = Field(gt=0, le=MAX_PRICE, allow_inf_nan=False)
    close: float = Field(gt=0, le=MAX_PRICE, allow_inf_nan=False)
    volume: float = Field(ge=0, le=MAX_VOLUME, allow_inf_nan=False)

    @field_validator("time", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return _iso_text(value)

    @field_validator("time")
    @classmethod
    def _time_in_range(cls, value: datetime) -> datetime:
        return _utc_in_range(value)

    @model_validator(mode="after")
    def _consistent(self) -> Bar:
        if not self.low <= min(self.open, self.close) or not max(self.open, self.close) <= self.high:
            raise ValueError(
                f"inconsistent bar: need low <= min(open, close) and max(open, close) <= high; got open {self.open}, "
                f"high {self.high}, low {self.low}, close {self.close}"
            )
        return self


_PREDICT_EXAMPLE = {
    "model": "aapl_fuzzy_mlp/1d_v1",
    "bars": [
        {"time": "2024-05-01T00:00:00Z", "open": 100.0, "high": 101.5, "low": 99.2, "close": 101.0, "volume": 1.2e6},
        {"time": "2024-05-02T00:00:00Z", "open": 101.0, "high": 102.0, "low": 100.1, "close": 100.4, "volume": 9.8e5},
        {"time": "2024-05-03T00:00:00Z", "open": 100.4, "high": 103.2, "low": 100.2, "close": 103.0, "volume": 1.5e6},
    ],
}


class PredictRequest(BaseModel):
    """Bars of one symbol, oldest first, from far enough back to warm every feature up."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [_PREDICT_EXAMPLE]})

    model: str = Field(
        max_length=129,
        pattern=MODEL_NAME_PATTERN,
        description="The bundle: strategy (its latest), strategy/latest-1d, strategy/1d_v2 or strategy/v2.",
        examples=["aapl_fuzzy_mlp/1d_v1"],
    )
    bars: list[Bar] = Field(min_length=1, max_length=MAX_BARS)
    position: int | None = Field(
        None,
        ge=-1,
        le=1,
        description="The position held before the last bar (-1, 0 or 1), when it differs from what the engine decided.",
    )

    @model_validator(mode="after")
    def _increasing(self) -> PredictRequest:
        _check_increasing(self.bars)
        return self


class Probabilities(BaseModel):
    """The model's class probabilities (null only if the model produced a non-finite number)."""

    SELL: float | None
    HOLD: float | None
    BUY: float | None


class PredictResponse(BaseModel):
    """The decision at the last bar: the target position is to be filled at the next bar's open."""

    model: str = Field(description="The bundle that decided (strategy/timeframe_vN).")
    time: datetime = Field(description="The last bar's time.")
    bars: int = Field(description="Bars fed to the engine.")
    ready: bool = Field(description="Whether every feature was warm; if not, send more history.")
    signal: Literal["SELL", "HOLD", "BUY"] | None
    target: int = Field(description="1 long, 0 flat, -1 short.")
    size: float = Field(description="Share of equity an entry takes.")
    reason: str
    proba: Probabilities | None
    side: int | None = Field(None, description="The primary signal's side (meta-labelling).")
    outputs: dict[str, float | None] = Field(default_factory=dict)
    held: int | None = None
    exit_reason: str | None = None
    features: dict[str, float | None] = Field(description="The feature row (null while warming up).")


# One append is a bar or a few (a client that was offline catches up); a longer history opens a new stream.
MAX_APPEND = 1000
_POSITION = Field(
    None, ge=-1, le=1, description="The position held before the last bar (-1, 0 or 1), if not what was decided."
)


class StreamCreate(BaseModel):
    """Open a decision stream: the bundle and the history to warm it up on (oldest first)."""

    model_config = STRICT

    model: str = Field(max_length=129, pattern=MODEL_NAME_PATTERN, description="The bundle, as for /predict.")
    bars: list[Bar] = Field(min_length=1, max_length=MAX_BARS)
    position: int | None = _POSITION

    @model_validator(mode="after")
    def _increasing(self) -> StreamCreate:
        _check_increasing(self.bars)
        return self


class StreamAppend(BaseModel):
    """The next bar (or bars) of a stream, after its last one."""

    model_config = STRICT

    bars: list[Bar] = Field(min_length=1, max_length=MAX_APPEND)
    position: int | None = _POSITION

    @model_validator(mode="after")
    def _increasing(self) -> StreamAppend:
        _check_increasing(self.bars)
        return self


class StreamOut(BaseModel):
    """A decision stream: a bundle fed one symbol's bars as they come."""

    id: str
    model: str = Field(description="The bundle deciding (strategy/timeframe_vN), fixed when the stream opened.")
    bars: int = Field(description="Bars fed so far.")
    last_time: datetime
    created_at: str


class StreamDecision(BaseModel):
    """The stream, and the decision at its last bar."""

    stream: StreamOut
    decision: PredictResponse


class Health(BaseModel):
    """The server is up."""

    status: Literal["ok"]
    version: str


class PaperSession(BaseModel):
    """A paper trading session found in the workspace."""

    session: str
    strategy: str | None = None
    bundle: str | None = None
    steps: int = Field(description="Bars committed to its state.")
    last_time: str | None = Field(None, description="The last committed bar's time.")
    updated_at: str = Field(description="When its state last changed (UTC).")


class PaperSessions(BaseModel):
    """Every paper session."""

    sessions: list[PaperSession]


class PaperPosition(BaseModel):
    """One symbol's position."""

    symbol: str
    position: float | None


class PaperPositions(BaseModel):
    """The positions after the session's last committed bar."""

    session: str
    time: str | None = Field(description="The last committed bar's time (null before any).")
    positions: list[PaperPosition]
    cash: float | None = None
    equity: float | None = None


class EquityPoint(BaseModel):
    """The account after one bar."""

    time: str
    bar: int | None = None
    equity: float | None = None
    cash: float | None = None


class PaperEquity(BaseModel):
    """A session's equity curve (part of it)."""

    session: str
    points: list[EquityPoint]
    total: int = Field(description="Points in the whole curve.")


def _check_increasing(bars: list[Bar]) -> None:
    for i in range(1, len(bars)):
        if bars[i].time <= bars[i - 1].time:
            raise ValueError(
                f"bars must be in strictly increasing time: bar {i} ({bars[i].time.isoformat()}) is not after bar "
                f"{i - 1} ({bars[i - 1].time.isoformat()})"
            )


def _iso_text(value: object) -> object:
    """Times are ISO 8601 text, as the schema says: a number is not read as seconds since 1970."""
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError(f"a time must be ISO 8601 text like 2024-05-01T00:00:00Z; got {value!r}")
    return value


def _utc_in_range(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:  # before converting: an offset at year 1 or 9999 overflows
        raise ValueError(f"times must lie between {MIN_YEAR} and {MAX_YEAR}; got {value.isoformat()}")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"times must lie between {MIN_YEAR} and {MAX_YEAR}; got {value.isoformat()}")
    return value
