"""A bundle's strategy spec read back and validated, with a located error when this neurotrade cannot read it."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

import pydantic

from neurotrade.errors import ConfigError, StoreError
from neurotrade.store._bundle import Bundle
from neurotrade.store._manifest import display_name, read_manifest, verify_files

if TYPE_CHECKING:
    from neurotrade.config import Strategy

SPEC_FILE = "spec.json"


def bundle_strategy(bundle: Bundle) -> Strategy:
    """The bundle's ``spec`` document validated as a :class:`neurotrade.config.Strategy`.

    A spec saved by another version of neurotrade (an older schema), or edited by hand, may no longer validate;
    that is reported as one line naming the bundle, the file, the line and key path of the first problem, and
    what to do about it.

    Parameters
    ----------
    bundle
        A bundle from :func:`neurotrade.store.load_bundle`.

    Returns
    -------
    neurotrade.config.Strategy
        The resolved strategy the bundle's model was trained with.

    Raises
    ------
    StoreError
        The bundle has no ``spec`` document, or its spec does not validate, e.g. ``bundle trend/1d_v2:
        models/trend/1d_v2/spec.json:40 model.hidden: unknown key 'hiddn'; did you mean 'hidden'? ...``.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.pipeline import load_bundle, run
    >>> home = tempfile.mkdtemp()
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nmodel: {hidden: [8]}\\ntraining: {epochs: 1}\\n")
    >>> _ = run(spec, home=home)
    >>> bundle_strategy(load_bundle("doc", home=home)).model.hidden
    [8]
    """
    from neurotrade.config import Strategy  # the spec describes every stage; only reading it back needs it

    where = bundle.ref.name
    document = bundle.documents.get("spec")
    if not isinstance(document, dict):
        raise StoreError(
            f"bundle {where} has no spec.json document; only bundles saved by neurotrade.pipeline.run hold the "
            "strategy their model was trained with. Retrain the strategy to save one."
        )
    try:
        strategy = Strategy.model_validate(document)
    except pydantic.ValidationError as e:
        problems = _located_problems(bundle, document, e, Strategy)
        first = problems[0] if problems[0].endswith((".", "?")) else f"{problems[0]}."
        count = f"; {len(problems)} problems, the first shown" if len(problems) > 1 else ""
        raise StoreError(
            f"bundle {where}: {first} This neurotrade ({_version()}) cannot read the spec the bundle was saved "
            f"with{_saved_by(bundle)}{count}: retrain the strategy to save a bundle it reads, or load this one with "
            "the version that saved it."
        ) from e
    # A spec edited after saving could ask for a network far larger than its weights, and building it could
    # exhaust memory before the weights fail to fit: the same ceiling as at validation, before anything is built.
    from neurotrade.config._size import check_model_size
    from neurotrade.config._yaml import LocatedDocument

    if check_model_size(LocatedDocument(data=document, lines={}, source=""), strategy):
        # Only now read spec.json again for the line numbers: a sound bundle's load pays no extra I/O.
        too_large = check_model_size(_located_document(bundle, document), strategy)
        raise StoreError(f"bundle {where}: {too_large[0]}. Retrain the strategy, or restore its spec.json")
    return strategy


def _located_problems(
    bundle: Bundle, document: dict[str, Any], error: pydantic.ValidationError, root: Any
) -> list[str]:
    """``models/trend/1d_v2/spec.json:12 key.path: message`` for every problem (the config's own wording)."""
    from neurotrade.config._errors import pydantic_problems

    located = _located_document(bundle, document)
    problems = pydantic_problems(error, located, root)
    if located.lines:
        return problems
    return [p.replace(f"{located.source}:1 ", f"{located.source} ", 1) for p in problems]


def _located_document(bundle: Bundle, document: dict[str, Any]) -> Any:
    """The spec with the line of each key in ``spec.json``, for messages that say where."""
    from neurotrade.config._yaml import LocatedDocument, parse_yaml

    source = f"{display_name(bundle.ref.path)}/{SPEC_FILE}"
    lines: dict[Any, int] = {}
    try:
        # The verified bytes of the file give the lines; JSON is YAML, so the config's parser finds them.
        data = verify_files(bundle.ref.path, read_manifest(bundle.ref.path), only=SPEC_FILE, check_extra=False)
        lines = parse_yaml(data[SPEC_FILE].decode("utf-8"), source).lines
    except (StoreError, ConfigError, OSError, UnicodeDecodeError):
        # The file changed or went since the bundle was loaded: the key paths alone still say where.
        lines = {}
    return LocatedDocument(data=document, lines=lines, source=source)


def _version() -> str:
    try:
        return metadata.version("neurotrade")
    except metadata.PackageNotFoundError:
        return "(unknown version)"


def _saved_by(bundle: Bundle) -> str:
    environment = bundle.documents.get("environment")
    saved = environment.get("neurotrade") if isinstance(environment, dict) else None
    return f" (by neurotrade {saved}, see environment.json)" if isinstance(saved, str) else ""
