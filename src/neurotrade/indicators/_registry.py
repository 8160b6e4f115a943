"""The one registry of indicators: what each one is called, takes, reads and returns.

A family module (``_trend``, ``_momentum``, ``_volatility``, ...) declares an indicator by calling
:func:`register` once with its :class:`IndicatorInfo` and its two numba kernels. Everything else
(parameter checks, ``compute``, ``stream``, the config validator, the feature builder) reads the
registry, so adding an indicator is one ``register`` call next to its kernels (and, to keep validation
fast, ``python -m neurotrade.indicators._catalog`` afterwards).

The family modules are imported on first need of a kernel (:func:`entry`). Until then the declarations
(:func:`available`, :func:`get`, :func:`check_params`) come from ``catalog.json``, a snapshot of them that
is used only while it matches the sources it was made from, so checking a strategy does not load numba.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from neurotrade.errors import IndicatorError
from neurotrade.indicators._params import Greater, Param, check_value

__all__ = [
    "FAMILIES",
    "Entry",
    "IndicatorInfo",
    "available",
    "check_params",
    "declarations",
    "entry",
    "get",
    "load_kernels",
    "register",
    "validate_params",
]

# The family modules: each registers its indicators, with their numba kernels, when imported.
FAMILIES = (
    "_averages",
    "_channels",
    "_cipher",
    "_composite",
    "_directional",
    "_ehlers",
    "_hilbert",
    "_lorentzian",
    "_momentum",
    "_oscillators",
    "_price",
    "_range",
    "_statistic",
    "_strength",
    "_swing",
    "_trend",
    "_volatility",
    "_volume",
)


@dataclass(frozen=True)
class IndicatorInfo:
    """What an indicator is, takes, reads and returns.

    Attributes
    ----------
    name
        The registry key, lower case (``'rsi'``).
    description
        One line.
    params
        The parameters it accepts, in order.
    inputs
        The OHLCV columns it reads, e.g. ``('high', 'low', 'close')``.
    outputs
        The columns it returns, e.g. ``('macd', 'signal', 'hist')``.
    talib
        The TA-Lib function it matches, or ``None``.
    definition
        How it is computed, in a few sentences, with the published source for those TA-Lib lacks.
    bounds
        The range each bounded output's values can take, by output name (``{'rsi': (0.0, 100.0)}``);
        outputs left out are unbounded or depend on the prices. Fuzzy sets are checked against it.

    Examples
    --------
    >>> from neurotrade.indicators import get
    >>> info = get("macd")
    >>> info.outputs
    ('macd', 'signal', 'hist')
    >>> info.warmup(), info.warmup(slow=30)
    (33, 37)
    """

    name: str
    description: str
    params: tuple[Param, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    talib: str | None
    definition: str = ""
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict, hash=False)

    def defaults(self) -> dict[str, int | float]:
        """Return every parameter's default value, in declaration order."""
        return {p.name: p.default for p in self.params}

    def warmup(self, **params: Any) -> int:
        """Return the number of leading NaN bars for these parameters (defaults filled in).

        Raises
        ------
        IndicatorError
            If the parameters are invalid.
        """
        return entry(self.name).lookback(validate_params(self.name, **params))


@dataclass(frozen=True)
class Entry:
    """An indicator's declaration together with the kernels that compute it.

    ``init(params) -> state`` and ``update(state, params, bars, out)`` are numba functions over
    float64 arrays: ``params`` holds the parameter values in declaration order, ``bars`` is
    ``(n_bars, n_inputs)`` and ``out`` is ``(n_bars, n_outputs)``, C-contiguous. ``bars`` may be laid
    out either way and be read-only (``compute`` passes a column-major view of the frame's own
    columns, the stream and the panel runner row-major arrays), so a kernel indexes it and never
    reshapes it. ``update`` advances ``state`` over every row of ``bars``; a batch run is one call
    over the whole series and a stream one call per bar, so the two agree bit for bit.
    """

    info: IndicatorInfo
    init: Callable[..., Any]
    update: Callable[..., Any]
    lookback: Callable[[dict[str, int | float]], int]
    constraints: tuple[Greater, ...]
    talib_args: Mapping[str, str]
    talib_fixed: Mapping[str, Any]

    def talib_kwargs(self, values: Mapping[str, int | float]) -> dict[str, Any]:
        """TA-Lib's keyword arguments for these parameter values (for parity tests and benchmarks).

        Examples
        --------
        >>> entry("macd").talib_kwargs({"fast": 12, "slow": 26, "signal": 9})
        {'fastperiod': 12, 'slowperiod': 26, 'signalperiod': 9}
        """
        return {**{theirs: values[ours] for ours, theirs in self.talib_args.items()}, **self.talib_fixed}


