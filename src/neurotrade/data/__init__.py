"""OHLCV bars: the contract, readers with explicit repairs, timeframes, the local store, samples.

Every frame neurotrade passes between stages is an *OHLCV frame*: a UTC ``DatetimeIndex`` named
``time`` holding each bar's open time, and float64 columns ``open, high, low, close, volume``
(see :func:`validate_ohlcv`).
"""

from __future__ import annotations

from neurotrade.data._fingerprint import fingerprint
from neurotrade.data._frame import OHLCV_COLUMNS, validate_ohlcv
from neurotrade.data._readers import read_ohlcv
from neurotrade.data._repairs import REPAIRS, Repair
from neurotrade.data._samples import SampleInfo, load_sample, sample_info, sample_symbols
from neurotrade.data._sessions import Gap, find_gaps
from neurotrade.data._store import DataStore, StoreEntry, normalise_symbol
from neurotrade.data._synthetic import synthetic_ohlcv
from neurotrade.data._timeframe import TIMEFRAMES, Timeframe, infer_timeframe, parse_timeframe, resample
from neurotrade.data._universe import (
    define_universe,
    named_universes,
    symbol_seed,
    universe_fingerprint,
    universe_symbols,
)

__all__ = [
    "OHLCV_COLUMNS",
    "REPAIRS",
    "TIMEFRAMES",
    "DataStore",
    "Gap",
    "Repair",
    "SampleInfo",
    "StoreEntry",
    "Timeframe",
    "define_universe",
    "find_gaps",
    "fingerprint",
    "infer_timeframe",
    "load_sample",
    "named_universes",
    "normalise_symbol",
    "parse_timeframe",
    "read_ohlcv",
    "resample",
    "sample_info",
    "sample_symbols",
    "symbol_seed",
    "synthetic_ohlcv",
    "universe_fingerprint",
    "universe_symbols",
    "validate_ohlcv",
]
