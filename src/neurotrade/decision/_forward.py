"""The decision engine's model call on one row (or window): the module's own float64 torch ops, minus their overhead.

Calling an ``nn.Module`` costs far more than its arithmetic on one row: each of an MLP's nine layers goes through
``Module.__call__`` (hooks, forward dispatch), and the input is wrapped in a new tensor per bar. For a plain
:class:`~neurotrade.models.MLP` the engine instead runs, on a preallocated ``(1, F)`` input, the very ATen ops the
layers run: ``nn.Linear`` computes ``addmm(bias, x, weight.t())`` for a 2-D input (written here into a preallocated
output, the same kernel), ``nn.ReLU`` ``relu`` (here in place: max(x, 0) whatever the buffer), and an eval-mode
``nn.Dropout`` returns its input. So the probabilities are bit for bit those of ``inference_model(x)``, which the
engine's tests check over a whole replay; hooks registered on the copy's modules are not called on that path. Every
other model (windows, extra heads, other architectures) is called as a module, under ``torch.inference_mode``.

No autograd context is needed on the MLP path: the copy's parameters and the input require no gradient, so nothing
is recorded (entering ``inference_mode`` would cost about as much as one of the ops).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from neurotrade.models import MLP

_Op = Callable[[torch.Tensor], torch.Tensor]


class OneRowForward:
    """Run a float64 inference copy on one preallocated input: ``(1, F)`` rows or ``(1, L, F)`` windows.

    Parameters
    ----------
    net
        The float64 CPU inference copy (:func:`neurotrade.training.inference_copy`), in eval mode.
    n_features
        Features per row.
    lookback
        Rows per window (1 for a rows model).
    windows
        Whether the model reads windows ``(B, L, F)`` rather than rows ``(B, F)``.
    heads
        The model's extra heads (``ret``, ``vol``, ``latent``), read from its ``outputs``.

    Attributes
    ----------
    inputs
        The float64 array the next call reads, shaped as the model's input with a batch of one; it shares memory
        with the tensor the model is given, so filling it in place is all a bar costs.
    fast
        Whether the model runs as its own ops (a plain MLP), rather than as a module call.

    Examples
    --------
    >>> from neurotrade.training import inference_copy
    >>> net = inference_copy(MLP(4, 3, [8]))
    >>> forward = OneRowForward(net, n_features=4, lookback=1, windows=False, heads=())
    >>> forward.inputs[0] = [0.1, -0.2, 0.3, 0.0]
    >>> proba, heads = forward()
    >>> forward.fast, proba.shape, heads
    (True, (3,), {})
    >>> with torch.no_grad():
    ...     expected = torch.softmax(net(torch.tensor([[0.1, -0.2, 0.3, 0.0]], dtype=torch.float64)), -1)[0]
    >>> bool((torch.from_numpy(proba) == expected).all())
    True
    """

    def __init__(self, net: nn.Module, n_features: int, lookback: int, windows: bool, heads: tuple[str, ...]) -> None:
        self.net = net
        self.heads = tuple(heads)
        shape = (1, lookback, n_features) if windows else (1, n_features)
        self._input = torch.zeros(shape, dtype=torch.float64)
        self.inputs: np.ndarray = self._input.numpy()
        self._ops = None if windows or self.heads else _mlp_ops(net)
        self.fast = self._ops is not None

    def __call__(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The class probabilities ``(C,)`` and each head's value at the current input (fresh arrays)."""
        if self._ops is not None:
            h = self._input
            for op in self._ops:
                h = op(h)
            return torch.softmax(h, dim=-1).numpy()[0], {}  # softmax allocates: the array is the caller's to keep
        with torch.inference_mode():
            out = self.net.outputs(self._input) if self.heads else {"logits": self.net(self._input)}
            proba = torch.softmax(out["logits"], dim=-1).numpy()[0]
            return proba, {name: out[name][0].numpy() for name in self.heads}


def _mlp_ops(net: nn.Module) -> list[_Op] | None:
    """A plain MLP's layers as the ops their forwards run, writing into preallocated buffers; None: not one."""
    if type(net) is not MLP or net.training:
        return None
    ops: list[_Op] = []
    for layer in net.net:
        if type(layer) is nn.Linear:
            if layer.bias is None:
                return None
            weight_t = layer.weight.t()  # (in, out): F.linear's own addmm operand, a view
            out = torch.empty((1, layer.out_features), dtype=layer.weight.dtype)
            ops.append(_linear(layer.bias, weight_t, out))
        elif type(layer) is nn.Dropout:
            continue  # identity in eval mode
        elif type(layer) is nn.ReLU:
            ops.append(torch.relu_)
        elif type(layer) in (nn.Tanh, nn.Sigmoid, nn.LeakyReLU):
            ops.append(layer.forward)  # the module's own op, without Module.__call__
        else:
            return None
    return ops


def _linear(bias: torch.Tensor, weight_t: torch.Tensor, out: torch.Tensor) -> _Op:
    def linear(x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bias, x, weight_t, out=out)  # (1, in) @ (in, out) + (out,) -> (1, out)

    return linear
