"""Training checkpoints: tensors and plain containers only, read back with ``torch.load(weights_only=True)``.

A checkpoint holds everything the next epoch depends on (weights, optimizer and schedule state, the random
generators, the best weights so far and the history), so a run resumed from it ends with the weights the
uninterrupted run would have had. Random generator states are stored as tensors and lists of ints, never as
pickled objects: loading one cannot run code.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurotrade.errors import ModelError

FORMAT = 1


def rng_state(order: torch.Generator) -> dict[str, Any]:
    """Every random generator a training epoch can draw from, as tensors and plain values.

    Examples
    --------
    >>> sorted(rng_state(torch.Generator()))
    ['cuda', 'numpy', 'order', 'python', 'torch']
    """
    version, internal, gauss_next = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002  the generator third-party code uses
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "order": order.get_state(),
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
    }


def set_rng_state(state: dict[str, Any], order: torch.Generator) -> None:
    """Put back what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    order.set_state(state["order"])
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["cached"])
    )


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a temporary file renamed into place).

    An interruption while writing leaves the previous checkpoint intact.

    Examples
    --------
    >>> save_checkpoint("ckpt.pt", {"epoch": 3, "weights": {"w": torch.ones(2)}})
    >>> load_checkpoint("ckpt.pt")["epoch"]
    3
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, on the CPU, refusing anything but tensors and plain
    containers (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no checkpoint at {path}; pass the file a previous training wrote with `checkpoint=`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise ModelError(f"cannot read the checkpoint {path}: {e}; it is damaged or not a neurotrade checkpoint") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelError(f"{path} is not a neurotrade training checkpoint (format {FORMAT})")
    return state
