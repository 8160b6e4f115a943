"""Rebuild a bundle's network and export it to ONNX, with the scaler statistics beside it as JSON.

The ONNX graph holds the network only, from standardised features to class logits and probabilities, and to
every extra head the model has (the predicted return, volatility, regime embedding). The scaler is not folded
in: it is fitted per bundle in float64, and a float32 graph would round it differently from the pipeline. It is
written next to the model as ``{stem}.preprocess.json`` with the feature names, so whoever serves the model
applies ``(x - mean) / scale`` in float64 and casts to float32, as training did.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neurotrade.errors import ModelError, StoreError
from neurotrade.store._bundle import Bundle
from neurotrade.store._spec import bundle_strategy

logger = logging.getLogger(__name__)

INPUT_NAME = "features"
OUTPUTS = ("logits", "probabilities")
#: The graph's output name for each extra head a model can have (its ``heads`` attribute, whose order they follow).
HEAD_OUTPUTS = {"ret": "return", "vol": "volatility", "latent": "latent"}
OPSET = 18
# The loggers of the exporter's own packages (children such as onnxscript.optimizer inherit their level).
_EXPORTER_LOGGERS = ("torch.onnx", "onnxscript", "onnx_ir", "onnx")
_INSTALL = "Install the exporter with `pip install onnx onnxscript` (and onnxruntime to check the export)."


def rebuild_model(bundle: Bundle) -> nn.Module:
    """The bundle's network with its saved weights, in eval mode.

    The architecture comes from the bundle's ``spec`` document (validated as a
    :class:`neurotrade.config.Strategy`), the input width from ``features.resolved_features``; the weights are
    loaded strictly, so a missing, extra or reshaped tensor is an error rather than a silently fresh layer.

    Parameters
    ----------
    bundle
        A bundle from :func:`neurotrade.store.load_bundle` (already verified against its manifest).

    Returns
    -------
    torch.nn.Module
        Maps ``(B, F)`` rows, or ``(B, lookback, F)`` windows when its ``input_kind`` is ``"windows"``, to
        class logits ``(B, C)``; built by :func:`neurotrade.models.build_network`, so a return head is there too.

    Raises
    ------
    StoreError
        A bundle without the ``spec`` or ``features`` document, a spec this neurotrade cannot read, or weights
        that do not fit the network the spec describes.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.pipeline import load_bundle, run
    >>> home = tempfile.mkdtemp()
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nmodel: {hidden: [8]}\\ntraining: {epochs: 1}\\n")
    >>> _ = run(spec, home=home)
    >>> model = rebuild_model(load_bundle("doc", home=home))
    >>> model(torch.zeros(2, 1)).shape
    torch.Size([2, 3])
    """
    from neurotrade.models import build_network

    where = bundle.ref.name
    features = _document(bundle, "features")
    spec = bundle_strategy(bundle)
    names = features.get("resolved_features")
    if not isinstance(names, list) or not names:
        raise StoreError(f"bundle {where}: features.json lists no resolved_features; retrain to save a full bundle.")
    try:
        model = build_network(spec, n_inputs=len(names))
        model.load_state_dict(bundle.weights, strict=True)
    except (ModelError, RuntimeError) as e:
        raise StoreError(
            f"bundle {where}: the weights do not fit the {spec.model.type!r} model its spec.json describes "
            f"({' '.join(str(e).split())}). The bundle is inconsistent: retrain it."
        ) from e
    for key, default in (("input_kind", "rows"), ("lookback", 1)):
        saved, built = features.get(key, default), getattr(model, key, default)
        if saved != built:
            raise StoreError(
                f"bundle {where}: features.json says {key}={saved!r} but the model its spec builds has {built!r}; "
                "the bundle is inconsistent: retrain it."
            )
    return model.eval()


def export_onnx(bundle: Bundle, path: str | os.PathLike[str], *, opset: int = OPSET) -> Path:
    """Export the bundle's network to an ONNX file and its scaler statistics to ``{stem}.preprocess.json``.

    The graph has one input, ``features``: float32 ``(batch, F)`` rows, or ``(batch, lookback, F)`` windows for a
    window model, already standardised; the batch size is free. Its outputs are ``logits`` and
    ``probabilities`` (their softmax), both ``(batch, classes)`` in the class order of ``labels.classes``, then
    one per extra head of the model (:data:`HEAD_OUTPUTS`): ``return`` ``(batch,)`` (the predicted log return over
    the label's horizon), ``volatility`` ``(batch,)`` (the predicted per-bar volatility over it) and ``latent``
    ``(batch, Z)`` (the regime embedding). The scaler is not in the graph (see the module's docstring): the JSON
    beside it holds ``features``, ``mean``, ``scale``, ``input_kind``, ``lookback``, ``classes``, ``outputs`` (the
    graph's output names, in order) and the bundle's name. Both files are written to temporary names and renamed
    into place.

    Parameters
    ----------
    bundle
        A bundle from :func:`neurotrade.store.load_bundle`.
    path
        The ONNX file to write; its name must end in ``.onnx``.
    opset
        The ONNX operator set to target.

    Returns
    -------
    pathlib.Path
        ``path``; the statistics are at :func:`preprocess_path` of it.

    Raises
    ------
    StoreError
        A bundle that cannot be rebuilt (see :func:`rebuild_model`), a path not ending in ``.onnx``, a missing
        exporter, or a failed write.
    ModelError
        A model that torch cannot export to ONNX.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.pipeline import load_bundle, run
    >>> home = Path(tempfile.mkdtemp())
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nmodel: {hidden: [8]}\\ntraining: {epochs: 1}\\n")
    >>> _ = run(spec, home=home)
    >>> out = export_onnx(load_bundle("doc", home=home), home / "doc.onnx")
    >>> out.name, preprocess_path(out).name
    ('doc.onnx', 'doc.preprocess.json')
    """
    path = Path(path)
    if path.suffix != ".onnx":
        raise StoreError(f"the ONNX export must be written to a file ending in .onnx, got {str(path)!r}.")
    model = rebuild_model(bundle)
    sidecar = _preprocess_document(bundle, model, opset)
    example = torch.zeros(_input_shape(model, n_features=len(sidecar["features"]), batch=2))
    try:
        import onnx  # noqa: F401  the exporter needs it; a clear message beats torch's
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise StoreError(f"cannot export {bundle.ref.name} to ONNX: {e.name} is not installed. {_INSTALL}") from e

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    try:
        tmp_model = tmp_dir / path.name
        _export(_WithProbabilities(model), example, tmp_model, opset, bundle.ref.name, sidecar["outputs"])
        tmp_json = tmp_dir / preprocess_path(path).name
        tmp_json.write_text(json.dumps(sidecar, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        tmp_model.replace(path)
        tmp_json.replace(preprocess_path(path))
    except OSError as e:
        raise StoreError(f"cannot write the ONNX export of {bundle.ref.name} to {path}: {e}.") from e
    finally:
        for leftover in tmp_dir.iterdir():
            leftover.unlink()
        tmp_dir.rmdir()
    logger.info("exported %s to %s (scaler statistics in %s)", bundle.ref.name, path, preprocess_path(path).name)
    return path


def preprocess_path(onnx_path: str | os.PathLike[str]) -> Path:
    """Where :func:`export_onnx` writes the scaler statistics for ``onnx_path``.

    Examples
    --------
    >>> preprocess_path("exports/trend_1d_v2.onnx").as_posix()
    'exports/trend_1d_v2.preprocess.json'
    """
    path = Path(onnx_path)
    return path.with_name(f"{path.stem}.preprocess.json")


def check_onnx(
    bundle: Bundle, path: str | os.PathLike[str], *, samples: int = 64, seed: int = 0, rtol: float = 1e-5
) -> float:
    """Run the exported file in onnxruntime and compare its probabilities, and every extra head, with the torch
    model's.

    Both see the same random standard-normal inputs (the scale of standardised features); the torch side is
    the bundle's model rebuilt afresh, its probabilities the float64 softmax of its logits, its heads those of
    its ``outputs``.

    Parameters
    ----------
    bundle
        The bundle the file was exported from.
    path
        The ``.onnx`` file.
    samples, seed
        How many random inputs, drawn from ``numpy.random.default_rng(seed)``.
    rtol
        The relative tolerance on every probability (with an absolute floor of ``rtol * 1e-2``) and head output
        (with an absolute floor of ``rtol`` times the output's largest magnitude: float32 rounding scales with it,
        and a latent coordinate or a return near 0 has no relative precision of its own).

    Returns
    -------
    float
        The largest absolute difference between the two sets of probabilities.

    Raises
    ------
    StoreError
        onnxruntime is not installed, or the file cannot be loaded.
    ModelError
        The probabilities or a head differ beyond ``rtol``, or the file lacks a head's output.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.pipeline import load_bundle, run
    >>> home = Path(tempfile.mkdtemp())
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nmodel: {hidden: [8]}\\ntraining: {epochs: 1}\\n")
    >>> _ = run(spec, home=home)
    >>> bundle = load_bundle("doc", home=home)
    >>> check_onnx(bundle, export_onnx(bundle, home / "doc.onnx")) < 1e-6
    True
    """
    try:
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_state
    except ImportError as e:
        raise StoreError(f"cannot check the ONNX export: onnxruntime is not installed. {_INSTALL}") from e
    # onnxruntime's errors derive from Exception directly; these are the ones a bad or missing file raises.
    ort_errors = (ort_state.Fail, ort_state.InvalidGraph, ort_state.InvalidProtobuf, ort_state.NoSuchFile)
    model = rebuild_model(bundle)
    n_features = len(bundle.documents["features"]["resolved_features"])
    x = np.random.default_rng(seed).standard_normal(_input_shape(model, n_features, samples)).astype(np.float32)
    heads = tuple(getattr(model, "heads", ()))
    names = ["probabilities", *(HEAD_OUTPUTS[head] for head in heads)]
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        missing = [name for name in names if name not in {o.name for o in session.get_outputs()}]
        if missing:
            raise ModelError(
                f"the ONNX export {path} of {bundle.ref.name} has no output(s) {missing} for the model's heads; "
                "export the bundle again."
            )
        got = [value.astype(np.float64) for value in session.run(names, {INPUT_NAME: x})]
    except ort_errors as e:
        raise StoreError(f"onnxruntime cannot run {path}: {e}. Export the bundle again.") from e
    with torch.no_grad():
        inputs = torch.from_numpy(x)
        out = model.outputs(inputs) if heads else {"logits": model(inputs)}
        expected = [torch.softmax(out["logits"].double(), dim=-1).numpy()]  # (B, C)
        expected += [out[head].double().numpy() for head in heads]  # (B,) or (B, Z)
    worst = float(np.abs(got[0] - expected[0]).max())
    for name, got_one, expected_one in zip(names, got, expected, strict=True):
        floor = rtol * 1e-2 if name == "probabilities" else rtol * float(np.abs(expected_one).max())
        if not np.allclose(got_one, expected_one, rtol=rtol, atol=floor):
            gap = float(np.abs(got_one - expected_one).max())
            raise ModelError(
                f"the ONNX export {path} of {bundle.ref.name} gives {name} up to {gap:.3g} away from the torch "
                f"model's (rtol {rtol:g}); do not serve it. Report this with the bundle's model type."
            )
    return worst


class _WithProbabilities(nn.Module):
    """The exported graph: the bundle's network, the softmax of its logits as a second output, then its heads."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.heads = tuple(getattr(model, "heads", ()))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self.heads:
            logits = self.model(x)  # (B, C)
            return logits, torch.softmax(logits, dim=-1)
        out = self.model.outputs(x)  # the logits and every head from one pass
        return out["logits"], torch.softmax(out["logits"], dim=-1), *(out[head] for head in self.heads)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Raise the exporter's loggers to ERROR for the export, unless neurotrade's own logging is at DEBUG.

    onnxscript and onnx_ir log every optimisation pass at INFO ("Removed 1 unused nodes") and torch.onnx says
    "torchvision is not installed": none of it concerns a user, who would see it as soon as their logging shows
    INFO (the CLI does). With ``--verbose`` (DEBUG) they are left as they are.
    """
    if logger.isEnabledFor(logging.DEBUG):
        yield
        return
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


def _export(module: nn.Module, example: torch.Tensor, path: Path, opset: int, where: str, outputs: list[str]) -> None:
    batch = torch.export.Dim("batch", min=1)
    # The exporter reports its progress on stdout and warns about torch's own deprecations; a library says
    # nothing on stdout, so both are kept out of the caller's console and sent to the debug log.
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), warnings.catch_warnings(), _quiet_exporter():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                module,
                (example,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=outputs,
                opset_version=opset,
                dynamo=True,
                external_data=False,
                dynamic_shapes=({0: batch},),
                verbose=False,
            )
    except torch.onnx.OnnxExporterError as e:
        first = str(e).strip().splitlines()[0].rstrip(".") if str(e).strip() else type(e).__name__
        raise ModelError(
            f"torch cannot export the model of {where} to ONNX: {first}. Serve it with torch "
            "(neurotrade.store.rebuild_model) instead."
        ) from e
    finally:
        if captured.getvalue():
            logger.debug("torch.onnx: %s", captured.getvalue().strip())


def _document(bundle: Bundle, name: str) -> Any:
    value = bundle.documents.get(name)
    if not isinstance(value, dict):
        raise StoreError(
            f"bundle {bundle.ref.name} has no {name}.json document; only bundles saved by neurotrade.pipeline.run "
            "can be rebuilt. Retrain the strategy to save one."
        )
    return value


def _classes(bundle: Bundle) -> list[str]:
    labels = bundle.documents.get("labels")
    if isinstance(labels, dict) and isinstance(labels.get("classes"), list):
        return [str(c) for c in labels["classes"]]
    from neurotrade.labels import CLASS_NAMES

    return list(CLASS_NAMES)


def _input_shape(model: nn.Module, n_features: int, batch: int) -> tuple[int, ...]:
    if getattr(model, "input_kind", "rows") == "windows":
        return (batch, int(model.lookback), n_features)
    return (batch, n_features)


def _preprocess_document(bundle: Bundle, model: nn.Module, opset: int) -> dict[str, Any]:
    features = bundle.documents["features"]["resolved_features"]
    scaler = bundle.documents.get("scaler")
    if not isinstance(scaler, dict) or not {"mean", "scale"} <= scaler.keys():
        raise StoreError(
            f"bundle {bundle.ref.name} has no scaler.json with mean and scale; without them the exported model "
            "cannot be fed. Retrain the strategy to save a full bundle."
        )
    if len(scaler["mean"]) != len(features) or len(scaler["scale"]) != len(features):
        raise StoreError(
            f"bundle {bundle.ref.name}: scaler.json holds {len(scaler['mean'])} means and {len(scaler['scale'])} "
            f"scales for {len(features)} resolved features; the bundle is inconsistent: retrain it."
        )
    sidecar = {
        "bundle": bundle.ref.name,
        "weights_sha256": bundle.manifest.get("files", {}).get("weights.safetensors", {}).get("sha256"),
        "opset": opset,
        "input": INPUT_NAME,
        "outputs": [*OUTPUTS, *(HEAD_OUTPUTS[head] for head in getattr(model, "heads", ()))],
        "input_kind": getattr(model, "input_kind", "rows"),
        "lookback": int(getattr(model, "lookback", 1)),
        "classes": _classes(bundle),
        "features": list(features),
        "mean": list(scaler["mean"]),
        "scale": list(scaler["scale"]),
        "transform": "x = ((raw - mean) / scale) in float64, then cast to float32; windows are the lookback rows "
        "ending at the decision bar, oldest first",
    }
    scalers = bundle.documents.get("scalers")
    if isinstance(scalers, dict):  # a universe scaled per symbol: each symbol's rows by its own statistics
        sidecar["per_symbol"] = {s: {"mean": list(v["mean"]), "scale": list(v["scale"])} for s, v in scalers.items()}
        sidecar["transform"] += "; mean and scale are per_symbol[symbol]'s (the top-level ones: the first symbol's)"
    symbols = bundle.documents.get("features", {}).get("symbols")
    if symbols:
        sidecar["symbols"] = list(symbols)
        cross = [f for f in features if f.endswith(("_xrank", "_xz"))]
        if cross:
            sidecar["cross_section"] = (
                f"{', '.join(cross)}: at each bar, over the symbols that have it, the percentile rank (0 lowest, 1 "
                "highest, ties averaged) or z-score (population std; 0 when constant) of the feature named before "
                "the suffix (neurotrade.features.rank_pct / zscore)"
            )
    if "latent" in getattr(model, "heads", ()):
        # The regime-change score needs the recent latents, so it is not in the graph; this is how to compute it.
        window = bundle.documents.get("spec", {}).get("model", {}).get("change_window", 50)
        sidecar["regime_change"] = {
            "window": window,
            "definition": "m = mean of the previous `window` latents; d = ||latent - m||; score = d / sqrt(mean of "
            "the previous `window` d**2) (neurotrade.models.RegimeChangeScore)",
        }
    return sidecar
