"""Table (d) of the indicator benchmarks: the numba panel runner on the CPU against the torch forms on a device.

For every indicator with a torch form (``--only`` to pick some), on a panel of ``--torch-symbols`` x
``--torch-bars`` bars (5,000 x 10,000 as issue 15 asks) with missing bars (a tenth of the symbols listed late,
others with holes): ``compute(panel, name)`` (numba, symbols in parallel on the CPU's threads) against
``compute_torch(panel, name, device=...)`` on ``--device`` (``auto``: CUDA when present, else the CPU), both
from the same DataFrame to the same DataFrame (the reading and checking of the panel is the same code in both,
only the computation differs), timed in turn, best of ``--repeats``. ``ratio`` is numba's time over torch's
(above 1: torch is faster). ``error`` is the largest difference to numba's values, relative to each output
column's magnitude (the tolerance the tests hold: 1e-9 in float64, 1e-4 in float32).

Memory: the panel is 5 fields x symbols x bars float64 (2 GB at the full size), the runner packs a copy of the
inputs, and each result is outputs x symbols x bars; the torch forms work on chunks of symbols on the CPU
(``_CPU_CHUNK``) and on whole panels on a GPU. The full size fits in 24 GB; ``--dtype float32`` halves the
device's share. Run from the repository root::

    .venv/bin/python benchmarks/indicators_torch.py                                   # 5,000 x 10,000
    .venv/bin/python benchmarks/indicators_torch.py --torch-symbols 500 --only rsi,adx,wavetrend
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
import torch

from neurotrade.indicators import compute
from neurotrade.indicators._torch import compute_torch, torch_forms


def make_panel(symbols: int, bars: int, seed: int = 0) -> pd.DataFrame:
    """Random-walk OHLCV bars for ``symbols`` symbols on one hourly index, with missing bars."""
    rng = np.random.default_rng(seed)
    shape = (bars, symbols)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, shape), axis=0))
    open_ = close * np.exp(rng.normal(0.0, 0.0025, shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.005, shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.005, shape)))
    volume = rng.lognormal(10.0, 1.0, shape)
    present = np.ones(shape, dtype=bool)
    late = rng.random(symbols) < 0.1
    present[:, late] = np.arange(bars)[:, None] >= rng.integers(0, bars, late.sum())[None, :]
    holes = rng.random(symbols) < 0.1
    present[:, holes] &= rng.random((bars, holes.sum())) > 0.05
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    names = [f"S{s:05d}" for s in range(symbols)]
    columns = pd.MultiIndex.from_product([names, list(fields)], names=["symbol", "field"])
    values = np.empty((bars, symbols * len(fields)))
    for j, array in enumerate(fields.values()):
        values[:, j :: len(fields)] = np.where(present, array, np.nan)
    index = pd.date_range("2020-01-01", periods=bars, freq="h", tz="UTC", name="time")
    return pd.DataFrame(values, index=index, columns=columns, copy=False)


def scaled_error(expected: pd.DataFrame, got: pd.DataFrame) -> float:
    a, b = expected.to_numpy(), got.to_numpy()
    if not (np.isnan(a) == np.isnan(b)).all():
        return float("inf")
    scale = np.nanmax(np.abs(a), axis=0, initial=0.0)
    error = np.nanmax(np.abs(a - b), axis=0, initial=0.0)
    return float(np.max(error / np.where(scale > 0, scale, 1.0), initial=0.0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-symbols", type=int, default=5_000)
    parser.add_argument("--torch-bars", type=int, default=10_000)
    parser.add_argument("--only", default="", help="comma-separated indicators (default: every torch form)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present, else cpu), cpu, cuda, cuda:1")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    dtype = getattr(torch, args.dtype)
    names = [n for n in args.only.split(",") if n] or torch_forms()
    unknown = set(names) - set(torch_forms())
    if unknown:
        parser.error(f"no torch form for {', '.join(sorted(unknown))}; torch forms: {', '.join(torch_forms())}")
    described = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    load = os.getloadavg()
    print(
        f"(d) numba panel on the CPU ({os.cpu_count()} cores) vs torch on {device} ({described}), {args.dtype}; "
        f"panel {args.torch_symbols:,} symbols x {args.torch_bars:,} bars; best of {args.repeats}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; torch {torch.__version__}"
    )
    start = time.perf_counter()
    panel = make_panel(args.torch_symbols, args.torch_bars)
    print(f"panel built in {time.perf_counter() - start:.1f} s, {panel.memory_usage(deep=False).sum() / 2**30:.2f} GiB")
    print(f"{'indicator':<12}{'numba s':>10}{'torch s':>10}{'ratio':>8}{'error':>10}")
    ratios = []
    small = panel.iloc[:300, : 5 * 4]
    for name in names:
        compute(small, name)  # loads the kernels from numba's cache, and warms torch, before any timing
        compute_torch(small, name, device=device, dtype=dtype)
        best = [float("inf"), float("inf")]
        kernels = on_torch = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            kernels = compute(panel, name)
            best[0] = min(best[0], time.perf_counter() - start)
            start = time.perf_counter()
            on_torch = compute_torch(panel, name, device=device, dtype=dtype)
            best[1] = min(best[1], time.perf_counter() - start)
        ratio = best[0] / best[1]
        ratios.append(ratio)
        error = scaled_error(kernels, on_torch)
        print(f"{name:<12}{best[0]:>10.3f}{best[1]:>10.3f}{ratio:>8.2f}{error:>10.1e}", flush=True)
        del kernels, on_torch
    print(f"median ratio {float(np.median(ratios)):.2f} (numba / torch; above 1: torch is faster)")


if __name__ == "__main__":
    main()
