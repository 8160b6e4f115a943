"""Ehlers' filters and Jurik's RSX written plainly from their published code, one bar at a time.

Each function follows the EasyLanguage (or MQL) listing cited in the indicator's ``definition``,
statement by statement, with the seeds stated there; vectorisable parts (median price, rolling
highs and lows) use pandas.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _frame(bars: pd.DataFrame, **columns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(columns, index=bars.index)


def laguerre_rsi(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Ehlers (2004): a four-stage Laguerre filter, and CU / (CU + CD) over its stages."""
    gamma = params["gamma"]
    close = bars["close"].to_numpy()
    out = np.full(len(close), np.nan)
    rsi = 0.5
    l0 = l1 = l2 = l3 = math.nan
    for t, x in enumerate(close):
        if t == 0:
            l0 = l1 = l2 = l3 = x
            continue
        l0_1, l1_1, l2_1, l3_1 = l0, l1, l2, l3
        l0 = (1 - gamma) * x + gamma * l0_1
        l1 = -gamma * l0 + l0_1 + gamma * l1_1
        l2 = -gamma * l1 + l1_1 + gamma * l2_1
        l3 = -gamma * l2 + l2_1 + gamma * l3_1
        cu = cd = 0.0
        if l0 >= l1:
            cu = l0 - l1
        else:
            cd = l1 - l0
        if l1 >= l2:
            cu = cu + l1 - l2
        else:
            cd = cd + l2 - l1
        if l2 >= l3:
            cu = cu + l2 - l3
        else:
            cd = cd + l3 - l2
        if cu + cd > 1e-12 * abs(l0):
            rsi = cu / (cu + cd)
        out[t] = rsi
    return _frame(bars, laguerre_rsi=out)


