"""Return heads: a network that predicts the forward return beside (``both``) or instead of (``regression``) the
class logits, and :func:`build_network`, the one place that turns a whole strategy into its network.

``labels.target`` (forward-return labels only) picks the head:

- ``classification``: the model the ``model:`` section builds, unchanged (class logits ``(B, 3)``).
- ``both``: the same body with one more output, the standardised log return over the label's horizon. The class
  logits are its first three outputs; training minimises cross-entropy plus ``return_weight`` times a Huber loss on
  the return. The return head is an auxiliary task: it shapes the body, and its prediction is reported beside the
  signal.
- ``regression``: the body's single output is the standardised return. Its class probabilities are those of a
  normal ``N(r, std**2)`` around the predicted return ``r`` falling below the lower tercile threshold (SELL),
  between the two (HOLD) or above the upper one (BUY). ``std`` is the training returns' standard deviation: an
  honest, unconditional spread (the model predicts a mean, not its own uncertainty), so the probabilities move
  only with the predicted mean. ``forward`` returns their logarithm, so ``softmax(forward(x))`` gives them back
  and every consumer of class logits (rules, metrics, engine, ONNX) works unchanged.

The return is standardised with the training rows' mean and standard deviation (:meth:`ReturnHeadModel.
fit_target_scale`), so the Huber loss has the scale of the cross-entropy whatever the bar size; the scale and the
tercile thresholds are buffers, saved with the weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neurotrade.errors import ModelError
from neurotrade.models._registry import build_model

TARGETS = ("classification", "regression", "both")
# Model types whose return prediction is not a head on one body: the regime model has its own return (and
# volatility) head, and an ensemble combines its members' class logits.
_NO_RETURN_HEAD = {
    "regime": "the regime model has its own return head (and a volatility head); use labels.target: "
    "classification and read its 'ret' output (neurotrade.training.predict_outputs)",
    "ensemble": "an ensemble combines its members' class logits and has no return head; use labels.target: "
    "classification, or a single model type",
}
# Probabilities are floored before their log is taken, so a class far in a tail keeps a finite logit.
_MIN_PROBA = 1e-12
_SQRT2 = math.sqrt(2.0)


def _normal_cdf(z: torch.Tensor) -> torch.Tensor:
    """The standard normal CDF through ``erf``, which ONNX has as an operator (``ndtr`` is not one)."""
    return 0.5 * (1.0 + torch.erf(z / _SQRT2))


class ReturnHeadModel(nn.Module):
    """A body network with a return head: class logits and the forward return (see the module docstring).

    Parameters
    ----------
    body
        A model built by :func:`neurotrade.models.build_model` with ``n_classes`` = ``n_classes + 1`` (``both``) or
        1 (``regression``). Its ``input_kind`` and ``lookback`` are this model's.
    target
        ``"both"`` or ``"regression"``.
    n_classes
        Classes of the signal (3: SELL, HOLD, BUY; ``regression`` supports only 3).
    huber_delta, return_weight
        The Huber loss's threshold (on the standardised return), and its weight beside the cross-entropy
        (``both`` only).

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> net = ReturnHeadModel(MLP(4, 4, [8]), "both")
    >>> net.fit_target_scale({"ret": np.array([-0.02, 0.0, 0.01, 0.03])})
    >>> x = torch.randn(5, 4)  # (B, F)
    >>> out = net.outputs(x)
    >>> net(x).shape, out["logits"].shape, out["ret"].shape, net.heads
    (torch.Size([5, 3]), torch.Size([5, 3]), torch.Size([5]), ('ret',))
    >>> total, parts = net.loss(x, torch.tensor([0, 1, 2, 1, 0]), {"ret": torch.zeros(5)})
    >>> sorted(parts)
    ['ret', 'signal']
    """

    heads = ("ret",)

    def __init__(
        self,
        body: nn.Module,
        target: str,
        n_classes: int = 3,
        huber_delta: float = 1.0,
        return_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if target not in ("both", "regression"):
            raise ModelError(f"a return head is for labels.target both or regression, got {target!r}")
        if target == "regression" and n_classes != 3:
            raise ModelError(f"a regression head gives 3 classes (SELL, HOLD, BUY), not {n_classes}")
        self.body, self.target, self.n_classes = body, target, n_classes
        self.input_kind = getattr(body, "input_kind", "rows")
        self.lookback = int(getattr(body, "lookback", 1))
        self.huber_delta, self.return_weight = float(huber_delta), float(return_weight)
        # ret mean and std over the training rows; identity until fit_target_scale is called
        self.register_buffer("target_scale", torch.tensor([0.0, 1.0]))
        # lower and upper tercile thresholds in return units; NaN until set_class_edges is called (regression
        # refuses to give probabilities without them rather than invent thresholds)
        self.register_buffer("class_edges", torch.tensor([math.nan, math.nan]))

    def _ret_z(self, out: torch.Tensor) -> torch.Tensor:
        """The standardised return ``(B,)`` from the body's output ``(B, C + 1)`` or ``(B, 1)``."""
        return out[:, -1]

    def _regression_logits(self, ret_z: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(B, 3)`` of the normal around the predicted return falling in each class."""
        # Checked outside of export only: a data-dependent branch cannot be traced into a graph.
        if not torch.compiler.is_exporting() and bool(torch.isnan(self.class_edges).any()):
            raise ModelError(
                "the regression head has no class thresholds yet; call set_class_edges(lower, upper) with the "
                "fold's fitted tercile thresholds (QuantileClasses.thresholds_) before predicting"
            )
        mean, std = self.target_scale[0], self.target_scale[1]
        ret = ret_z * std + mean  # (B,)
        below_lower = _normal_cdf((self.class_edges[0] - ret) / std)  # (B,) P(R <= lower)
        below_upper = _normal_cdf((self.class_edges[1] - ret) / std)  # (B,) P(R <= upper)
        above_upper = _normal_cdf((ret - self.class_edges[1]) / std)  # (B,) by symmetry: no 1 - p cancellation
        proba = torch.stack([below_lower, below_upper - below_lower, above_upper], dim=1)  # (B, 3)
        return torch.log(proba.clamp(min=_MIN_PROBA))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)  # (B, C + 1) or (B, 1)
        if self.target == "both":
            return out[:, : self.n_classes]  # (B, C) logits
        return self._regression_logits(self._ret_z(out))  # (B, 3) log-probabilities

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head: ``logits (B, C)`` (what :meth:`forward` returns) and ``ret (B,)`` in return units."""
        out = self.body(x)
        ret_z = self._ret_z(out)  # (B,)
        logits = out[:, : self.n_classes] if self.target == "both" else self._regression_logits(ret_z)
        return {"logits": logits, "ret": ret_z * self.target_scale[1] + self.target_scale[0]}

    def loss(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        extras: dict[str, torch.Tensor],
        class_weights: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of a batch and its parts.

        ``both``: ``CE(logits, y, weight=class_weights) + return_weight * Huber(ret_z, (ret - mean) / std)``;
        ``regression``: the Huber term alone (``y`` and ``class_weights`` are not used). Both are taken in float32,
        even under mixed precision.

        Parameters
        ----------
        x, y
            Inputs ``(B, F)`` or ``(B, L, F)``, and class indices ``(B,)``.
        extras
            ``"ret"``: each sample's log return over its label's horizon ``(B,)``.
        class_weights
            Per-class weights of the cross-entropy, as the classifier trainer gives them.

        Returns
        -------
        total, parts
            The scalar to minimise, and its unweighted parts detached (``signal`` and ``ret``, or ``ret``).
        """
        if "ret" not in extras:
            raise ModelError(f"the return head's loss needs the extra target 'ret' (got {sorted(extras)})")
        out = self.body(x)
        mean, std = self.target_scale.float()
        target_z = (extras["ret"].float() - mean) / std  # (B,)
        parts = {"ret": F.huber_loss(self._ret_z(out).float(), target_z, delta=self.huber_delta)}
        if self.target == "regression":
            return parts["ret"], {"ret": parts["ret"].detach()}
        parts["signal"] = F.cross_entropy(out[:, : self.n_classes].float(), y, weight=class_weights)
        total = parts["signal"] + self.return_weight * parts["ret"]
        return total, {name: part.detach() for name, part in parts.items()}

    @torch.no_grad()
    def fit_target_scale(self, extras: dict[str, np.ndarray]) -> None:
        """Store the training rows' mean and standard deviation of ``extras["ret"]`` (a standard deviation of 0
        becomes 1).

        Call it with the training rows' returns before training; the pipeline does. Other extras are ignored.

        Examples
        --------
        >>> from neurotrade.models import MLP
        >>> net = ReturnHeadModel(MLP(2, 1, [4]), "regression")
        >>> net.fit_target_scale({"ret": np.array([-0.02, 0.0, 0.02]), "vol": np.ones(3)})
        >>> [round(v, 4) for v in net.target_scale.tolist()]
        [0.0, 0.0163]
        """
        if "ret" not in extras:
            raise ModelError(f"fit_target_scale needs the training rows' 'ret' (got {sorted(extras)})")
        values = np.asarray(extras["ret"], dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(values) == 0 or len(bad):
            what = "is empty" if len(values) == 0 else f"has {values[bad[0]]} at row {bad[0]}"
            raise ModelError(f"the return target {what}; the return head needs a finite return for every training row")
        std = values.std()
        scale = [values.mean(), std if std > 0 else 1.0]
        self.target_scale.copy_(torch.as_tensor(scale, dtype=self.target_scale.dtype))

    @torch.no_grad()
    def set_class_edges(self, lower: float, upper: float) -> None:
        """Store the fold's tercile thresholds (in return units), which ``regression`` cuts its normal at.

        Examples
        --------
        >>> from neurotrade.models import MLP
        >>> net = ReturnHeadModel(MLP(2, 1, [4]), "regression")
        >>> net.fit_target_scale({"ret": np.array([-0.02, 0.0, 0.02])})
        >>> net.set_class_edges(-0.01, 0.01)
        >>> torch.softmax(net(torch.zeros(1, 2)), dim=-1).sum().item() == 1.0
        True
        """
        lower, upper = float(lower), float(upper)
        if not (math.isfinite(lower) and math.isfinite(upper)) or lower > upper:
            raise ModelError(
                f"class edges must be finite with lower <= upper, got ({lower}, {upper}); pass the fitted "
                "QuantileClasses.thresholds_"
            )
        self.class_edges.copy_(torch.tensor([lower, upper], dtype=self.class_edges.dtype))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, 3)`` in float64, in eval mode, as every model of the zoo gives them."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(x).double(), dim=-1)
        finally:
            self.train(was_training)

    def init_from(self, x: np.ndarray) -> None:
        """Hand the training rows to the body's ``init_from`` (a neuro-fuzzy body places its sets); else nothing."""
        if hasattr(self.body, "init_from"):
            self.body.init_from(x)


def build_network(strategy: Any, n_inputs: int) -> nn.Module:
    """The network a whole strategy trains: its ``model:`` section, with a return head when ``labels.target`` asks.

    ``classification`` (and every label type without a ``target``) gives ``build_model(strategy.model, ...)``;
    ``both`` and ``regression`` give a :class:`ReturnHeadModel` around a body with 4 or 1 outputs.

    Parameters
    ----------
    strategy
        A :class:`neurotrade.config.Strategy`.
    n_inputs
        Feature columns per row.

    Returns
    -------
    torch.nn.Module
        Maps inputs to class logits ``(B, 3)`` for SELL, HOLD, BUY; ``getattr(net, "heads", ())`` names its
        extra outputs.

    Raises
    ------
    ModelError
        A return head asked of the regime or ensemble model type, or a model that cannot be built.

    Examples
    --------
    >>> from neurotrade.config import ForwardReturnLabels, MLPSpec, Strategy
    >>> net = build_network(Strategy(name="d", model=MLPSpec(hidden=[8]), labels=ForwardReturnLabels(target="both")), 5)
    >>> type(net).__name__, net.body.net[-1].out_features, net.heads
    ('ReturnHeadModel', 4, ('ret',))
    >>> type(build_network(Strategy(name="d", model=MLPSpec(hidden=[8])), 5)).__name__
    'MLP'
    """
    n_classes = 3
    labels = strategy.labels
    target = getattr(labels, "target", "classification")
    if target not in TARGETS:
        raise ModelError(f"labels.target must be one of {', '.join(TARGETS)}, got {target!r}")
    if target == "classification":
        return build_model(strategy.model, n_inputs=n_inputs, n_classes=n_classes)
    reason = _NO_RETURN_HEAD.get(strategy.model.type)
    if reason is not None:
        raise ModelError(f"labels.target: {target} is not available with model.type: {strategy.model.type}: {reason}")
    body = build_model(strategy.model, n_inputs=n_inputs, n_classes=n_classes + 1 if target == "both" else 1)
    return ReturnHeadModel(
        body, target, n_classes=n_classes, huber_delta=labels.huber_delta, return_weight=labels.return_weight
    )
