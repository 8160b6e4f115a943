"""Device choice and seeding: the two things that decide whether a run can be repeated."""

from __future__ import annotations

import random

import numpy as np
import torch

from neurotrade.errors import ModelError


def select_device(preference: str = "auto") -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU; or exactly the device asked for.

    Examples
    --------
    >>> select_device("cpu").type
    'cpu'
    """
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if preference not in available:
        raise ModelError(f"unknown device {preference!r}; use auto, cpu, cuda or mps")
    if not available[preference]:
        raise ModelError(
            f"training.device is {preference!r} but this machine has no {preference.upper()} device; "
            "use `device: auto` (CUDA > MPS > CPU) or `device: cpu`"
        )
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch from the strategy's one seed.

    On the CPU this makes two runs identical; cuDNN is also told to pick deterministic kernels.

    Examples
    --------
    >>> seed_everything(7); a = torch.rand(1)
    >>> seed_everything(7); bool(torch.equal(a, torch.rand(1)))
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  the legacy global generator is what third-party code draws from
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
