"""Where neurotrade keeps its files: the workspace (``./workspace`` unless told otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "NEUROTRADE_HOME"
DEFAULT_HOME = "workspace"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Return the workspace directory, without creating it.

    The explicit argument wins, then the ``NEUROTRADE_HOME`` environment variable, then ``./workspace``.

    Examples
    --------
    >>> resolve_home("/tmp/nt").as_posix()
    '/tmp/nt'
    """
    if home is not None:
        return Path(home).expanduser()
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path.cwd() / DEFAULT_HOME
