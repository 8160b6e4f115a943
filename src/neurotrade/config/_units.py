"""Warn when the network is fed an indicator output measured in price or volume units.

A moving average, an ATR or a MACD line carries the price level in its value: on split-adjusted history every
price before a split is divided by the split ratio (AAPL's adjusted closes run from 0.07 to 84), so one value means
a different market in different years, and a network trained on it learns the era instead of the pattern. Volume
is multiplied by the same ratio, and running totals (OBV, A/D) also depend on where the history starts. Feeding
such an output is legal (it may be what a researcher wants to test), so this is a logged warning located at the
``nn_inputs.indicators`` entry, shown by ``neurotrade validate``, together with a scale-free alternative.

Only raw values given to the network are checked: context features are ratios, and fuzzy memberships are what
their sets make of a value.

``OUTPUT_UNITS`` lists the outputs that carry a unit, by indicator type; every other registered indicator is in
``SCALE_FREE``. ``tests/config/test_units.py`` checks both against the kernels (scale the prices and the volume
and see which outputs follow) and that every registered indicator is in exactly one of them.
"""

from __future__ import annotations

import logging

from neurotrade.config._errors import located
from neurotrade.config._references import Resolved
from neurotrade.config._spec import Strategy
from neurotrade.config._yaml import LocatedDocument

logger = logging.getLogger(__name__)

PRICE = "price"  # a price level: moves with the price (moving averages, bands, stops)
PRICE_CHANGE = "price_change"  # a difference of prices: scales with the price (ATR, MACD, momentum)
VOLUME = "volume"  # shares or contracts, or a running total of them
PRICE_SCALED = "price_scaled"  # a non-linear function of price changes (a variance, a slope's angle): scale, not level

_AVERAGES = ("sma", "ema", "dema", "tema", "t3", "trima", "wma", "kama", "hma", "zlema", "decycler", "vwap", "sar")
_PRICES = ("avgprice", "medprice", "typprice", "wclprice", "midpoint", "midprice", "linearreg", "tsf")
OUTPUT_UNITS: dict[str, dict[str, str]] = {
    **{name: {name: PRICE} for name in _AVERAGES},
    **{name: {name: PRICE} for name in _PRICES},
    "linearreg_intercept": {"intercept": PRICE},
    "accbands": {"upper": PRICE, "middle": PRICE, "lower": PRICE},
    "mama": {"mama": PRICE, "fama": PRICE},
    "ht_trendline": {"trendline": PRICE},
    "adaptive_laguerre": {"filter": PRICE},
    "cipher_a": {f"ema{n}": PRICE for n in (5, 11, 15, 18, 21, 24, 28, 34)},  # its waves and signals are scale-free
    "fib_retracement": {f"level_{r}": PRICE for r in ("236", "382", "500", "618", "786")},  # `direction` is +-1
    "alligator": {"jaw": PRICE, "teeth": PRICE, "lips": PRICE},
    "bbands": {"upper": PRICE, "middle": PRICE, "lower": PRICE},
    "donchian": {"upper": PRICE, "middle": PRICE, "lower": PRICE},
    "keltner": {"upper": PRICE, "middle": PRICE, "lower": PRICE},
    "ichimoku": {"tenkan": PRICE, "kijun": PRICE, "senkou_a": PRICE, "senkou_b": PRICE},
    "chandelier": {"long_stop": PRICE, "short_stop": PRICE},
    "heikin_ashi": {"ha_open": PRICE, "ha_high": PRICE, "ha_low": PRICE, "ha_close": PRICE},
    "ssl": {"up": PRICE, "down": PRICE},
    "supertrend": {"supertrend": PRICE},  # its `direction` is +1 / -1
    "atr": {"atr": PRICE_CHANGE},
    "trange": {"trange": PRICE_CHANGE},
    "stddev": {"stddev": PRICE_CHANGE},
    "macd": {"macd": PRICE_CHANGE, "signal": PRICE_CHANGE, "hist": PRICE_CHANGE},
    "apo": {"apo": PRICE_CHANGE},
    "mom": {"mom": PRICE_CHANGE},
    "ao": {"ao": PRICE_CHANGE},
    "dpo": {"dpo": PRICE_CHANGE},
    "linearreg_slope": {"slope": PRICE_CHANGE},
    "ht_phasor": {"inphase": PRICE_CHANGE, "quadrature": PRICE_CHANGE},
    "ash": {"bulls": PRICE_CHANGE, "bears": PRICE_CHANGE},
    "waddah_attar": {o: PRICE_CHANGE for o in ("trend_up", "trend_down", "explosion", "dead_zone")},
    "plus_dm": {"plus_dm": PRICE_CHANGE},
    "minus_dm": {"minus_dm": PRICE_CHANGE},
    "var": {"var": PRICE_SCALED},
    "linearreg_angle": {"angle": PRICE_SCALED},
    "cyber_cycle": {"cycle": PRICE_CHANGE, "trigger": PRICE_CHANGE},
    "roofing": {"roofing": PRICE_CHANGE},
    "ttm_squeeze": {"momentum": PRICE_CHANGE},  # its `squeeze_on` is 0 / 1
    "obv": {"obv": VOLUME},
    "ad": {"ad": VOLUME},
    "adosc": {"adosc": VOLUME},
}

