"""Universes: the symbols a strategy trades together, named in the spec or in the workspace's ``universes.yaml``."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from neurotrade.errors import ConfigError

UNIVERSES_FILE = "universes.yaml"
_MAX_FILE_BYTES = 1_000_000


def universe_symbols(symbols: list[str] | int | None, universe: str | None, *, home: Path) -> list[str]:
    """The symbols of a universe, in the order given: a list as written, ``n`` seeded synthetic symbols named
    ``S001`` ... ``Sn``, or the list named ``universe`` in ``<home>/universes.yaml``.

    Examples
    --------
    >>> universe_symbols(["AAPL", "MSFT"], None, home=Path("."))
    ['AAPL', 'MSFT']
    >>> universe_symbols(3, None, home=Path("."))
    ['S001', 'S002', 'S003']
    """
    if isinstance(symbols, int):
        width = max(3, len(str(symbols)))
        return [f"S{i:0{width}d}" for i in range(1, symbols + 1)]
    if symbols is not None:
        return list(symbols)
    if universe is None:
        raise ConfigError("no universe: give data.symbols or data.universe")
    return named_universes(home).get(universe) or _unknown(universe, home)


def named_universes(home: Path) -> dict[str, list[str]]:
    """The universes defined in the workspace's ``universes.yaml`` (``name: [SYM, ...]``); empty when there is none.

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> _ = (home / "universes.yaml").write_text("tech: [AAPL, MSFT]\\n")
    >>> named_universes(home)
    {'tech': ['AAPL', 'MSFT']}
    """
    from pydantic import TypeAdapter, ValidationError

    from neurotrade.config._spec import Name, Symbol  # the spec's own patterns

    path = home / UNIVERSES_FILE
    if not path.is_file():
        return {}
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise ConfigError(f"{path} is over {_MAX_FILE_BYTES} bytes; a universes file lists names, keep it small")
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    try:
        universes = TypeAdapter(dict[Name, list[Symbol]]).validate_python(loaded or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"{path}: {where}: {first['msg']}; write `name: [SYMBOL, ...]` per universe, e.g. `tech: [AAPL, MSFT]`"
        ) from error
    for name, symbols in universes.items():
        _check_symbols(name, symbols, where=f"{path}: ")
    return universes


def _check_symbols(name: str, symbols: list[str], *, where: str = "") -> None:
    """A universe holds 1 to MAX_SYMBOLS symbols, each once (AAPL and aapl are one symbol to a file system)."""
    from neurotrade.config._spec import MAX_SYMBOLS

    if not symbols or len(symbols) > MAX_SYMBOLS:
        raise ConfigError(f"{where}universe {name!r} lists 1 to {MAX_SYMBOLS} symbols, got {len(symbols)}")
    if len({s.upper() for s in symbols}) != len(symbols):
        raise ConfigError(f"{where}universe {name!r} lists a symbol more than once: {symbols}")


def _unknown(universe: str, home: Path) -> list[str]:
    known = named_universes(home)
    close = difflib.get_close_matches(universe, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = f" It defines {sorted(known)}." if known else ""
    raise ConfigError(
        f"data.universe: {universe!r} is not defined in {home / UNIVERSES_FILE}{hint}.{listed} Add a line "
        f"`{universe}: [SYMBOL, ...]` to that file"
    )


def symbol_seed(seed: int, position: int) -> int:
    """The seed of a universe's ``position``-th synthetic symbol: the strategy's own seed for the first (so a
    one-symbol universe is today's synthetic series), a distinct seed derived from both for the others.

    Examples
    --------
    >>> symbol_seed(7, 0), symbol_seed(7, 1) == symbol_seed(7, 2)
    (7, False)
    """
    if position == 0:
        return seed
    return int(np.random.SeedSequence([seed, position]).generate_state(1)[0])


def define_universe(home: Path, name: str, symbols: list[str]) -> Path:
    """Write (or replace) the universe ``name`` in the workspace's ``universes.yaml``, keeping the others; the
    file is replaced atomically. Returns its path.

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> _ = define_universe(home, "tech", ["AAPL", "MSFT"])
    >>> universe_symbols(None, "tech", home=home)
    ['AAPL', 'MSFT']
    """
    import os
    import tempfile

    from pydantic import TypeAdapter, ValidationError

    from neurotrade.config._spec import Name, Symbol

    try:
        TypeAdapter(Name).validate_python(name)
        TypeAdapter(list[Symbol]).validate_python(symbols)
    except ValidationError as error:
        raise ConfigError(
            f"a universe's name starts with a letter (letters, digits, _ and -), its symbols with a letter or "
            f"digit (letters, digits, ., _ and -): {error.errors()[0]['msg']}"
        ) from error
    _check_symbols(name, symbols)
    universes = named_universes(home)
    universes[name] = list(symbols)
    home.mkdir(parents=True, exist_ok=True)
    path = home / UNIVERSES_FILE
    fd, tmp = tempfile.mkstemp(dir=home, prefix=".universes-", suffix=".yaml")
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(universes, out, default_flow_style=None, sort_keys=False)
    Path(tmp).replace(path)
    return path


def universe_fingerprint(bars: dict[str, pd.DataFrame]) -> str:
    """One fingerprint of a universe's bars that ignores the order its symbols are listed in (the trial ledger's
    and the search's name for the data: the same bars in another order are no new data).

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> a, b = synthetic_ohlcv(300, seed=1), synthetic_ohlcv(300, seed=2)
    >>> universe_fingerprint({"A": a, "B": b}) == universe_fingerprint({"B": b, "A": a})
    True
    """
    import hashlib

    from neurotrade.data._fingerprint import fingerprint

    parts = sorted(f"{symbol}:{fingerprint(frame)};" for symbol, frame in bars.items())
    return hashlib.sha256("".join(parts).encode()).hexdigest()
