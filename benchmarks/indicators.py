"""How fast the indicator kernels are beside the peers a user would otherwise pick, measured in one run.

Four tables, each a ratio of times measured here, now, on the same bars:

(a) every indicator with a TA-Lib twin, at its defaults, on ``--bars`` bars (1,000,000): our kernel
    (``init`` + ``update`` over the series, output allocated) against the TA-Lib function on NumPy
    arrays, both warmed up first, best of ``--repeats``, the calls interleaved. ``compute()`` adds what
    the DataFrame API costs on top (finding and checking the input columns, wrapping the result), shown
    beside it.
(b) a panel of ``--symbols`` x ``--panel-bars`` bars (500 x 2,000), NaN-padded where a symbol has
    no bar: ``compute(panel, name)`` (symbols in parallel) against a Python loop that takes each
    symbol's columns out of the same panel, calls TA-Lib and puts the outputs into one frame; and,
    for comparison, the same loop over one NumPy copy of the panel.
(c) every indicator TA-Lib lacks: ``compute()`` against its plain pandas definition in
    ``tests/indicators/reference/*.py``, on ``--ref-bars`` bars (100,000: the plain definitions
    loop in Python at times, so they are timed on fewer bars than (a)).
(d) only with ``--tables d``: a panel of ``--torch-symbols`` x ``--torch-bars`` (5,000 x 10,000,
    1.9 GiB of float64 bars) through the numba panel runner on the CPU against the torch forms on
    ``--device`` (a GPU when one is present), per indicator with a torch form
    (``benchmarks/indicators_torch.py``, which also runs alone).

Goals printed beside the numbers: kernels, median ratio to TA-Lib <= 1.0 and none above 1.5; through
``compute()``, median <= 1.2 and none above 1.5; panels at least 2x faster than the TA-Lib loop; at least
20x faster than the plain pandas definitions.

Run it on an otherwise idle machine: the panel table uses every thread numba has
(``NUMBA_NUM_THREADS``), and threads that wait for a busy CPU cost more than they save. Run from the
repository root::

    .venv/bin/python benchmarks/indicators.py                 # everything
    .venv/bin/python benchmarks/indicators.py --only rsi,macd --repeats 3
    .venv/bin/python benchmarks/indicators.py --tables a    # table (a) alone
    .venv/bin/python benchmarks/indicators.py --tables d --only rsi,adx,cci,wavetrend   # the torch panel
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import talib

from neurotrade.indicators import available, compute
from neurotrade.indicators._compute import _input_matrix, _param_vector
from neurotrade.indicators._registry import IndicatorInfo, entry

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO / "tests" / "indicators" / "reference"
PANEL_DEFAULTS = ("sma", "ema", "rsi", "macd", "bbands", "atr", "adx", "stoch", "willr", "cci")

GOAL_MEDIAN = 1.0
GOAL_WORST = 1.5
GOAL_API_MEDIAN = 1.2
GOAL_PANEL = 2.0
GOAL_PANDAS = 20.0


def make_bars(n: int, seed: int) -> pd.DataFrame:
    """A random walk that honours the OHLCV contract, hourly bars from 2000."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0.0, 0.0025, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.005, n)))
    volume = rng.lognormal(10.0, 1.0, n)
    index = pd.date_range("2000-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls, in seconds (after one untimed call to warm up)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def best_of_each(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """The fastest of ``repeats`` timed calls of each function, in seconds, the functions called in turn
    (after one untimed call of each to warm up), so that a busy spell of the machine slows them alike."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def load_references() -> dict[str, Callable[[pd.DataFrame, dict], pd.DataFrame]]:
    """Every ``REFERENCES`` table in ``tests/indicators/reference/*.py``, as the parity test loads them."""
    found: dict[str, Callable[[pd.DataFrame, dict], pd.DataFrame]] = {}
    for path in sorted(REFERENCE_DIR.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"reference_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.update(getattr(module, "REFERENCES", {}))
    return found


def kernel_call(info: IndicatorInfo, bars: pd.DataFrame) -> Callable[[], np.ndarray]:
    """Our kernel alone on the input matrix ``compute()`` hands it: what TA-Lib's C function is compared with."""
    found = entry(info.name)
    x = _input_matrix(bars, info)
    vector = _param_vector(info, info.defaults())
    n_outputs = len(info.outputs)

    def run() -> np.ndarray:
        out = np.empty((x.shape[0], n_outputs), dtype=np.float64)
        found.update(found.init(vector), vector, x, out)
        return out

    return run


def talib_call(info: IndicatorInfo, bars: pd.DataFrame) -> Callable[[], object]:
    """The TA-Lib function on NumPy arrays, with the keywords the registry maps our defaults to."""
    function = getattr(talib, str(info.talib))
    kwargs = entry(info.name).talib_kwargs(info.defaults())
    arrays = [np.ascontiguousarray(bars[c].to_numpy(dtype=np.float64)) for c in info.inputs]
    return lambda: function(*arrays, **kwargs)


def table_a(bars: pd.DataFrame, repeats: int, only: set[str]) -> None:
    infos = [info for info in available() if info.talib is not None and (not only or info.name in only)]
    print(f"\n(a) ours vs TA-Lib, {len(bars):,} bars, defaults, best of {repeats}")
    header = f"{'indicator':<16}{'TA-Lib':<12}{'TA-Lib ms':>11}{'kernel ms':>11}{'ratio':>8}"
    print(f"{header}{'compute ms':>12}{'ratio':>8}")
    ratios: list[float] = []
    api_ratios: list[float] = []
    flagged: list[str] = []
    for info in infos:
        theirs, ours, api = best_of_each(
            [talib_call(info, bars), kernel_call(info, bars), lambda info=info: compute(bars, info.name)], repeats
        )
        ratio = ours / theirs
        ratios.append(ratio)
        api_ratios.append(api / theirs)
        flag = "  > 1.5" if ratio > GOAL_WORST else ""
        if flag:
            flagged.append(info.name)
        if api / theirs > GOAL_WORST:
            flag += "  compute > 1.5"
        print(
            f"{info.name:<16}{info.talib:<12}{theirs * 1e3:>11.2f}{ours * 1e3:>11.2f}{ratio:>8.2f}"
            f"{api * 1e3:>12.2f}{api / theirs:>8.2f}{flag}",
            flush=True,
        )
    if not ratios:
        print("  (no indicator with a TA-Lib twin selected)")
        return
    median = statistics.median(ratios)
    print(
        f"median kernel ratio {median:.2f} (goal <= {GOAL_MEDIAN}: {'met' if median <= GOAL_MEDIAN else 'MISSED'}); "
        f"worst {max(ratios):.2f} (goal: none above {GOAL_WORST}: "
        f"{'met' if not flagged else 'MISSED by ' + ', '.join(flagged)})"
    )
    api_median = statistics.median(api_ratios)
    api_flagged = [info.name for info, r in zip(infos, api_ratios, strict=True) if r > GOAL_WORST]
    print(
        f"median compute() ratio {api_median:.2f} (goal <= {GOAL_API_MEDIAN}: "
        f"{'met' if api_median <= GOAL_API_MEDIAN else 'MISSED'}); worst {max(api_ratios):.2f} (goal: none above "
        f"{GOAL_WORST}: {'met' if not api_flagged else 'MISSED by ' + ', '.join(api_flagged)})"
    )


def make_panel(n_symbols: int, n_bars: int) -> pd.DataFrame:
    """Symbols listed and delisted at different times: NaN-padded rows where a symbol has no bar."""
    rng = np.random.default_rng(11)
    frames = {}
    for s in range(n_symbols):
        bars = make_bars(n_bars, seed=1000 + s)
        late, early = int(rng.integers(0, n_bars // 10)), int(rng.integers(0, n_bars // 10))
        frames[f"S{s:04d}"] = bars.iloc[late : n_bars - early]
    return pd.concat(frames, axis=1, sort=True)


def talib_loop(info: IndicatorInfo, panel: pd.DataFrame, *, numpy_copy: bool) -> Callable[[], pd.DataFrame]:
    """What a careful TA-Lib user writes for a panel: per symbol, its columns without the rows where it
    has no bar, one TA-Lib call, the outputs written into one preallocated array; one frame at the end.

    The columns come from the panel one by one (``panel[symbol, field]``), or with ``numpy_copy`` from
    one NumPy copy of the whole panel taken first (faster in pandas, and less obvious).
    """
    function = getattr(talib, str(info.talib))
    kwargs = entry(info.name).talib_kwargs(info.defaults())
    symbols = list(panel.columns.get_level_values(0).unique())
    where = [[panel.columns.get_loc((symbol, c)) for c in info.inputs] for symbol in symbols]
    n_outputs = len(info.outputs)
    columns = pd.MultiIndex.from_product([symbols, list(info.outputs)], names=["symbol", "output"])

    def run() -> pd.DataFrame:
        values = panel.to_numpy(dtype=np.float64, na_value=np.nan) if numpy_copy else None
        out = np.full((len(panel), len(symbols) * n_outputs), np.nan)
        for k, symbol in enumerate(symbols):
            if values is None:
                arrays = [panel[symbol, c].to_numpy(dtype=np.float64) for c in info.inputs]
            else:
                arrays = [values[:, i] for i in where[k]]
            rows = ~np.isnan(arrays[0])
            result = function(*(a[rows] for a in arrays), **kwargs)
            for j, output in enumerate(result if isinstance(result, tuple) else (result,)):
                out[rows, k * n_outputs + j] = output
        return pd.DataFrame(out, index=panel.index, columns=columns)

    return run


def table_b(n_symbols: int, n_bars: int, repeats: int, only: set[str]) -> None:
    with_talib = {info.name: info for info in available() if info.talib is not None}
    names = sorted(only & set(with_talib)) if only else [n for n in PANEL_DEFAULTS if n in with_talib]
    print(
        f"\n(b) panel of {n_symbols} symbols x {n_bars:,} bars (NaN-padded starts and ends): compute(panel) on "
        f"{numba.get_num_threads()} thread(s) vs a Python loop of TA-Lib calls, best of {repeats}"
    )
    if not names:
        print("  (no indicator with a TA-Lib twin selected)")
        return
    panel = make_panel(n_symbols, n_bars)
    header = f"{'indicator':<16}{'TA-Lib loop ms':>15}{'panel ms':>11}{'speed-up':>10}"
    print(f"{header}{'loop on a copy ms':>19}{'speed-up':>10}")
    speedups = []
    for name in names:
        info = with_talib[name]
        theirs = best_of(talib_loop(info, panel, numpy_copy=False), repeats)
        copied = best_of(talib_loop(info, panel, numpy_copy=True), repeats)
        ours = best_of(lambda name=name: compute(panel, name), repeats)
        speedups.append(theirs / ours)
        flag = "  < 2x" if theirs / ours < GOAL_PANEL else ""
        print(
            f"{name:<16}{theirs * 1e3:>15.1f}{ours * 1e3:>11.1f}{theirs / ours:>9.1f}x"
            f"{copied * 1e3:>19.1f}{copied / ours:>9.1f}x{flag}",
            flush=True,
        )
    worst = min(speedups)
    print(
        f"slowest speed-up over the TA-Lib loop {worst:.1f}x (goal >= {GOAL_PANEL}x: "
        f"{'met' if worst >= GOAL_PANEL else 'MISSED'}); the loop on a NumPy copy is shown for comparison"
    )


def table_c(bars: pd.DataFrame, repeats: int, only: set[str]) -> None:
    references = load_references()
    infos = [info for info in available() if info.talib is None and (not only or info.name in only)]
    pandas_repeats = min(repeats, 2)
    print(
        f"\n(c) indicators beyond TA-Lib: compute() vs the plain pandas definitions, {len(bars):,} bars, defaults, "
        f"best of {repeats} (pandas: best of {pandas_repeats})"
    )
    if not infos:
        print("  (no indicator beyond TA-Lib selected)")
        return
    print(f"{'indicator':<20}{'pandas ms':>12}{'ours ms':>10}{'speed-up':>10}")
    speedups = []
    missing = []
    for info in infos:
        reference = references.get(info.name)
        if reference is None:
            missing.append(info.name)
            continue
        params = info.defaults()
        theirs = best_of(lambda reference=reference, params=params: reference(bars, dict(params)), pandas_repeats)
        ours = best_of(lambda info=info: compute(bars, info.name), repeats)
        speedups.append(theirs / ours)
        flag = "  < 20x" if theirs / ours < GOAL_PANDAS else ""
        print(f"{info.name:<20}{theirs * 1e3:>12.1f}{ours * 1e3:>10.2f}{theirs / ours:>9.0f}x{flag}", flush=True)
    if missing:
        print(f"no plain definition to compare with: {', '.join(missing)}")
    if speedups:
        worst = min(speedups)
        print(
            f"slowest speed-up {worst:.0f}x, median {statistics.median(speedups):.0f}x "
            f"(goal >= {GOAL_PANDAS:.0f}x: {'met' if worst >= GOAL_PANDAS else 'MISSED'})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars for table (a) (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement, best kept (default 5)")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="only these indicators (repeat, or comma-separate)"
    )
    parser.add_argument("--symbols", type=int, default=500, help="symbols in the panel of table (b) (default 500)")
    parser.add_argument("--panel-bars", type=int, default=2_000, help="bars per symbol in table (b) (default 2,000)")
    parser.add_argument("--ref-bars", type=int, default=100_000, help="bars for table (c) (default 100,000)")
    parser.add_argument("--tables", default="abc", help="which tables to run, e.g. 'a' or 'bc' or 'd' (default abc)")
    parser.add_argument("--torch-symbols", type=int, default=5_000, help="symbols in table (d)'s panel (default 5,000)")
    parser.add_argument("--torch-bars", type=int, default=10_000, help="bars per symbol in table (d) (default 10,000)")
    parser.add_argument("--device", default="auto", help="table (d)'s torch device: auto (CUDA if present), cpu, cuda")
    args = parser.parse_args(argv)
    only = {name.strip().lower() for text in args.only for name in text.split(",") if name.strip()}
    unknown = only - {info.name for info in available()}
    if unknown:
        parser.error(f"unknown indicator(s): {', '.join(sorted(unknown))}")

    print(
        f"neurotrade indicators benchmark: {len(available())} indicators registered; python "
        f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads, {os.cpu_count()} CPUs), TA-Lib {talib.__ta_version__.decode().split()[0]}"
    )
    tables = set(args.tables.lower())
    if not tables or tables - set("abcd"):
        parser.error(f"--tables takes letters among a, b, c, d, got {args.tables!r}")
    if "a" in tables:
        table_a(make_bars(args.bars, seed=1), args.repeats, only)
    if "b" in tables:
        table_b(args.symbols, args.panel_bars, args.repeats, only)
    if "c" in tables:
        table_c(make_bars(args.ref_bars, seed=2), args.repeats, only)
    if "d" in tables:
        table_d(args, only)
    return 0


def table_d(args: argparse.Namespace, only: set[str]) -> None:
    """The torch panel table, from its own script beside this one."""
    spec = importlib.util.spec_from_file_location("indicators_torch", Path(__file__).with_name("indicators_torch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--torch-symbols", str(args.torch_symbols), "--torch-bars", str(args.torch_bars), "--device", args.device]
    argv += ["--repeats", str(args.repeats)] + (["--only", ",".join(sorted(only))] if only else [])
    module.main(argv)


if __name__ == "__main__":
    sys.exit(main())
