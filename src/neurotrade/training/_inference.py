"""Inference in float64 on the CPU: probabilities that do not depend on how many rows go through the model at once.

Why float64: a float32 matrix product rounds differently by batch shape. A one-row product takes a matrix-vector
kernel, a batch a blocked matrix-matrix one, and which kernels run depends on the CPU (AVX2, AVX-512) and the BLAS
build. The results differ by ~1e-8, so the engine (one bar at a time) and the batch run (a whole window at once)
would agree only on the machine where someone tuned them to. In float64 the same reorderings still happen, but
every IEEE-754 double operation rounds to within 2**-53 (~1.1e-16) on any x86-64, whether it runs as SSE2, AVX or
AVX-512 and with or without fused multiply-adds. A dot product of length ``n`` summed in another order moves by at
most about ``n * 1.1e-16 * sum(|a_i * b_i|)``; for the widths and standardised inputs here that is below 1e-12 per
logit, and the softmax only shrinks it (its derivatives are at most 1/2). Vectorised float64 ``exp``/``tanh`` are
within a few ulp of the scalar ones. Measured: 2e-16 between one row and a batch, for every model in the zoo.
:data:`REPLAY_ATOL` (1e-9) leaves three orders of magnitude of margin and is still ten times tighter than
float32's batch-shape differences, so a test at that tolerance tells the two apart.

Why the CPU: the decision engine runs there (a live process has no GPU to count on), MPS has no float64, and most
GPUs run float64 at a small fraction of their float32 speed. The models here are small, so inference costs little
next to training. Exact decisions follow: a signal flips only if a probability lies within ~1e-12 of a threshold or
of another class's, which the replay tests show does not happen on real windows.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from neurotrade.errors import ModelError
from neurotrade.training._batches import input_shape, make_inputs

#: How far apart two float64 inferences of one model on the same inputs may be (absolute, on probabilities),
#: whatever the batch shape, chunking or x86-64 CPU: the tolerance of every replay-versus-batch comparison.
REPLAY_ATOL = 1e-9

_CPU = torch.device("cpu")


def inference_copy(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model`` on the CPU, in eval mode, for inference that does not depend on batch shape.

    The model itself is left as it was (dtype, device, training mode, gradients). Floating-point parameters and
    buffers become float64; integer buffers (a neuro-fuzzy model's rule indices) stay as they are. Make the copy
    once and keep it (the decision engine does): copying costs about as much as a few hundred one-row forwards.

    Parameters
    ----------
    model
        Any model of the zoo, trained or not, on any device.

    Returns
    -------
    nn.Module
        The copy, with gradients off.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> net = MLP(3, 2, [4])
    >>> copy64 = inference_copy(net)
    >>> next(copy64.parameters()).dtype, next(net.parameters()).dtype, copy64.training
    (torch.float64, torch.float32, False)
    """
    twin = copy.deepcopy(model).to(device=_CPU, dtype=torch.float64)
    twin.eval()
    twin.requires_grad_(False)
    return twin


def predict_proba(model: nn.Module, x: np.ndarray | torch.Tensor, positions: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities (float64, rows summing to 1) of any model, rows or windows, in float64 on the CPU.

    The model runs as its float64 copy (:func:`inference_copy`) on float64 inputs, in chunks of about 65,536
    feature rows, so the result equals the decision engine's one-row-at-a-time probabilities to within
    :data:`REPLAY_ATOL` whatever the chunking or CPU. ``model`` itself is not touched.

    Parameters
    ----------
    model
        A trained model, on any device.
    x
        The samples' inputs, or with ``positions`` the whole ``(rows, features)`` matrix.
    positions
        The row of each sample in ``x``; a window model reads the ``lookback`` rows ending there.

    Returns
    -------
    ``(samples, classes)`` array.

    Raises
    ------
    ModelError
        There are no samples, or the inputs do not have the shape the model reads.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> predict_proba(MLP(2, 3, [4]), np.zeros((5, 2)), np.array([1, 4])).shape
    (2, 3)
    """
    net = inference_copy(model)
    kind, lookback = input_shape(net)
    inputs = make_inputs(x, positions, kind=kind, lookback=lookback, device=_CPU, name="x", dtype=torch.float64)
    if len(inputs) == 0:
        raise ModelError("predict_proba got no samples; pass at least one row (or position)")
    with torch.no_grad():
        parts = [torch.softmax(net(batch), dim=-1) for _, batch in inputs.chunks()]  # (B, C) each
    return torch.cat(parts).numpy()


def predict_outputs(
    model: nn.Module, x: np.ndarray | torch.Tensor, positions: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every output of a model, in float64 on the CPU: the class probabilities and each of its extra heads.

    Runs exactly as :func:`predict_proba` (the float64 copy, the same chunks), so ``"proba"`` holds the same
    numbers it would return, and every output of one sample is the same, to within :data:`REPLAY_ATOL`, however
    many samples go through at once. The extra heads are those the model names in its ``heads`` attribute
    (none for a plain classifier), taken from its ``outputs(x)``:

    - ``"ret"`` ``(S,)``: the predicted log return over the label's horizon, in return units;
    - ``"vol"`` ``(S,)``: the predicted realised volatility per bar over that horizon;
    - ``"latent"`` ``(S, Z)``: the regime embedding (the posterior mean).

    Parameters
    ----------
    model
        A trained model, on any device.
    x, positions
        As in :func:`predict_proba`.

    Returns
    -------
    dict
        ``"proba"`` ``(S, C)``, then one float64 array per head.

    Raises
    ------
    ModelError
        As :func:`predict_proba`, or a model whose ``outputs`` lacks a head its ``heads`` names.

    Examples
    --------
    >>> from neurotrade.models import MLP, ReturnHeadModel
    >>> out = predict_outputs(ReturnHeadModel(MLP(2, 4, [4]), "both"), np.zeros((5, 2)))
    >>> {name: value.shape for name, value in out.items()}
    {'proba': (5, 3), 'ret': (5,)}
    """
    net = inference_copy(model)
    heads = tuple(getattr(net, "heads", ()))
    kind, lookback = input_shape(net)
    inputs = make_inputs(x, positions, kind=kind, lookback=lookback, device=_CPU, name="x", dtype=torch.float64)
    if len(inputs) == 0:
        raise ModelError("predict_outputs got no samples; pass at least one row (or position)")
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in ("proba", *heads)}
    with torch.no_grad():
        for _, batch in inputs.chunks():
            out = net.outputs(batch) if heads else {"logits": net(batch)}
            missing = [name for name in heads if name not in out]
            if missing:
                raise ModelError(f"{type(model).__name__}.outputs() lacks the head(s) {missing} its heads name")
            parts["proba"].append(torch.softmax(out["logits"], dim=-1))  # (B, C)
            for name in heads:
                parts[name].append(out[name])  # (B,) or (B, Z)
    return {name: torch.cat(chunks).numpy() for name, chunks in parts.items()}