# Oscillators, ratios and percentages: the same value means the same thing at any price level.
SCALE_FREE = frozenset(
    {
        "adx", "adxr", "aroon", "aroonosc", "asi", "beta", "bop", "cci", "chaikin_volatility", "cipher_b", "cmf", "cmo",
        "correl", "damiani", "dv2", "dx", "fisher", "ht_dcperiod", "ht_dcphase", "ht_sine", "hurst", "ifisher_rsi",
        "kst", "laguerre_rsi", "lorentzian_adx", "lorentzian_cci", "lorentzian_rsi", "lorentzian_wt", "mfi", "minus_di",
        "natr", "pgo", "plus_di", "ppo", "qqe", "rmi", "roc", "rocp", "rocr", "rocr100", "rsi", "rsx", "stc", "stoch",
        "stochf", "stochrsi", "trix", "tsi", "ttf", "ultosc", "vortex", "wavetrend", "willr",
    }
)  # fmt: skip

_LEVEL = (
    "a ratio to the close, e.g. nn_inputs.context.price_over_ma: [n] (the close over its n-bar SMA, minus 1), "
    "or an oscillator of where the close sits (willr, stoch, cci)"
)
_CHANGE = "a percent form (roc, ppo, natr) or a normalised oscillator (cci, fisher)"
_VOLUME = "nn_inputs.context.volume_ratio: [n] (the volume over its n-bar average) or a flow oscillator (cmf, mfi)"
ALTERNATIVES: dict[str, str] = {
    "atr": "natr (the ATR as a percentage of the close)",
    "trange": "natr (the ATR as a percentage of the close)",
    "stddev": "natr (volatility as a percentage of the close)",
    "var": "natr (volatility as a percentage of the close)",
    "macd": "ppo (the fast-slow EMA gap as a percentage of the slow EMA)",
    "apo": "ppo (the fast-slow EMA gap as a percentage of the slow EMA)",
    "mom": "roc (the change in percent)",
    "donchian": "willr over the same period (where the close sits between the highest high and the lowest low)",
    "obv": _VOLUME,
    "ad": _VOLUME,
    "adosc": _VOLUME,
}
_WHAT = {
    PRICE: "is a price level",
    PRICE_CHANGE: "is in price units",
    VOLUME: "is in volume units",
    PRICE_SCALED: "depends on the price scale",
}


def warn_price_units(doc: LocatedDocument, strategy: Strategy, refs: Resolved) -> list[str]:
    """Log a WARNING for each ``nn_inputs.indicators`` entry whose values are in price or volume units.

    Parameters
    ----------
    doc
        The parsed YAML, for the file and line of each entry.
    strategy
        The validated spec, with ``nn_inputs.indicators`` as written in the file.
    refs
        What the reference checks resolved: each reference's canonical output and each indicator's type.

    Returns
    -------
    list of str
        The warnings logged, one line each: ``file:line nn_inputs.indicators[i]: <feature> ...; use <alternative>``.

    Examples
    --------
    >>> from neurotrade.config._references import check_references
    >>> from neurotrade.config._yaml import parse_yaml
    >>> doc = parse_yaml("name: x\\nindicators: {atr_14: {}}\\nnn_inputs: {indicators: [atr_14]}\\n", "x.yaml")
    >>> (warning,) = warn_price_units(doc, Strategy.model_validate(doc.data), check_references(doc))
    >>> print(warning[:58], "...", warning.split("; use ")[1])
    x.yaml:3 nn_inputs.indicators[0]: atr_14 is in price units ... natr (the ATR as a percentage of the close) instead
    """
    warnings: list[str] = []
    for i, ref in enumerate(strategy.nn_inputs.indicators):
        canonical = refs.outputs.get(ref)
        if canonical is None:
            continue
        key, _, output = canonical.partition(".")
        indicator = refs.indicators.get(key)
        if indicator is None:
            continue
        kind = indicator["type"]
        units = OUTPUT_UNITS.get(kind, {})
        unit = units.get(output) if output else next(iter(units.values()), None)
        if unit is None:
            continue
        alternative = ALTERNATIVES.get(kind) or (_VOLUME if unit == VOLUME else _LEVEL if unit == PRICE else _CHANGE)
        if kind in ("sma", "bbands"):  # both are (or are centred on) the SMA that price_over_ma divides by
            period = indicator["params"].get("period")
            alternative = f"nn_inputs.context.price_over_ma: [{period}] (the close over its {period}-bar SMA, minus 1)"
        message = (
            f"{canonical} {_WHAT[unit]}, which split adjustment rescales before every split (prices divided by the "
            f"ratio, volume multiplied), so one value means different markets in different years; use {alternative} "
            "instead"
        )
        warnings.append(located(doc, ("nn_inputs", "indicators", i), message))
        logger.warning("%s", warnings[-1])
    return warnings