_REGISTRY: dict[str, Entry] = {}
_kernels_loaded = False

# What validation needs of an indicator: its description and the constraints between its parameters.
Declaration = tuple[IndicatorInfo, tuple[Greater, ...]]

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")


def register(
    info: IndicatorInfo,
    *,
    init: Callable[..., Any],
    update: Callable[..., Any],
    lookback: Callable[[dict[str, int | float]], int],
    constraints: tuple[Greater, ...] = (),
    talib_args: Mapping[str, str] | None = None,
    talib_fixed: Mapping[str, Any] | None = None,
) -> IndicatorInfo:
    """Add an indicator to the registry (called by the family modules at import time).

    ``talib_args`` maps each of our parameter names to TA-Lib's keyword for it, and ``talib_fixed``
    holds TA-Lib keywords with a fixed value (``{"matype": 0}``); both are required exactly when
    ``info.talib`` names a TA-Lib function, so that parity tests and benchmarks can call it.

    Raises
    ------
    ValueError
        If the name is taken or the declaration is inconsistent: a bug in neurotrade, not a user error.
    """
    if info.name in _REGISTRY:
        raise ValueError(f"indicator {info.name!r} is registered twice")
    if info.name != info.name.lower():
        raise ValueError(f"indicator name {info.name!r} must be lower case")
    unknown_inputs = set(info.inputs) - set(OHLCV_COLUMNS)
    if unknown_inputs or not info.inputs:
        raise ValueError(f"indicator {info.name!r} reads {info.inputs}, not OHLCV columns {OHLCV_COLUMNS}")
    if not info.outputs or len(set(info.outputs)) != len(info.outputs):
        raise ValueError(f"indicator {info.name!r} needs distinct output names, got {info.outputs}")
    names = [p.name for p in info.params]
    for constraint in constraints:
        if constraint.param not in names or constraint.other not in names:
            raise ValueError(f"constraint {constraint} of {info.name!r} names an unknown parameter")
    for param in info.params:
        _, problem = check_value(param, param.default)
        if problem is not None:
            raise ValueError(f"default of {info.name}.{param.name} is invalid: {problem}")
    for output, (low, high) in info.bounds.items():
        if output not in info.outputs or not low < high:
            raise ValueError(f"bounds of {info.name!r} must map its outputs to (low, high), got {output}: {low, high}")
    if (info.talib is None) != (talib_args is None):
        raise ValueError(f"indicator {info.name!r}: give talib_args exactly when it names a TA-Lib function")
    if talib_args is not None and set(talib_args) - set(names):
        raise ValueError(f"talib_args of {info.name!r} name unknown parameters: {set(talib_args) - set(names)}")
    _REGISTRY[info.name] = Entry(
        info, init, update, lookback, constraints, dict(talib_args or {}), dict(talib_fixed or {})
    )
    return info


def load_kernels() -> None:
    """Import every family module, registering each indicator with its kernels (once; loads numba)."""
    global _kernels_loaded
    if not _kernels_loaded:
        for family in FAMILIES:
            importlib.import_module(f"neurotrade.indicators.{family}")
        _kernels_loaded = True


def entry(name: str) -> Entry:
    """Return the registry entry of ``name``, kernels included (see :func:`get` for the errors)."""
    load_kernels()
    return _lookup(name, _REGISTRY)


