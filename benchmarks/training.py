"""How fast neurotrade's trainer is beside the plain PyTorch loop a user would otherwise write, measured in one run.

For each model (mlp, lstm, transformer; a model type not registered is skipped with a note) both loops start from
the same initial weights and train on the same data with Adam (lr 1e-3), batch size 32, for ``--epochs`` epochs,
each computing the validation loss after every epoch:

- **ours**: ``neurotrade.training.train_classifier`` with the ``(rows, features)`` matrix on the device and the
  samples' positions; window models gather their windows per batch by index arithmetic; fused Adam.
- **plain**: ``TensorDataset`` + ``DataLoader(shuffle=True, batch_size=32)`` over the samples (windows built up
  front with ``neurotrade.features.windows``, as a user would), each batch moved to the device, ``loss.item()``
  every step, ``torch.optim.Adam`` with its defaults.

Printed per model: training samples per second of each loop (validation included, as both do it each epoch; the
fastest of ``--repeats`` runs, alternating between the loops) and their ratio; the time per batch spent only on
getting the inputs (DataLoader iteration vs our gather); the memory the inputs take; and the best validation loss
of each loop and their relative difference (the two shuffle differently, so the losses agree only statistically).
Goal: >= 3x the samples per second for the MLP with a best validation loss within 2 % of the plain loop's.

What to expect: getting a batch's inputs costs ~10x less with the gather than with the DataLoader, and window
models keep one matrix instead of every window (``lookback`` times less memory). How much of that shows in the
end-to-end ratio depends on how large the rest of a step is: on a CPU at batch 32 the forward, backward and
optimizer step of even a small MLP take several times longer than the DataLoader's work, so the ratio stays near
1.2x; on a GPU the plain loop also pays a host-to-device copy and a synchronising ``loss.item()`` every step.

Data: synthetic bars from ``neurotrade.data.synthetic_ohlcv`` (a two-regime market with a planted mean-reversion
signal) through the feature builder with the default strategy's indicators, fuzzy sets and lags (36 features),
ZigZag labels (3 %, 10 bars); the first 80 % of the labelled samples train, the rest validate; the scaler is
fitted on the training rows.

Run from the repository root::

    .venv/bin/python benchmarks/training.py                        # mlp, lstm, transformer on 20,000 samples
    .venv/bin/python benchmarks/training.py --models mlp --epochs 10 --samples 50000
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from neurotrade.config import DataSpec, Strategy, TrainingSpec, load_strategy
from neurotrade.data import synthetic_ohlcv
from neurotrade.features import Standardizer, build_features, windows
from neurotrade.labels import zigzag_labels
from neurotrade.models import build_model, model_types
from neurotrade.training import seed_everything, select_device, train_classifier
from neurotrade.training._batches import make_inputs

REPO = Path(__file__).resolve().parents[1]
BATCH = 32
LR = 1e-3
SEED = 7
GOAL_SPEED = 3.0
GOAL_LOSS = 0.02
# Small enough that a CPU finishes the sequence models in a minute or two, large enough to be real networks.
MODEL_SPECS = {
    "mlp": {"type": "mlp", "hidden": [64, 32], "dropout": 0.1},
    "lstm": {"type": "lstm", "lookback": 30, "hidden": 32, "layers": 1},
    "transformer": {"type": "transformer", "lookback": 30, "d_model": 32, "layers": 1, "feed_forward": 64},
}


@dataclass
class Data:
    matrix: np.ndarray  # (rows, features), scaled
    labels: np.ndarray  # (rows,) class per row, -1 where undecided
    train: np.ndarray  # positions of training samples
    val: np.ndarray  # positions of validation samples


@dataclass
class Timing:
    seconds: float
    best_val_loss: float
    input_us_per_batch: float
    input_bytes: int


def make_data(samples: int) -> Data:
    """Features of the single-symbol AAPL example on synthetic bars, ZigZag labels, a chronological 80/20 split."""
    default = load_strategy(REPO / "strategies" / "aapl_fuzzy_mlp.yaml")
    strategy = Strategy.model_validate(
        {**default.model_dump(), "data": DataSpec(source="synthetic", bars=samples + 200).model_dump()}
    )
    bars = synthetic_ohlcv(samples + 200, seed=SEED)
    features = build_features(bars, strategy)
    frame = features.frame.iloc[-samples:]
    label = zigzag_labels(bars["close"], threshold_pct=3.0, lookahead=10)["label"].reindex(frame.index).to_numpy()
    labelled = np.flatnonzero(~np.isnan(label))
    cut = int(0.8 * len(labelled))
    scaler = Standardizer(list(frame.columns)).fit(frame.to_numpy()[labelled[:cut]])
    matrix = scaler.transform(frame.to_numpy()).astype(np.float32)
    return Data(matrix, np.where(np.isnan(label), -1, label).astype(np.int64), labelled[:cut], labelled[cut:])


def fresh_model(kind: str, n_inputs: int) -> nn.Module:
    seed_everything(SEED)
    spec = Strategy.model_validate({"name": "bench", "model": MODEL_SPECS[kind]}).model
    return build_model(spec, n_inputs=n_inputs, n_classes=3)


def run_ours(kind: str, data: Data, epochs: int, device: str) -> Timing:
    model = fresh_model(kind, data.matrix.shape[1])
    lookback = int(getattr(model, "lookback", 1)) if getattr(model, "input_kind", "rows") == "windows" else 1
    train, val = data.train[data.train >= lookback - 1], data.val
    spec = TrainingSpec(epochs=epochs, batch_size=BATCH, learning_rate=LR, early_stopping=None, device=device)
    start = time.perf_counter()
    result = train_classifier(
        model,
        data.matrix,
        data.labels[train],
        data.matrix,
        data.labels[val],
        spec,
        seed=SEED,
        train_positions=train,
        val_positions=val,
    )
    seconds = time.perf_counter() - start
    return Timing(seconds, result.best_val_loss, ours_input_cost(data, train, lookback, device), data.matrix.nbytes)


def ours_input_cost(data: Data, train: np.ndarray, lookback: int, device: str) -> float:
    """Microseconds per batch of shuffling and gathering the inputs, as the trainer does it."""
    dev = select_device(device)
    kind = "windows" if lookback > 1 else "rows"
    inputs = make_inputs(data.matrix, train, kind=kind, lookback=lookback, device=dev, name="x")
    labels = torch.as_tensor(data.labels[train], device=dev)
    start = time.perf_counter()
    permutation = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(0)).to(dev)
    for begin in range(0, len(inputs), BATCH):
        idx = permutation[begin : begin + BATCH]
        inputs.batch(idx), labels[idx]
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / math.ceil(len(inputs) / BATCH) * 1e6


def run_plain(kind: str, data: Data, epochs: int, device: str) -> Timing:
    """The loop from the PyTorch tutorials: a DataLoader over a TensorDataset, batches moved to the device."""
    dev = select_device(device)
    model = fresh_model(kind, data.matrix.shape[1]).to(dev)
    lookback = int(getattr(model, "lookback", 1)) if getattr(model, "input_kind", "rows") == "windows" else 1
    train, val = data.train[data.train >= lookback - 1], data.val
    if lookback > 1:
        built = windows(data.matrix, lookback)  # window i ends at row i + lookback - 1
        x_train, x_val = torch.tensor(built[train - lookback + 1]), torch.tensor(built[val - lookback + 1])
    else:
        x_train, x_val = torch.tensor(data.matrix[train]), torch.tensor(data.matrix[val])
    y_train, y_val = torch.tensor(data.labels[train]), torch.tensor(data.labels[val])
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    best = math.inf
    torch.manual_seed(SEED)  # the DataLoader's shuffle draws from the global generator
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(dev), yb.to(dev)
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            val_loss = sum(
                loss_fn(model(x_val[i : i + 4096].to(dev)), y_val[i : i + 4096].to(dev)).item()
                * len(y_val[i : i + 4096])
                for i in range(0, len(y_val), 4096)
            ) / len(y_val)
        best = min(best, val_loss)
    seconds = time.perf_counter() - start
    begin = time.perf_counter()
    for xb, yb in loader:
        xb.to(dev), yb.to(dev)
    input_cost = (time.perf_counter() - begin) / len(loader) * 1e6
    return Timing(seconds, best, input_cost, x_train.nbytes + x_val.nbytes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20_000, help="feature rows (bars after warm-up)")
    parser.add_argument("--models", default="mlp,lstm,transformer")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop; the fastest counts")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = make_data(args.samples)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, device "
        f"{select_device(args.device)}, {torch.get_num_threads()} CPU thread(s); {len(data.train)} training and "
        f"{len(data.val)} validation samples x {data.matrix.shape[1]} features, batch {BATCH}, {args.epochs} epochs"
    )
    print(
        f"{'model':<12}{'ours/s':>10}{'plain/s':>10}{'ratio':>8}{'input us/batch':>17}{'input MB':>14}"
        f"{'best val ours':>15}{'plain':>8}{'diff':>8}"
    )
    registered = set(model_types())
    for kind in args.models.split(","):
        if kind not in registered:
            print(f"{kind:<12}skipped: model type {kind!r} is not registered in this checkout")
            continue
        # One untimed epoch each first: imports, allocator and kernel warm-up are not what is measured.
        run_ours(kind, data, 1, args.device)
        run_plain(kind, data, 1, args.device)
        ours, plain = run_ours(kind, data, args.epochs, args.device), run_plain(kind, data, args.epochs, args.device)
        for _ in range(args.repeats - 1):  # alternating, so a busy moment of the machine hits both alike
            ours.seconds = min(ours.seconds, run_ours(kind, data, args.epochs, args.device).seconds)
            plain.seconds = min(plain.seconds, run_plain(kind, data, args.epochs, args.device).seconds)
        samples = len(data.train) * args.epochs
        ratio = plain.seconds / ours.seconds
        diff = (ours.best_val_loss - plain.best_val_loss) / plain.best_val_loss
        print(
            f"{kind:<12}{samples / ours.seconds:>10,.0f}{samples / plain.seconds:>10,.0f}{ratio:>7.2f}x"
            f"{ours.input_us_per_batch:>8.1f} vs {plain.input_us_per_batch:<6.1f}"
            f"{ours.input_bytes / 1e6:>6.1f} vs {plain.input_bytes / 1e6:<5.1f}"
            f"{ours.best_val_loss:>15.4f}{plain.best_val_loss:>8.4f}{100 * diff:>7.2f}%"
        )
        if kind == "mlp":
            speed_ok = "met" if ratio >= GOAL_SPEED else "NOT met"
            loss_ok = "met" if abs(diff) <= GOAL_LOSS else "NOT met"
            print(
                f"{'':<12}goal >= {GOAL_SPEED:g}x: {speed_ok}; best validation loss within "
                f"{100 * GOAL_LOSS:g} %: {loss_ok}"
            )


if __name__ == "__main__":
    main()
