"""The ``model:`` sections of the networks that read feature rows or windows of them."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from neurotrade.config._base import DEFAULT_MAX_PARAMETERS, MaxParameters, Section

# Every ``model:`` section has ``max_parameters`` (the ceiling its size is checked against when the spec loads) and
# ``parameters(n_inputs, n_classes)``, the number of trainable parameters the network it declares will have. The
# counts follow the modules in ``neurotrade.models`` layer by layer (weights and biases, layer norms, batch norms'
# scale and shift, learned positions); tests compare them with the built networks.


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _encoder_block(d_model: int, feed_forward: int) -> int:
    """A pre-norm transformer block: query/key/value and output projections, two layer norms, the MLP."""
    return (
        _linear(d_model, 3 * d_model)
        + _linear(d_model, d_model)
        + 4 * d_model
        + _linear(d_model, feed_forward)
        + _linear(feed_forward, d_model)
    )


class MLPSpec(Section):
    """A multilayer perceptron on feature rows; it outputs raw logits (softmax only at inference)."""

    type: Literal["mlp"] = "mlp"
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=65_536)]], Field(min_length=1, max_length=32)] = [64, 32]
    activation: Literal["relu", "tanh", "sigmoid", "leaky_relu"] = "relu"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters of this network on ``n_inputs`` features.

        Examples
        --------
        >>> MLPSpec(hidden=[8]).parameters(4, 3)  # (4 * 8 + 8) + (8 * 3 + 3)
        67
        """
        widths = [n_inputs, *self.hidden, n_classes]
        return sum(_linear(a, b) for a, b in pairwise(widths))


class LSTMSpec(Section):
    """A long short-term memory network over a window of the ``lookback`` feature rows ending at each bar.

    The head reads the top layer's output at the window's last step. With ``bidirectional`` it also reads the
    backward direction's output at the window's FIRST step, the one point where that direction has seen the whole
    window. Reading a window both ways is still causal: the window ends at the sample's own bar, so nothing after
    it is inside. ``dropout`` acts between stacked layers and before the head.

    Examples
    --------
    >>> LSTMSpec().lookback, LSTMSpec(hidden=16).hidden
    (30, 16)
    """

    type: Literal["lstm"] = "lstm"
    lookback: Annotated[int, Field(ge=2, le=4096)] = 30
    hidden: Annotated[int, Field(ge=1, le=4096)] = 64
    layers: Annotated[int, Field(ge=1, le=16)] = 2
    bidirectional: bool = False
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters of this network on ``n_inputs`` features.

        Examples
        --------
        >>> LSTMSpec(hidden=8, layers=1).parameters(4, 3)  # 4 gates x (4 * 8 + 8 * 8 + 2 * 8), then the head
        475
        """
        return _recurrent_parameters(4, self.hidden, self.layers, self.bidirectional, n_inputs, n_classes)


class GRUSpec(Section):
    """A gated recurrent unit network over a window of the ``lookback`` feature rows ending at each bar.

    The same head and window rules as :class:`LSTMSpec`: the last step's output, and with ``bidirectional`` the
    backward direction's output at the first step; ``dropout`` between stacked layers and before the head.

    Examples
    --------
    >>> GRUSpec(layers=1).layers
    1
    """

    type: Literal["gru"] = "gru"
    lookback: Annotated[int, Field(ge=2, le=4096)] = 30
    hidden: Annotated[int, Field(ge=1, le=4096)] = 64
    layers: Annotated[int, Field(ge=1, le=16)] = 2
    bidirectional: bool = False
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters of this network on ``n_inputs`` features.

        Examples
        --------
        >>> GRUSpec(hidden=8, layers=1).parameters(4, 3)  # 3 gates x (4 * 8 + 8 * 8 + 2 * 8), then the head
        363
        """
        return _recurrent_parameters(3, self.hidden, self.layers, self.bidirectional, n_inputs, n_classes)


def _recurrent_parameters(
    gates: int, hidden: int, layers: int, bidirectional: bool, n_inputs: int, n_classes: int
) -> int:
    """torch's LSTM (4 gates) or GRU (3): per layer and direction, input and recurrent weights and two biases."""
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(layers):
        width = n_inputs if layer == 0 else hidden * directions
        total += directions * gates * (width * hidden + hidden * hidden + 2 * hidden)
    return total + _linear(hidden * directions, n_classes)


