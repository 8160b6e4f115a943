"""The example strategies shipped inside the package: find one by name, and copy one to start from.

They live in ``neurotrade/strategies/`` (package data), so ``neurotrade run synthetic_lstm`` and
``neurotrade.example_strategy("default")`` work wherever neurotrade is installed, not only in its repository.
This module stays light (no pandas, torch or numba): the command line resolves names before loading anything.
"""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path

from neurotrade.errors import ConfigError

__all__ = ["STARTER_FILE", "example_names", "example_strategy", "resolve_strategy", "write_starter"]

logger = logging.getLogger(__name__)

# A regular package installed from a wheel or in editable mode is a folder on disk, so a plain path works and
# error messages can name file:line in it.
PACKAGED = Path(__file__).resolve().parent / "strategies"
STARTER_FILE = "strategy.yaml"
_SUFFIXES = (".yaml", ".yml")


def example_names() -> list[str]:
    """Return the names of the packaged example strategies, sorted.

    Examples
    --------
    >>> from neurotrade._examples import example_names
    >>> "default" in example_names() and "synthetic_lstm" in example_names()
    True
    """
    return sorted(p.stem for p in PACKAGED.glob("*.yaml"))


def example_strategy(name: str = "default") -> Path:
    """Return the path of a packaged example strategy.

    Parameters
    ----------
    name
        The file's stem (``'synthetic_lstm'``); a ``.yaml`` suffix is accepted.

    Returns
    -------
    Path
        The YAML file inside the installed package; pass it to :func:`neurotrade.run` or copy it.

    Raises
    ------
    ConfigError
        If no packaged strategy has that name; the message lists them and suggests the closest.

    Examples
    --------
    >>> import neurotrade
    >>> neurotrade.example_strategy("default").name
    'default.yaml'
    >>> neurotrade.load_strategy(neurotrade.example_strategy("synthetic_lstm")).model.type
    'lstm'
    """
    stem = _stem(name)
    path = PACKAGED / f"{stem}.yaml"
    if stem and path.is_file():
        return path
    raise ConfigError(f"no packaged strategy named {name!r}{_did_you_mean(stem)} {_listing()}")


def resolve_strategy(given: str | os.PathLike[str]) -> Path:
    """Return ``given`` when it is an existing file, else the packaged example strategy of that name.

    A bare name (no folder in it) that is neither a file here nor a packaged example is refused with the packaged
    names and the closest one; a path with a folder is returned as it is, so that loading it reports the missing
    file with its full path.

    Raises
    ------
    ConfigError
        If ``given`` is a bare name that is neither a file nor a packaged strategy.

    Examples
    --------
    >>> from neurotrade._examples import resolve_strategy
    >>> resolve_strategy("synthetic_lstm").name
    'synthetic_lstm.yaml'
    >>> resolve_strategy("synthetic_lstn")
    Traceback (most recent call last):
    ...
    neurotrade.errors.ConfigError: no strategy file 'synthetic_lstn' here ...; did you mean 'synthetic_lstm'? ...
    """
    path = Path(given)
    if path.is_file() or len(path.parts) != 1:
        return path
    stem = _stem(path.name)
    packaged = PACKAGED / f"{stem}.yaml"
    if stem and packaged.is_file():
        logger.debug("strategy %r is the packaged example %s", str(given), packaged)
        return packaged
    raise ConfigError(
        f"no strategy file {str(given)!r} here and no packaged strategy of that name{_did_you_mean(stem)} {_listing()}"
    )


def write_starter(directory: str | os.PathLike[str], example: str = "default") -> Path:
    """Copy a packaged example strategy to ``directory/strategy.yaml``, creating the folder if needed.

    Parameters
    ----------
    directory
        Where to write; created with its parents when missing.
    example
        Which packaged strategy to copy (:func:`example_names`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        If the file already exists (nothing is ever overwritten), ``directory`` is a file, or ``example`` is unknown.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade._examples import write_starter
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_starter(Path(tmp) / "my_strategy").name
    'strategy.yaml'
    """
    source = example_strategy(example)
    folder = Path(directory)
    target = folder / STARTER_FILE
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file, not a folder; give neurotrade init a folder to write {STARTER_FILE} in")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # "x" creates the file or fails when it exists, so two inits racing cannot overwrite each other either.
        with target.open("x", encoding="utf-8") as out:
            out.write(source.read_text(encoding="utf-8"))
    except FileExistsError as e:
        raise ConfigError(
            f"{target} already exists; neurotrade init never overwrites a file: pick another folder, or remove it first"
        ) from e
    return target


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _did_you_mean(stem: str) -> str:
    close = difflib.get_close_matches(stem, example_names(), n=1)
    return f"; did you mean {close[0]!r}?" if close else "."


def _listing() -> str:
    return (
        f"Packaged strategies: {', '.join(example_names())} (run one with `neurotrade run NAME`, "
        "or copy one to edit with `neurotrade init DIR`)."
    )
