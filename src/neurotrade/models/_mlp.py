"""The multilayer perceptron: feature rows in, one raw logit per class out."""

from __future__ import annotations

import torch
from torch import nn

from neurotrade.models._registry import register_model

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


class MLP(nn.Module):
    """Linear -> activation -> dropout for each hidden layer, then a linear layer to the class logits.

    The output is raw logits: the loss applies log-softmax itself, and probabilities are taken only at inference
    (:meth:`predict_proba`).

    Examples
    --------
    >>> net = MLP(n_inputs=4, n_classes=3, hidden=[8], activation="tanh", dropout=0.0)
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    input_kind = "rows"
    lookback = 1

    def __init__(
        self, n_inputs: int, n_classes: int, hidden: list[int], activation: str = "relu", dropout: float = 0.0
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, F) -> (B, C)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, in eval mode (no dropout)."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(x).double(), dim=-1)  # (B, C), float64 so rows sum to 1
        finally:
            self.train(was_training)


register_model(
    "mlp",
    lambda spec, n_inputs, n_classes: MLP(n_inputs, n_classes, list(spec.hidden), spec.activation, spec.dropout),
)
