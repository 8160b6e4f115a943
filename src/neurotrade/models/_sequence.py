"""Sequence models over windows of feature rows: LSTM, GRU, 1-D CNN, transformer.

Each reads ``(B, L, F)`` windows, the ``L = lookback`` feature rows ending at the sample's own bar (oldest first,
as :func:`neurotrade.features.windows` builds them), and returns raw class logits ``(B, C)``. A window's output
depends on that window only: no state is carried from one sample to the next (recurrences start from zeros),
and nothing mixes samples at inference (batch norm uses its running statistics in eval mode). Inside a window a
model may look both ways (a backward recurrence, symmetric convolution padding, unmasked attention): the window
ends at the sample's bar, so no row after that bar is ever in reach.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from neurotrade.errors import ModelError
from neurotrade.models._registry import Builder, register_model


class WindowModel(nn.Module):
    """What every window model shares: its input contract, the shape check and :meth:`predict_proba`."""

    input_kind = "windows"

    def __init__(self, n_inputs: int, n_classes: int, lookback: int) -> None:
        super().__init__()
        self.n_inputs, self.n_classes, self.lookback = n_inputs, n_classes, lookback

    def check_windows(self, x: torch.Tensor) -> None:
        """Refuse a batch that is not ``(B, lookback, n_inputs)``: a window of another length is never adapted."""
        if x.ndim != 3 or x.shape[1] != self.lookback or x.shape[2] != self.n_inputs:
            raise ModelError(
                f"{type(self).__name__} reads windows of shape (batch, {self.lookback}, {self.n_inputs}): "
                f"{self.lookback} rows (model.lookback) of {self.n_inputs} features; got {tuple(x.shape)}. "
                f"Build them with neurotrade.features.windows(matrix, {self.lookback})"
            )

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, C)`` in float64, in eval mode (no dropout, batch norm on running statistics)."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(x).double(), dim=-1)  # (B, C), float64 so rows sum to 1
        finally:
            self.train(was_training)


class RecurrentNet(WindowModel):
    """An LSTM or GRU over each window; a linear head reads its summary of the window.

    The summary is the top layer's output after the last row. A bidirectional network adds the backward
    direction's output at the FIRST row, where that direction has read the whole window (from its last row back).
    Every window starts from a zero state, so samples never pass information to each other.

    Examples
    --------
    >>> net = RecurrentNet(4, 3, cell="gru", lookback=5, hidden=8, layers=1, bidirectional=True)
    >>> net(torch.zeros(2, 5, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        *,
        cell: Literal["lstm", "gru"],
        lookback: int = 30,
        hidden: int = 64,
        layers: int = 2,
        bidirectional: bool = False,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_inputs, n_classes, lookback)
        self.hidden, self.bidirectional = hidden, bidirectional
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        # torch's own dropout acts only between stacked layers (and warns when there is a single layer).
        self.rnn = rnn(
            n_inputs,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_windows(x)
        out, _ = self.rnn(x)  # (B, L, H) or (B, L, 2H): the two directions side by side
        summary = out[:, -1, : self.hidden]  # (B, H) forward direction, after the last row
        if self.bidirectional:
            backward = out[:, 0, self.hidden :]  # (B, H) backward direction, after reading back to the first row
            summary = torch.cat([summary, backward], dim=-1)  # (B, 2H)
        return self.head(self.drop(summary))  # (B, C)


class ConvNet(WindowModel):
    """Parallel 1-D convolutions over time, one branch per kernel size, pooled over the window.

    A branch is ``layers`` times convolution -> batch norm -> ReLU with ``filters`` channels, then max or average
    pooling over the window's rows. Padding is symmetric (``k // 2`` zeros on each side, odd ``k``), so a row's
    feature sees up to ``k // 2`` rows after it, all inside the window, which ends at the sample's bar.

    Examples
    --------
    >>> net = ConvNet(4, 3, lookback=6, kernel_sizes=[3, 5], filters=8)
    >>> net(torch.zeros(2, 6, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        *,
        lookback: int = 30,
        kernel_sizes: list[int] | tuple[int, ...] = (3, 5, 7),
        filters: int = 32,
        layers: int = 1,
        pooling: Literal["max", "avg"] = "max",
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_inputs, n_classes, lookback)
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ModelError(f"kernel sizes must be odd so that symmetric padding keeps the length, got {kernel_sizes}")
        self.pooling = pooling
        self.branches = nn.ModuleList(self._branch(n_inputs, filters, k, layers) for k in kernel_sizes)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(filters * len(kernel_sizes), n_classes)

    @staticmethod
    def _branch(n_inputs: int, filters: int, kernel: int, layers: int) -> nn.Sequential:
        modules: list[nn.Module] = []
        channels = n_inputs
        for _ in range(layers):
            # No bias: the batch norm right after would cancel it.
            modules += [
                nn.Conv1d(channels, filters, kernel, padding=kernel // 2, bias=False),
                nn.BatchNorm1d(filters),
                nn.ReLU(),
            ]
            channels = filters
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_windows(x)
        h = x.transpose(1, 2)  # (B, F, L): Conv1d wants channels before time
        pooled = []
        for branch in self.branches:
            z = branch(h)  # (B, filters, L)
            pooled.append(z.amax(dim=-1) if self.pooling == "max" else z.mean(dim=-1))  # (B, filters)
        return self.head(self.drop(torch.cat(pooled, dim=-1)))  # (B, K * filters) -> (B, C)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The fixed sine/cosine position table of "Attention is all you need", ``(1, length, dim)``.

    Examples
    --------
    >>> sinusoidal_positions(4, 3)[0, 0].tolist()
    [0.0, 1.0, 0.0]
    """
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))  # (ceil(D / 2),)
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * rate)  # (T, ceil(D / 2))
    table[:, 1::2] = torch.cos(position * rate[: dim // 2])  # (T, D // 2)
    return table.unsqueeze(0)  # (1, T, D)


class SelfAttention(nn.Module):
    """Multi-head self-attention computed explicitly, so that its weights can be returned.

    There is no causal mask: every row of a window may attend to every other, because the window itself ends at
    the sample's bar.
    """

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.attn_drop = nn.Dropout(dropout)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, D = x.shape
        hs = D // self.heads
        q, k, v = self.qkv(x).split(D, dim=2)  # 3 x (B, T, D)
        q = q.view(B, T, self.heads, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.heads, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.heads, hs).transpose(1, 2)  # (B, nh, T, hs)
        weights = torch.softmax((q @ k.transpose(-2, -1)) / math.sqrt(hs), dim=-1)  # (B, nh, T, T)
        y = self.attn_drop(weights) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, D)  # (B, T, D): heads side by side again
        return self.resid_drop(self.proj(y)), weights


class EncoderBlock(nn.Module):
    """A pre-norm encoder block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, d_model: int, heads: int, feed_forward: int, dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, heads, dropout)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, feed_forward), nn.GELU(), nn.Linear(feed_forward, d_model), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        attended, weights = self.attn(self.ln_1(x))  # (B, T, D), (B, nh, T, T)
        x = x + attended  # (B, T, D)
        x = x + self.mlp(self.ln_2(x))  # (B, T, D)
        return x, weights


class TransformerNet(WindowModel):
    """A transformer encoder over each window: rows projected to ``d_model``, positions added, pre-norm blocks.

    The head reads the last row (``pooling="last"``), the mean over rows (``"mean"``), or a learned token put in
    front of the window (``"cls"``; the sequence is then ``lookback + 1`` long and the token is position 0).
    Positions count from the window's first (oldest) row.

    Examples
    --------
    >>> net = TransformerNet(4, 3, lookback=5, d_model=8, heads=2, layers=1, feed_forward=16, pooling="cls")
    >>> net(torch.zeros(2, 5, 4)).shape, net.attention_weights(torch.zeros(2, 5, 4)).shape
    (torch.Size([2, 3]), torch.Size([1, 2, 2, 6, 6]))
    """

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        *,
        lookback: int = 30,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        feed_forward: int = 128,
        dropout: float = 0.1,
        positions: Literal["learned", "sinusoidal"] = "learned",
        pooling: Literal["last", "mean", "cls"] = "last",
    ) -> None:
        super().__init__(n_inputs, n_classes, lookback)
        if d_model % heads:
            raise ModelError(f"d_model {d_model} must be divisible by heads {heads}")
        self.pooling = pooling
        tokens = lookback + (pooling == "cls")
        self.embed = nn.Linear(n_inputs, d_model)
        if pooling == "cls":
            self.cls = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        if positions == "learned":
            self.pos = nn.Parameter(torch.randn(1, tokens, d_model) * 0.02)
        else:
            # Not saved with the weights: it is a fixed function of the shape.
            self.register_buffer("pos", sinusoidal_positions(tokens, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(EncoderBlock(d_model, heads, feed_forward, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The final normalised states ``(B, T, D)`` and every block's attention weights ``(B, nh, T, T)``."""
        self.check_windows(x)
        h = self.embed(x)  # (B, L, D)
        if self.pooling == "cls":
            h = torch.cat([self.cls.expand(len(h), -1, -1), h], dim=1)  # (B, T = 1 + L, D)
        h = self.drop(h + self.pos)  # (B, T, D)
        maps = []
        for block in self.blocks:
            h, weights = block(h)  # (B, T, D), (B, nh, T, T)
            maps.append(weights)
        return self.ln_f(h), maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.encode(x)  # (B, T, D)
        if self.pooling == "last":
            summary = h[:, -1]  # (B, D) the sample's own bar
        elif self.pooling == "mean":
            summary = h.mean(dim=1)  # (B, D)
        else:
            summary = h[:, 0]  # (B, D) the cls token
        return self.head(summary)  # (B, C)

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Every block's attention, ``(layers, B, heads, T, T)``, in eval mode; each row sums to 1.

        ``T`` is ``lookback``, or ``lookback + 1`` with ``pooling="cls"`` (the token is index 0). Entry
        ``[l, b, h, i, j]`` is how much row ``i`` attends to row ``j`` in block ``l``, head ``h``, for window ``b``.

        Examples
        --------
        >>> net = TransformerNet(3, 2, lookback=4, d_model=8, heads=2, layers=3, feed_forward=8)
        >>> w = net.attention_weights(torch.zeros(5, 4, 3))
        >>> w.shape, bool(torch.allclose(w.sum(-1), torch.ones(3, 5, 2, 4)))
        (torch.Size([3, 5, 2, 4, 4]), True)
        """
        was_training = self.training
        self.eval()
        try:
            _, maps = self.encode(x)
            return torch.stack(maps)  # (layers, B, nh, T, T)
        finally:
            self.train(was_training)


def _recurrent(cell: Literal["lstm", "gru"]) -> Builder:
    def build(spec: Any, n_inputs: int, n_classes: int) -> RecurrentNet:
        return RecurrentNet(
            n_inputs,
            n_classes,
            cell=cell,
            lookback=spec.lookback,
            hidden=spec.hidden,
            layers=spec.layers,
            bidirectional=spec.bidirectional,
            dropout=spec.dropout,
        )

    return build


def _cnn(spec: Any, n_inputs: int, n_classes: int) -> ConvNet:
    return ConvNet(
        n_inputs,
        n_classes,
        lookback=spec.lookback,
        kernel_sizes=list(spec.kernel_sizes),
        filters=spec.filters,
        layers=spec.layers,
        pooling=spec.pooling,
        dropout=spec.dropout,
    )


def _transformer(spec: Any, n_inputs: int, n_classes: int) -> TransformerNet:
    return TransformerNet(
        n_inputs,
        n_classes,
        lookback=spec.lookback,
        d_model=spec.d_model,
        heads=spec.heads,
        layers=spec.layers,
        feed_forward=spec.feed_forward,
        dropout=spec.dropout,
        positions=spec.positions,
        pooling=spec.pooling,
    )


register_model("lstm", _recurrent("lstm"))
register_model("gru", _recurrent("gru"))
register_model("cnn", _cnn)
register_model("transformer", _transformer)
