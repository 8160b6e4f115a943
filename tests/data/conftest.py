"""Shared helpers for the data tests: small valid bars, and files written from them."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HEADER = "Date,Open,High,Low,Close,Volume"


def bar_lines(n: int, start: str = "2020-01-02", freq: str = "D") -> list[str]:
    """``n`` valid CSV rows, one calendar day apart: with the header on line 1, row k is on line k + 2."""
    times = pd.date_range(start, periods=n, freq=freq)
    rows = []
    for k, t in enumerate(times):
        base = 100.0 + k
        stamp = t.strftime("%Y-%m-%d") if freq == "D" else t.strftime("%Y-%m-%dT%H:%M:%S")
        rows.append(f"{stamp},{base},{base + 2},{base - 1},{base + 1},{1000 + k}")
    return rows


def csv_text(lines: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def bars(n: int = 10, start: str = "2020-01-02", freq: str = "D", seed: int = 0) -> pd.DataFrame:
    """A valid OHLCV frame with random but consistent prices."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(1_000, 10_000, n).astype(np.float64)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text to a file in tmp_path (gzip-compressed when the name ends in .gz) and return its path."""

    def _write(text: str, name: str = "bars.csv") -> Path:
        path = tmp_path / name
        if name.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def make_bars() -> Callable[..., pd.DataFrame]:
    """The :func:`bars` factory (test modules cannot import conftest under --import-mode=importlib)."""
    return bars


@pytest.fixture
def make_lines() -> Callable[..., list[str]]:
    """The :func:`bar_lines` factory."""
    return bar_lines


@pytest.fixture
def make_csv() -> Callable[..., str]:
    """The :func:`csv_text` factory."""
    return csv_text
