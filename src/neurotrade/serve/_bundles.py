"""Bundle names as the API takes them, resolved to one saved bundle or a 404 that lists what exists.

Only store names are accepted (``strategy``, ``strategy/latest``, ``strategy/latest-1d``, ``strategy/1d_v2``,
``strategy/v2``): the library would also take a directory path, which an API must never let a caller name.
"""

from __future__ import annotations

import re
from pathlib import Path

from neurotrade.serve._errors import ApiError

NAME_PART = r"[A-Za-z0-9_-]{1,64}"
STRATEGY_RE = re.compile(NAME_PART)
MODEL_NAME_PATTERN = rf"^{NAME_PART}(/{NAME_PART})?$"
_VERSION_RE = re.compile(r"(?:(?P<timeframe>[A-Za-z0-9]+)_)?v(?P<version>[1-9][0-9]{0,8})")
_LATEST = "latest"


def resolve_ref(models_dir: Path, name: str, *, field: str = "body.model"):
    """The saved bundle ``name`` means (a :class:`neurotrade.store.BundleRef`), or ApiError 404 naming the ones
    that exist (422 for a name that is not a bundle name at all).

    Examples
    --------
    >>> import tempfile, torch
    >>> from neurotrade.store import save_bundle
    >>> models = Path(tempfile.mkdtemp())
    >>> _ = [save_bundle(models, "trend", "1d", weights={"w": torch.ones(1)}, documents={}) for _ in range(2)]
    >>> resolve_ref(models, "trend").name, resolve_ref(models, "trend/v1").name
    ('trend/1d_v2', 'trend/1d_v1')
    >>> resolve_ref(models, "trend/1d_v9")
    Traceback (most recent call last):
    ...
    neurotrade.serve._errors.ApiError: strategy 'trend' has no bundle '1d_v9'; its bundles: trend/1d_v1, trend/1d_v2
    """
    from neurotrade.errors import StoreError
    from neurotrade.store import list_bundles

    strategy, _, which = name.partition("/")
    if not STRATEGY_RE.fullmatch(strategy) or (which and not STRATEGY_RE.fullmatch(which)):
        raise ApiError(
            422,
            f"{name!r} is not a bundle name: use 'strategy', 'strategy/latest', 'strategy/latest-1d', "
            "'strategy/1d_v2' or 'strategy/v2' (letters, digits, _ and -)",
            field=field,
        )
    try:
        refs = list_bundles(models_dir, strategy)
    except StoreError as e:
        raise ApiError(404, str(e), field=field) from e
    found = None
    if not which or which == _LATEST:
        found = next((r for r in refs if r.is_latest), refs[-1] if refs else None)
    elif which.startswith(f"{_LATEST}-"):
        timeframe = which.removeprefix(f"{_LATEST}-")
        found = next((r for r in refs if r.timeframe == timeframe and r.is_latest_of_timeframe), None)
    elif (m := _VERSION_RE.fullmatch(which)) is not None:
        version = int(m["version"])
        found = next(
            (r for r in refs if r.version == version and m["timeframe"] in (None, r.timeframe)),
            None,
        )
    if found is None:
        listed = ", ".join(r.name for r in refs) or "none"
        raise ApiError(404, f"strategy {strategy!r} has no bundle {which!r}; its bundles: {listed}", field=field)
    return found
