"""Model inputs gathered batch by batch from one contiguous tensor on the device.

A window model's sample at row t reads rows ``t - L + 1 .. t`` of the feature matrix. Rather than building every
window up front (``L`` times the memory) or going sample by sample through a ``Dataset``/``DataLoader``, the
matrix goes to the device once and each batch's windows are one gather by index arithmetic:
``rows = positions[idx, None] - L + 1 + arange(L)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from neurotrade.errors import ModelError

# Evaluation runs in chunks of about this many feature rows, so a long validation window of long sequences does
# not have to fit in memory at once.
EVAL_ROWS = 2**16


def input_shape(model: nn.Module) -> tuple[str, int]:
    """``(input_kind, lookback)`` of a model: ``("rows", 1)`` unless it declares reading windows.

    Examples
    --------
    >>> input_shape(nn.Linear(3, 2))
    ('rows', 1)
    """
    kind = getattr(model, "input_kind", "rows")
    if kind not in ("rows", "windows"):
        raise ModelError(f"{type(model).__name__}.input_kind must be 'rows' or 'windows', got {kind!r}")
    lookback = int(getattr(model, "lookback", 1)) if kind == "windows" else 1
    if lookback < 1:
        raise ModelError(f"{type(model).__name__}.lookback must be at least 1, got {lookback}")
    return kind, lookback


class Inputs:
    """The inputs of one set of samples (a training or validation window), gathered by sample index.

    Either ``samples`` are the inputs themselves (``(S, F)`` rows or ``(S, L, F)`` windows) and ``positions`` is
    None, or ``features`` is the whole ``(N, F)`` matrix and ``positions`` the row of each sample in it.
    """

    def __init__(self, features: torch.Tensor, positions: torch.Tensor | None, *, windows: bool, lookback: int):
        self.features = features  # (N, F) with positions; (S, F) or (S, L, F) without
        self.positions = positions  # (S,) or None
        self.windows = windows
        self.lookback = lookback
        self.offsets = torch.arange(1 - lookback, 1, device=features.device)  # (L,)

    def __len__(self) -> int:
        return len(self.features) if self.positions is None else len(self.positions)

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        """The inputs of samples ``idx`` (a 1-D long tensor on the device)."""
        if self.positions is None:
            return self.features.index_select(0, idx)  # (B, F) or (B, L, F)
        rows = self.positions.index_select(0, idx)  # (B,)
        if not self.windows:
            return self.features.index_select(0, rows)  # (B, F)
        window = rows[:, None] + self.offsets  # (B, L), the L rows ending at each sample's own row
        flat = self.features.index_select(0, window.reshape(-1))  # (B * L, F)
        return flat.view(len(rows), self.lookback, -1)  # (B, L, F)

    def chunks(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(idx, inputs)`` in sample order, in chunks of about :data:`EVAL_ROWS` feature rows."""
        size = max(1, EVAL_ROWS // self.lookback)
        device = self.features.device
        for start in range(0, len(self), size):
            idx = torch.arange(start, min(start + size, len(self)), device=device)
            yield idx, self.batch(idx)


def make_inputs(
    x: np.ndarray | torch.Tensor,
    positions: np.ndarray | None,
    *,
    kind: str,
    lookback: int,
    device: torch.device,
    name: str,
    matrix: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> Inputs:
    """Check ``x`` (and ``positions``) against what the model reads, and put them on ``device`` as ``dtype``.

    ``matrix``, when given, is ``x`` already on the device (the validation set shares the training set's matrix
    instead of a second copy). ``name`` is the argument's name for messages (``x_train``, ``x_val``). Training
    reads float32; inference (``predict_proba``) float64.

    Examples
    --------
    >>> m = np.arange(12.0).reshape(6, 2)
    >>> inputs = make_inputs(m, np.array([2, 5]), kind="windows", lookback=3, device=torch.device("cpu"), name="x")
    >>> inputs.batch(torch.tensor([1]))[0, :, 0].tolist()  # rows 3, 4, 5: the window ending at row 5
    [6.0, 8.0, 10.0]
    """
    windows = kind == "windows"
    shape = tuple(x.shape)
    if positions is None:
        if windows and (len(shape) != 3 or shape[1] != lookback):
            raise ModelError(
                f"{name} has shape {shape}, but the model reads windows of {lookback} rows: pass (samples, "
                f"{lookback}, features) windows, or the (rows, features) matrix with the samples' positions"
            )
        if not windows and len(shape) != 2:
            raise ModelError(f"{name} has shape {shape}, but the model reads (samples, features) rows")
        tensor = matrix if matrix is not None else _to_device(x, device, dtype)
        return Inputs(tensor, None, windows=windows, lookback=lookback)
    if len(shape) != 2:
        raise ModelError(f"with positions, {name} must be the (rows, features) matrix, got shape {shape}")
    pos = np.asarray(positions)
    if pos.ndim != 1 or not np.issubdtype(pos.dtype, np.integer):
        raise ModelError(f"positions for {name} must be a 1-D integer array of rows, got {pos.dtype} {pos.shape}")
    first = lookback - 1
    if len(pos) and pos.min() < first:
        bad = int(pos[pos < first][0])
        raise ModelError(
            f"positions for {name} include row {bad}, but the model's windows need {lookback} rows ending at the "
            f"sample's own row: rows before {first} have no full window; leave those samples out "
            f"(keep positions >= {first})"
        )
    if len(pos) and pos.max() >= shape[0]:
        raise ModelError(f"positions for {name} include row {int(pos.max())}, but {name} has {shape[0]} rows")
    tensor = matrix if matrix is not None else _to_device(x, device, dtype)
    return Inputs(tensor, torch.as_tensor(pos, dtype=torch.long, device=device), windows=windows, lookback=lookback)


def _to_device(x: np.ndarray | torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(device=device, dtype=dtype).contiguous()
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)