def rsx(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Jurik's RSX as in the published RSX.mq4: three double-smoothing stages of v and of |v|."""
    length = params["period"]
    f18 = 3 / (length + 2)
    f20 = 1 - f18
    f88 = max(length - 1, 5)
    close = bars["close"].to_numpy()
    out = np.full(len(close), np.nan)
    f28 = f30 = f38 = f40 = f48 = f50 = f58 = f60 = f68 = f70 = f78 = f80 = 0.0
    f8 = math.nan
    for t, x in enumerate(close):
        f10 = f8
        f8 = 100 * x
        if t == 0:
            continue
        v8 = f8 - f10
        f28 = f20 * f28 + f18 * v8
        f30 = f18 * f28 + f20 * f30
        vc = f28 * 1.5 - f30 * 0.5
        f38 = f20 * f38 + f18 * vc
        f40 = f18 * f38 + f20 * f40
        v10 = f38 * 1.5 - f40 * 0.5
        f48 = f20 * f48 + f18 * v10
        f50 = f18 * f48 + f20 * f50
        v14 = f48 * 1.5 - f50 * 0.5
        f58 = f20 * f58 + f18 * abs(v8)
        f60 = f18 * f58 + f20 * f60
        v18 = f58 * 1.5 - f60 * 0.5
        f68 = f20 * f68 + f18 * v18
        f70 = f18 * f68 + f20 * f70
        v1c = f68 * 1.5 - f70 * 0.5
        f78 = f20 * f78 + f18 * v1c
        f80 = f18 * f78 + f20 * f80
        v20 = f78 * 1.5 - f80 * 0.5
        if t < f88:
            continue
        if v20 > 0.0000000001:
            out[t] = min(max((v14 / v20 + 1) * 50, 0.0), 100.0)
        else:
            out[t] = 50.0
    return _frame(bars, rsx=out)


def fisher(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Ehlers (2002): the Fisher transform of the median price's place in its `period`-bar range."""
    length = params["period"]
    price = (bars["high"] + bars["low"]) / 2
    max_h = price.rolling(length).max().to_numpy()
    min_l = price.rolling(length).min().to_numpy()
    price = price.to_numpy()
    fish_out = np.full(len(price), np.nan)
    trigger_out = np.full(len(price), np.nan)
    value1 = fish = 0.0
    for t in range(length - 1, len(price)):
        place = (price[t] - min_l[t]) / (max_h[t] - min_l[t]) if max_h[t] > min_l[t] else 0.5
        value1 = 0.66 * (place - 0.5) + 0.67 * value1
        if value1 > 0.99:
            value1 = 0.999
        if value1 < -0.99:
            value1 = -0.999
        previous = fish
        fish = 0.5 * math.log((1 + value1) / (1 - value1)) + 0.5 * fish
        if t >= length:
            fish_out[t] = fish
            trigger_out[t] = previous
    return _frame(bars, fisher=fish_out, trigger=trigger_out)


def cyber_cycle(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Ehlers (2004): the second difference of a smoothed price, recursively high-passed."""
    alpha = params["alpha"]
    price = (bars["high"] + bars["low"]) / 2
    smooth = ((price + 2 * price.shift(1) + 2 * price.shift(2) + price.shift(3)) / 6).to_numpy()
    price = price.to_numpy()
    cycle = np.full(len(price), np.nan)
    for t in range(2, len(price)):
        if t < 6:
            cycle[t] = (price[t] - 2 * price[t - 1] + price[t - 2]) / 4
        else:
            cycle[t] = (
                (1 - 0.5 * alpha) * (1 - 0.5 * alpha) * (smooth[t] - 2 * smooth[t - 1] + smooth[t - 2])
                + 2 * (1 - alpha) * cycle[t - 1]
                - (1 - alpha) * (1 - alpha) * cycle[t - 2]
            )
    trigger = np.r_[np.nan, cycle[:-1]] if len(cycle) else cycle
    cycle[:6] = np.nan
    trigger[:6] = np.nan
    return _frame(bars, cycle=cycle, trigger=trigger)


def _highpass(close: np.ndarray, hp_period: float) -> np.ndarray:
    """Ehlers' two-pole high-pass, 0 on the first two bars."""
    angle = math.radians(0.707 * 360 / hp_period)
    alpha1 = (math.cos(angle) + math.sin(angle) - 1) / math.cos(angle)
    hp = np.zeros(len(close))
    for t in range(2, len(close)):
        hp[t] = (
            (1 - alpha1 / 2) * (1 - alpha1 / 2) * (close[t] - 2 * close[t - 1] + close[t - 2])
            + 2 * (1 - alpha1) * hp[t - 1]
            - (1 - alpha1) * (1 - alpha1) * hp[t - 2]
        )
    return hp


def roofing(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Ehlers (2013): the two-pole high-pass, then the super smoother."""
    close = bars["close"].to_numpy()
    hp = _highpass(close, params["hp_period"])
    lp_period = params["lp_period"]
    a1 = math.exp(-1.414 * 3.14159 / lp_period)
    b1 = 2 * a1 * math.cos(math.radians(1.414 * 180 / lp_period))
    c2 = b1
    c3 = -a1 * a1
    c1 = 1 - c2 - c3
    filt = np.zeros(len(close))
    for t in range(2, len(close)):
        filt[t] = c1 * (hp[t] + hp[t - 1]) / 2 + c2 * filt[t - 1] + c3 * filt[t - 2]
    filt[:2] = np.nan
    return _frame(bars, roofing=filt)


def decycler(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Ehlers (2015): the close minus its two-pole high-pass."""
    close = bars["close"].to_numpy()
    decycle = close - _highpass(close, params["hp_period"])
    decycle[:2] = np.nan
    return _frame(bars, decycler=decycle)


REFERENCES = {
    "laguerre_rsi": laguerre_rsi,
    "rsx": rsx,
    "fisher": fisher,
    "cyber_cycle": cyber_cycle,
    "roofing": roofing,
    "decycler": decycler,
}