class CNNSpec(Section):
    """A 1-D convolutional network over a window of the ``lookback`` feature rows ending at each bar.

    One branch per kernel size runs in parallel over time: ``layers`` times convolution (``filters`` channels)
    -> batch norm -> ReLU, then ``pooling`` over the window; the branches are concatenated, dropped out and read
    by a linear head. The padding is symmetric (``kernel // 2`` zeros each side, so odd kernels keep the
    window's length): a position inside the window sees a few rows after it, but the window ends at the
    sample's own bar, so no row after that bar is ever seen.

    Examples
    --------
    >>> CNNSpec().kernel_sizes, CNNSpec().filters
    ([3, 5, 7], 32)
    """

    type: Literal["cnn"] = "cnn"
    lookback: Annotated[int, Field(ge=2, le=4096)] = 30
    kernel_sizes: Annotated[list[Annotated[int, Field(ge=1, le=255)]], Field(min_length=1, max_length=16)] = [3, 5, 7]
    filters: Annotated[int, Field(ge=1, le=4096)] = 32
    layers: Annotated[int, Field(ge=1, le=8)] = 1
    pooling: Literal["max", "avg"] = "max"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters of this network on ``n_inputs`` features.

        Examples
        --------
        >>> CNNSpec(kernel_sizes=[3], filters=8).parameters(4, 3)  # conv 4 * 8 * 3 (no bias), norm 2 * 8, head
        139
        """
        total = 0
        for kernel in self.kernel_sizes:
            channels = n_inputs
            for _ in range(self.layers):
                total += channels * self.filters * kernel + 2 * self.filters  # no conv bias: the batch norm has one
                channels = self.filters
        return total + _linear(self.filters * len(self.kernel_sizes), n_classes)

    @field_validator("kernel_sizes")
    @classmethod
    def _odd_kernels(cls, sizes: list[int]) -> list[int]:
        even = [k for k in sizes if k % 2 == 0]
        if even:
            raise ValueError(
                f"kernel sizes must be odd, so that symmetric padding keeps the window's length; got {even[0]}"
                f" (use {even[0] - 1} or {even[0] + 1})"
            )
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"kernel sizes must differ from each other, got {sizes}")
        return sizes

    @model_validator(mode="after")
    def _kernels_fit_the_window(self) -> CNNSpec:
        longest = max(self.kernel_sizes)
        if longest > self.lookback:
            raise ValueError(
                f"kernel size {longest} is longer than the window (lookback {self.lookback}); "
                f"use kernels up to {self.lookback} or a longer lookback"
            )
        return self


class TransformerSpec(Section):
    """A transformer encoder over a window of the ``lookback`` feature rows ending at each bar.

    Each row is projected to ``d_model``, given its position (``learned`` or ``sinusoidal``) and passed through
    ``layers`` pre-norm encoder blocks (``heads``-head self-attention, then a ``feed_forward``-wide MLP). Attention
    looks both ways inside the window, which is causal because the window ends at the sample's own bar. The head
    reads the ``last`` row, the ``mean`` over rows, or a learned ``cls`` token put in front of the window.

    Examples
    --------
    >>> TransformerSpec().d_model, TransformerSpec().heads, TransformerSpec().pooling
    (64, 4, 'last')
    """

    type: Literal["transformer"] = "transformer"
    lookback: Annotated[int, Field(ge=2, le=4096)] = 30
    d_model: Annotated[int, Field(ge=2, le=4096)] = 64
    heads: Annotated[int, Field(ge=1, le=64)] = 4
    layers: Annotated[int, Field(ge=1, le=24)] = 2
    feed_forward: Annotated[int, Field(ge=1, le=16_384)] = 128
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    positions: Literal["learned", "sinusoidal"] = "learned"
    pooling: Literal["last", "mean", "cls"] = "last"
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters of this network on ``n_inputs`` features.

        Examples
        --------
        >>> TransformerSpec(lookback=5, d_model=8, heads=2, layers=1, feed_forward=16).parameters(4, 3)
        723
        """
        d = self.d_model
        tokens = self.lookback + (self.pooling == "cls")
        total = (
            _linear(n_inputs, d) + self.layers * _encoder_block(d, self.feed_forward) + 2 * d + _linear(d, n_classes)
        )
        if self.pooling == "cls":
            total += d
        if self.positions == "learned":
            total += tokens * d
        return total

    @model_validator(mode="after")
    def _heads_divide_d_model(self) -> TransformerSpec:
        if self.d_model % self.heads:
            divisors = [h for h in range(1, 65) if self.d_model % h == 0]
            near = sorted(sorted(divisors, key=lambda h: (abs(h - self.heads), -h))[:2])
            raise ValueError(
                f"d_model {self.d_model} must be divisible by heads {self.heads} (each head gets d_model / heads "
                f"dimensions); use heads {' or '.join(map(str, near))}, or change d_model"
            )
        return self
