"""Numeric building blocks shared by the kernels, following TA-Lib's own arithmetic.

Every indicator is written once, as an *update* over a float64 state vector:
``update(state, params, bars, out)`` advances the state over the rows of ``bars``
(``(n_bars, n_inputs)``, the indicator's inputs in declared order, row- or column-major, possibly
read-only: index it, never reshape it) and writes one row of outputs
per bar into ``out`` (NaN while warming up). A batch computation is ``init`` then one ``update``
over the whole series; the streaming form calls ``update`` with one bar at a time. Both run the
same compiled loop body on the same state, so they agree bit for bit, and a series can also be
extended in chunks. Inside the loop the state lives in local variables (registers), loaded at the
start of the call and stored back at its end.

Counters live in the state as floats: they are exact up to 2**53 bars, and keeping the state one
float64 array keeps one compiled signature per kernel.

TA-Lib (0.8) evaluates its recursive smoothers with explicit fused multiply-adds, so :func:`fma`
is exposed here as LLVM's correctly rounded ``llvm.fma.f64``: the same value on every CPU, whether
or not it has an FMA instruction, and never contracted implicitly anywhere else.

Numba's on-disk cache is keyed on each kernel's own source file, not on the helpers it calls: after
editing a helper here, delete ``__pycache__`` in this package so the kernels recompile with it.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["fma", "is_zero", "true_range"]


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with a single rounding (C99 ``fma``); callable from numba code only."""
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, sig, args):
        double = ir.DoubleType()
        fn_type = ir.FunctionType(double, [double, double, double])
        fn = cgutils.get_or_insert_function(builder.module, fn_type, "llvm.fma.f64")
        return builder.call(fn, args)

    return signature, codegen


@njit(cache=True, error_model="numpy", inline="always")
def is_zero(value: float) -> bool:
    """TA-Lib's ``TA_IS_ZERO``: an absolute tolerance of 1e-14, not an exact test."""
    return -1e-14 < value < 1e-14


@njit(cache=True, error_model="numpy", inline="always")
def true_range(high: float, low: float, prev_close: float) -> float:
    """Wilder's true range: the largest of the bar's range and its two gaps to the previous close."""
    greatest = high - low
    gap_high = np.abs(prev_close - high)
    if gap_high > greatest:
        greatest = gap_high
    gap_low = np.abs(prev_close - low)
    if gap_low > greatest:
        greatest = gap_low
    return greatest
