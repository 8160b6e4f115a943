"""Indicators on torch: panels of symbols x time on any device (a GPU when there is one).

The numba kernels stay the reference: :func:`compute_torch` returns the frame :func:`~neurotrade.indicators.compute`
returns, computed with tensors, for every indicator in :func:`torch_forms`. Each symbol is computed over its own
bars only, as the numba panel runner does: the panel is read and checked by that runner's own packing (so the
same panels are refused with the same messages), each symbol's bars are laid out left-aligned in an ``(S, T)``
tensor (padded after its last bar with that bar, which no earlier value can see), computed, and scattered back
to the rows where the symbol has a bar; the warm-up is the registry's (TA-Lib's lengths).

In float64 the values equal the kernels' within 1e-9 of each output's magnitude (the matrix products and
convolutions add in another order than the kernels' running sums, so they are not equal bit for bit); in
float32 within 1e-4 of it. Strategies reach this path with ``indicators_device: cuda`` or ``auto`` (see
:func:`compute_on`); the default, ``cpu``, stays on the kernels, whose values the streaming engine replays.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.errors import ConfigError, IndicatorError
from neurotrade.indicators._registry import entry, validate_params

__all__ = ["DEVICE_OVERRIDE_ENV", "compute_on", "compute_torch", "has_torch_form", "resolve_device", "torch_forms"]

# The modules that register torch forms, by family.
_FAMILIES = (
    "_averages",
    "_channels",
    "_composite",
    "_directional",
    "_ehlers",
    "_lorentzian",
    "_oscillators",
    "_statistic",
    "_volatility",
    "_volume",
)

# Tests only: when set (to a torch device such as "cpu"), `indicators_device: cuda | auto` run the torch forms on
# that device instead of asking for CUDA, so the torch path through the feature builder is tested on any machine.
DEVICE_OVERRIDE_ENV = "NEUROTRADE_TORCH_INDICATORS_DEVICE"

# Elements per (S, T) tensor that one chunk of symbols may hold: a form keeps a dozen such tensors alive, so this
# bounds its memory (~0.5 GiB in float64 at 2**22 on the CPU, where smaller chunks also stay in cache; a GPU
# takes whole 5,000 x 10,000 panels).
_CPU_CHUNK = 2**22
_GPU_CHUNK = 2**26


def _registered() -> dict[str, Any]:
    from neurotrade.indicators._torch._forms import FORMS

    for family in _FAMILIES:
        importlib.import_module(f"neurotrade.indicators._torch.{family}")
    return FORMS


def torch_forms() -> list[str]:
    """The indicators that have a torch form, sorted.

    Examples
    --------
    >>> from neurotrade.indicators._torch import torch_forms
    >>> {"rsi", "cci", "adx", "wavetrend", "macd"} <= set(torch_forms())
    True
    """
    return sorted(_registered())


def has_torch_form(name: str) -> bool:
    """Whether the indicator ``name`` (case-insensitive) has a torch form.

    Examples
    --------
    >>> from neurotrade.indicators._torch import has_torch_form
    >>> has_torch_form("RSI"), has_torch_form("mama")
    (True, False)
    """
    return isinstance(name, str) and name.lower() in _registered()


def resolve_device(preference: str) -> Any:
    """The torch device for an ``indicators_device`` value, or ``None`` for ``cpu`` (the numba kernels).

    ``auto`` is CUDA when this machine has it, else ``None``; ``cuda`` without a CUDA device is a
    :class:`~neurotrade.errors.ConfigError` naming the key. Apple's MPS is never picked: it has no float64.

    Examples
    --------
    >>> from neurotrade.indicators._torch import resolve_device
    >>> resolve_device("cpu") is None
    True
    """
    if preference not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"indicators_device: must be auto, cpu or cuda, got {preference!r}")
    if preference == "cpu":
        return None
    import torch

    from neurotrade.errors import ModelError
    from neurotrade.training._device import select_device

    override = os.environ.get(DEVICE_OVERRIDE_ENV)
    if override:
        return torch.device(override)
    if preference == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else None
    try:
        return select_device("cuda")
    except ModelError:
        raise ConfigError(
            "indicators_device: is 'cuda' but this machine has no CUDA device (torch.cuda.is_available() is "
            "False); use `indicators_device: auto` (CUDA when present, else the numba kernels) or `cpu`"
        ) from None


def compute_on(
    bars: pd.DataFrame | Mapping[Hashable, pd.DataFrame], name: str, preference: str = "cpu", **params: Any
) -> pd.DataFrame:
    """:func:`~neurotrade.indicators.compute`, or :func:`compute_torch` where ``preference`` (a strategy's
    ``indicators_device``) resolves to a device and the indicator has a torch form.

    Examples
    --------
    >>> import pandas as pd
    >>> from neurotrade.indicators._torch import compute_on
    >>> compute_on(pd.DataFrame({"close": [1.0, 2.0, 3.0]}), "sma", "cpu", period=2)["sma"].tolist()
    [nan, 1.5, 2.5]
    """
    from neurotrade.indicators._compute import compute

    device = resolve_device(preference)
    if device is None or not has_torch_form(name):
        return compute(bars, name, **params)
    return compute_torch(bars, name, device=device, **params)


@contextlib.contextmanager
def _exact_float32() -> Iterator[None]:
    """Keep CUDA's float32 products and convolutions in float32: cuDNN's default TF32 (10-bit mantissa) is
    ~1e-3 off, beyond the 1e-4 this path promises."""
    import torch

    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def compute_torch(
    df: pd.DataFrame | Mapping[Hashable, pd.DataFrame],
    name: str,
    *,
    device: Any = "cpu",
    dtype: Any = None,
    **params: Any,
) -> pd.DataFrame:
    """Compute one indicator with torch, over one OHLCV frame or a panel of symbols, on ``device``.

    Parameters
    ----------
    df
        What :func:`~neurotrade.indicators.compute` takes: one frame, a frame with ``(symbol, field)``
        MultiIndex columns, or a dict ``{symbol: OHLCV frame}``; checked the same way.
    name
        An indicator with a torch form (see :func:`torch_forms`).
    device
        A torch device or its name (``'cpu'``, ``'cuda'``, ``'cuda:1'``).
    dtype
        ``torch.float64`` (the default) or ``torch.float32``; the returned frame is float64 either way.
    **params
        The indicator's parameters; missing ones take their defaults.

    Returns
    -------
    pandas.DataFrame
        The shape, index, columns and NaN warm-up of ``compute(df, name, **params)``; values within 1e-9 of
        each output's magnitude in float64, 1e-4 in float32.

    Raises
    ------
    IndicatorError
        If the indicator has no torch form, a parameter is invalid, or the bars are refused (as by ``compute``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurotrade.indicators import compute
    >>> from neurotrade.indicators._torch import compute_torch
    >>> bars = pd.DataFrame({"close": 100.0 + np.sin(np.arange(50.0))})
    >>> a, b = compute_torch(bars, "rsi", period=14), compute(bars, "rsi", period=14)
    >>> bool(np.allclose(a, b, rtol=0, atol=1e-9, equal_nan=True))
    True
    """
    import torch

    from neurotrade.indicators._compute import _input_matrix
    from neurotrade.indicators._panel import _from_frames, _from_panel, _unpack, is_panel

    found = entry(name)
    info = found.info
    values = validate_params(name, **params)
    forms = _registered()
    if info.name not in forms:
        raise IndicatorError(
            f"indicator {info.name!r} has no torch form; it runs on the numba kernels only. Torch forms: "
            f"{', '.join(sorted(forms))}"
        )
    dtype = torch.float64 if dtype is None else dtype
    if dtype not in (torch.float64, torch.float32):
        raise IndicatorError(f"compute_torch computes in torch.float64 or torch.float32, not {dtype}")
    device = torch.device(device)
    panel = is_panel(df)
    if panel:
        packed = _from_frames(df, info) if isinstance(df, Mapping) else _from_panel(df, info)  # type: ignore[arg-type]
        bars, starts = packed.bars, packed.starts
    else:
        if not isinstance(df, pd.DataFrame):
            raise IndicatorError(
                f"indicator {info.name!r} needs a pandas DataFrame of OHLCV bars, got {type(df).__name__}"
            )
        bars = _input_matrix(df, info)
        starts = np.array([0, len(bars)], dtype=np.int64)
    out = _run(forms[info.name], info.inputs, bars, starts, values, device, dtype)
    warmup = int(found.lookback(values))
    counts = np.diff(starts)
    for s in np.flatnonzero(counts):  # each symbol's first `warmup` bars
        out[starts[s] : starts[s] + min(warmup, counts[s])] = np.nan
    if not panel:
        return pd.DataFrame(out, index=df.index, columns=list(info.outputs), copy=False)
    n_symbols, n_rows = packed.has_bar.shape
    table = np.empty((n_symbols * len(info.outputs), n_rows), dtype=np.float64)
    _unpack(np.ascontiguousarray(out), packed.has_bar, starts, table)
    columns = pd.MultiIndex.from_product([packed.symbols, list(info.outputs)], names=["symbol", "output"])
    return pd.DataFrame(table.T, index=packed.index, columns=columns, copy=False)


def _run(
    form: Any,
    inputs: tuple[str, ...],
    bars: np.ndarray,
    starts: np.ndarray,
    params: dict[str, int | float],
    device: Any,
    dtype: Any,
) -> np.ndarray:
    """The form over packed bars (symbol s's at ``bars[starts[s]:starts[s + 1]]``), in the same packed layout."""
    import torch

    counts = np.diff(starts)
    n_symbols = len(counts)
    out = np.empty((len(bars), 0), dtype=np.float64)
    if n_symbols == 0:
        return out
    length = max(int(counts.max()), 1)
    budget = _GPU_CHUNK if device.type == "cuda" else _CPU_CHUNK
    chunk = max(1, budget // length)
    # One dummy bar of ones after the others, which a symbol without bars reads (any finite bar would do).
    source = torch.from_numpy(np.concatenate([bars, np.ones((1, bars.shape[1]))])).to(device=device, dtype=dtype)
    results = []
    with torch.no_grad(), _exact_float32():
        steps = torch.arange(length, device=device)
        for first in range(0, n_symbols, chunk):
            chunk_starts = torch.from_numpy(starts[first : first + chunk + 1]).to(device)
            chunk_counts = chunk_starts[1:] - chunk_starts[:-1]  # (S,)
            # Row of each (symbol, column): the symbol's bar, or its last bar repeated after its end.
            rows = chunk_starts[:-1, None] + torch.minimum(steps[None, :], (chunk_counts - 1).clamp(min=0)[:, None])
            rows = torch.where(chunk_counts[:, None] > 0, rows, len(bars))  # (S, T)
            x = {field: source[rows, j] for j, field in enumerate(inputs)}  # each (S, T)
            values = torch.stack(form(x, params), dim=2)  # (S, T, outputs)
            present = steps[None, :] < chunk_counts[:, None]  # (S, T)
            results.append(values[present].to(device="cpu", dtype=torch.float64))
            del x, values
    return torch.cat(results).numpy()