def declarations() -> dict[str, Declaration]:
    """Every indicator's description and parameter constraints, by name, without loading numba when possible.

    From the catalog snapshot while it matches the sources, else from the registered kernels.
    """
    if not _kernels_loaded:
        from neurotrade.indicators._catalog import fresh_declarations

        found = fresh_declarations()
        if found is not None:
            return found
        load_kernels()
    return {name: (e.info, e.constraints) for name, e in _REGISTRY.items()}


def _lookup(name: str, table: Mapping[str, Any]) -> Any:
    if not isinstance(name, str):
        raise IndicatorError(f"an indicator name must be a string, got {name!r}")
    found = table.get(name.lower())
    if found is None:
        names = sorted(table)
        close = difflib.get_close_matches(name.lower(), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise IndicatorError(f"unknown indicator {name!r}{hint} Available indicators: {', '.join(names)}")
    return found


def available() -> list[IndicatorInfo]:
    """Return every registered indicator, sorted by name.

    Examples
    --------
    >>> from neurotrade.indicators import available
    >>> [info.name for info in available()][:3]
    ['accbands', 'ad', 'adaptive_laguerre']
    """
    declared = declarations()
    return [declared[name][0] for name in sorted(declared)]


def get(name: str) -> IndicatorInfo:
    """Return the description of one indicator (the name is case-insensitive).

    Raises
    ------
    IndicatorError
        If no indicator has that name; the message suggests the closest one.

    Examples
    --------
    >>> from neurotrade.indicators import get
    >>> get("rsi").defaults()
    {'period': 14}
    """
    info: IndicatorInfo = _lookup(name, declarations())[0]
    return info


def check_params(name: str, params: Mapping[str, object]) -> tuple[dict[str, int | float], list[tuple[str, str]]]:
    """Check parameters for an indicator without raising on bad values.

    Parameters
    ----------
    name
        The indicator.
    params
        The parameters as given (e.g. from a YAML file); missing ones take their defaults.

    Returns
    -------
    values, problems
        ``values`` maps every valid parameter (given or default) to a Python ``int`` or ``float``, in
        declaration order; invalid and unknown ones are left out. ``problems`` lists
        ``(parameter, message)`` pairs, empty when everything is acceptable.

    Raises
    ------
    IndicatorError
        If the indicator itself is unknown.

    Examples
    --------
    >>> from neurotrade.indicators import check_params
    >>> check_params("rsi", {"perod": 10})
    ({'period': 14}, [('perod', "unknown parameter; did you mean 'period'?")])
    >>> check_params("macd", {"slow": 10})
    ({'fast': 12, 'slow': 10, 'signal': 9}, [('slow', 'must be greater than fast (12), got 10')])
    """
    info, constraints = _lookup(name, declarations())
    declared = {p.name: p for p in info.params}
    problems: list[tuple[str, str]] = []
    for key in params:
        if key not in declared:
            close = difflib.get_close_matches(str(key), list(declared), n=1)
            if close:
                hint = f"did you mean {close[0]!r}?"
            else:
                hint = f"{info.name} takes {', '.join(declared) or 'no parameters'}"
            problems.append((str(key), f"unknown parameter; {hint}"))
    values: dict[str, int | float] = {}
    for param in info.params:
        if param.name not in params:
            values[param.name] = param.default
            continue
        value, problem = check_value(param, params[param.name])
        if problem is None and value is not None:
            values[param.name] = value
        else:
            problems.append((param.name, str(problem)))
    for constraint in constraints:
        violated = constraint.check(values)
        if violated is not None:
            problems.append(violated)
    return values, problems


def validate_params(name: str, **params: Any) -> dict[str, int | float]:
    """Return the parameters with defaults filled in, or raise listing every problem.

    Raises
    ------
    IndicatorError
        If the indicator is unknown or any parameter is invalid.

    Examples
    --------
    >>> from neurotrade.indicators import validate_params
    >>> validate_params("bbands", period=10)
    {'period': 10, 'nbdev_up': 2.0, 'nbdev_down': 2.0}
    """
    values, problems = check_params(name, params)
    if problems:
        lines = "\n".join(f"  {key}: {message}" for key, message in problems)
        canonical = get(name).name
        raise IndicatorError(f"invalid parameters for indicator {canonical!r}:\n{lines}")
    return values
