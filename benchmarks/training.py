"""How fast neurotrade's trainer is beside the plain PyTorch loop a user would otherwise write, measured in one run.

For each registered model type (mlp, lstm, gru, cnn, transformer, fuzzy, regime; the ensemble is skipped with a note:
it trains its members, each a type measured here, then a small combiner over them) both loops start from the same
initial weights and train on the same data with Adam (lr 1e-3), batch size 32, for ``--epochs`` epochs, each
computing the validation loss after every epoch:

- **ours**: ``neurotrade.training.train_classifier`` with the ``(rows, features)`` matrix on the device and the
  samples' positions; window models gather their windows per batch by index arithmetic; fused Adam called
  straight; small networks on one thread (``training/_step.py``).
- **plain**: ``TensorDataset`` + ``DataLoader(shuffle=True, batch_size=32)`` over the samples (windows built up
  front with ``neurotrade.features.windows``, as a user would), each batch moved to the device, ``loss.item()``
  every step, ``torch.optim.Adam`` with its defaults. The regime model, which trains on its own multi-task loss,
  gets ``model.loss(x, y, extras)`` in both loops; the neuro-fuzzy model is placed on the training rows first.

Printed per model: training samples per second of each loop (validation included, as both do it each epoch; the
fastest of ``--repeats`` runs, alternating between the loops) and their ratio; the time per batch spent only on
getting the inputs (DataLoader iteration vs our gather); the memory the inputs take; and the best validation loss
of each loop and their relative difference (the two shuffle differently, so the losses agree only statistically).
Goal: >= 3x the samples per second for the MLP and >= 2x for every other model type, with a best validation loss
within 2 % of the plain loop's. ``--threads`` sets torch's threads for both loops (default 1: the same arithmetic
power for both; 0 leaves torch's default of every core, what a user's plain loop gets, and the trainer then picks
its own count).

``--runs`` instead times a whole run (3 walk-forward folds) of each example strategy, each in a fresh child
process and workspace, and with ``--before SRC`` (the ``src`` folder of another checkout, e.g. a ``git worktree``
of the previous commit) also the same run on that code, alternated, the fastest of ``--repeats`` counting. Every
pair's best validation losses (the mean over the folds) are printed beside the times.

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
    git worktree add --detach /tmp/nt_before HEAD~1
    .venv/bin/python benchmarks/training.py --runs --before /tmp/nt_before/src --repeats 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
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
GOAL_SPEED = {"mlp": 3.0}  # every other model type: GOAL_SPEED_OTHER
GOAL_SPEED_OTHER = 2.0
GOAL_LOSS = 0.02
# Small enough that a CPU finishes the sequence models in a minute or two, large enough to be real networks.
MODEL_SPECS = {
    "mlp": {"type": "mlp", "hidden": [64, 32], "dropout": 0.1},
    "lstm": {"type": "lstm", "lookback": 30, "hidden": 32, "layers": 1},
    "gru": {"type": "gru", "lookback": 30, "hidden": 32, "layers": 1},
    "cnn": {"type": "cnn", "lookback": 30, "kernel_sizes": [3, 5, 7], "filters": 16},
    "transformer": {"type": "transformer", "lookback": 30, "d_model": 32, "layers": 1, "feed_forward": 64},
    "fuzzy": {"type": "fuzzy", "sets_per_input": 3, "rules": 32, "antecedents": 2},
    "regime": {"type": "regime", "lookback": 30, "d_model": 32, "heads": 4, "layers": 1, "latent_dim": 4},
}
# Model types that cannot train on their own in these loops, and why.
SKIPPED = {"ensemble": "a composite: it trains its members (each a type measured here), then a combiner over them"}
HORIZON = 10  # bars of the regime model's return and volatility targets


@dataclass
class Data:
    matrix: np.ndarray  # (rows, features), scaled
    labels: np.ndarray  # (rows,) class per row, -1 where undecided
    train: np.ndarray  # positions of training samples
    val: np.ndarray  # positions of validation samples
    extras: dict[str, np.ndarray]  # (rows,) the regime model's targets: forward log return and volatility


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
    log_close = np.log(bars["close"].reindex(frame.index).to_numpy())
    ret = np.full(len(log_close), np.nan)
    ret[:-HORIZON] = log_close[HORIZON:] - log_close[:-HORIZON]
    steps = np.diff(log_close, prepend=np.nan)
    vol = np.full(len(log_close), np.nan)
    ahead = np.lib.stride_tricks.sliding_window_view(steps[1:], HORIZON)  # row t: the HORIZON steps after bar t
    vol[: len(ahead)] = ahead.std(axis=1)
    labelled = np.flatnonzero(~np.isnan(label) & np.isfinite(ret) & np.isfinite(vol))
    cut = int(0.8 * len(labelled))
    scaler = Standardizer(list(frame.columns)).fit(frame.to_numpy()[labelled[:cut]])
    matrix = scaler.transform(frame.to_numpy()).astype(np.float32)
    labels = np.where(np.isnan(label), -1, label).astype(np.int64)
    return Data(matrix, labels, labelled[:cut], labelled[cut:], {"ret": ret, "vol": vol})


def fresh_model(kind: str, data: Data) -> nn.Module:
    """The model seeded alike for both loops, with what it fits from the training rows before training."""
    seed_everything(SEED)
    spec = Strategy.model_validate({"name": "bench", "model": MODEL_SPECS[kind]}).model
    model = build_model(spec, n_inputs=data.matrix.shape[1], n_classes=3)
    if hasattr(model, "init_from"):
        model.init_from(data.matrix[data.train])
    if hasattr(model, "fit_target_scale"):
        model.fit_target_scale({name: values[data.train] for name, values in data.extras.items()})
    return model


def own_loss(model: nn.Module) -> bool:
    return callable(getattr(model, "loss", None))


def run_ours(kind: str, data: Data, epochs: int, device: str) -> Timing:
    model = fresh_model(kind, data)
    lookback = int(getattr(model, "lookback", 1)) if getattr(model, "input_kind", "rows") == "windows" else 1
    train, val = data.train[data.train >= lookback - 1], data.val
    spec = TrainingSpec(epochs=epochs, batch_size=BATCH, learning_rate=LR, early_stopping=None, device=device)
    extras = own_loss(model)
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
        extras_train={name: values[train] for name, values in data.extras.items()} if extras else None,
        extras_val={name: values[val] for name, values in data.extras.items()} if extras else None,
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
    model = fresh_model(kind, data).to(dev)
    lookback = int(getattr(model, "lookback", 1)) if getattr(model, "input_kind", "rows") == "windows" else 1
    train, val = data.train[data.train >= lookback - 1], data.val
    if lookback > 1:
        built = windows(data.matrix, lookback)  # window i ends at row i + lookback - 1
        x_train, x_val = torch.tensor(built[train - lookback + 1]), torch.tensor(built[val - lookback + 1])
    else:
        x_train, x_val = torch.tensor(data.matrix[train]), torch.tensor(data.matrix[val])
    y_train, y_val = torch.tensor(data.labels[train]), torch.tensor(data.labels[val])
    # The regime model's own loss takes its return and volatility targets beside the class.
    e_train, e_val = (torch.tensor(np.stack([data.extras["ret"][i], data.extras["vol"][i]], 1)) for i in (train, val))
    loader = DataLoader(TensorDataset(x_train, y_train, e_train.float()), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    cross_entropy = nn.CrossEntropyLoss()
    if own_loss(model):

        def loss_fn(x: torch.Tensor, y: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
            return model.loss(x, y, {"ret": e[:, 0], "vol": e[:, 1]})[0]
    else:

        def loss_fn(x: torch.Tensor, y: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
            return cross_entropy(model(x), y)

    best = math.inf
    torch.manual_seed(SEED)  # the DataLoader's shuffle draws from the global generator
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        running = 0.0
        for xb, yb, eb in loader:
            xb, yb, eb = xb.to(dev), yb.to(dev), eb.to(dev)
            loss = loss_fn(xb, yb, eb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            val_loss = sum(
                loss_fn(
                    x_val[i : i + 4096].to(dev), y_val[i : i + 4096].to(dev), e_val[i : i + 4096].float().to(dev)
                ).item()
                * len(y_val[i : i + 4096])
                for i in range(0, len(y_val), 4096)
            ) / len(y_val)
        best = min(best, val_loss)
    seconds = time.perf_counter() - start
    begin = time.perf_counter()
    for xb, yb, eb in loader:
        xb.to(dev), yb.to(dev), eb.to(dev)
    input_cost = (time.perf_counter() - begin) / len(loader) * 1e6
    return Timing(seconds, best, input_cost, x_train.nbytes + x_val.nbytes)


STRATEGY_CHILD = """
import json, logging, sys, tempfile, time
logging.basicConfig(level=logging.ERROR)
from neurotrade._examples import resolve_strategy
from neurotrade.config import Strategy, load_strategy
from neurotrade.pipeline import run
spec = load_strategy(resolve_strategy(sys.argv[1]))
if spec.split.method == "walk_forward":
    spec = Strategy.model_validate({**spec.model_dump(), "split": {**spec.split.model_dump(), "folds": 3}})
home = tempfile.mkdtemp(prefix="nt-bench-run-")
started = time.perf_counter()
result = run(spec, home=home, progress=False)
seconds = time.perf_counter() - started
folds = result.metrics.get("folds", [])
losses = [min(h["val_loss"] for h in f["training"]["history"]) for f in folds if "training" in f]
mean = sum(losses) / len(losses) if losses else float("nan")
print(json.dumps({"seconds": seconds, "val_loss": mean, "folds": len(losses)}))
"""


def time_run(strategy: str, src: str) -> dict:
    """One whole run of an example strategy in a child process importing neurotrade from ``src``."""
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", STRATEGY_CHILD, strategy], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_runs(strategies: list[str], before: str | None, repeats: int) -> None:
    """Wall time of a whole 3-fold run of each strategy, on this checkout and (with ``before``) on another."""
    now = str(REPO / "src")
    print(f"whole runs (3 walk-forward folds), fastest of {repeats}, torch's default threads; load {load()}")
    print(f"{'strategy':<22}{'before s':>10}{'after s':>10}{'ratio':>8}{'val loss before':>17}{'after':>8}{'load':>6}")
    for strategy in strategies:
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(repeats):  # alternated, so a busy moment of the machine hits both alike
            if before:
                runs["before"].append(time_run(strategy, before))
            runs["after"].append(time_run(strategy, now))
        best = {
            k: min((r for r in v if "seconds" in r), key=lambda r: r["seconds"], default=None) for k, v in runs.items()
        }
        after, prior = best["after"], best["before"]
        if after is None:
            print(f"{strategy:<22}failed: {runs['after'][0]['error']}")
            continue
        if prior is None:
            print(f"{strategy:<22}{'':>10}{after['seconds']:>10.1f}{'':>8}{'':>17}{after['val_loss']:>8.4f}{load():>6}")
            continue
        ratio = prior["seconds"] / after["seconds"]
        print(
            f"{strategy:<22}{prior['seconds']:>10.1f}{after['seconds']:>10.1f}{ratio:>7.2f}x"
            f"{prior['val_loss']:>17.4f}{after['val_loss']:>8.4f}{load():>6}"
        )


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20_000, help="feature rows (bars after warm-up)")
    parser.add_argument("--models", default="all", help="comma-separated model types, or all the registered ones")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop; the fastest counts")
    parser.add_argument("--runs", action="store_true", help="time whole 3-fold runs of the example strategies")
    parser.add_argument("--strategies", default="all", help="with --runs: comma-separated example names")
    parser.add_argument("--before", default=None, help="with --runs: the src folder of the code to compare with")
    args = parser.parse_args()
    if args.runs:
        names = sorted(p.stem for p in (REPO / "strategies").glob("*.yaml"))
        bench_runs(names if args.strategies == "all" else args.strategies.split(","), args.before, args.repeats)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    data = make_data(args.samples)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, device "
        f"{select_device(args.device)}, {torch.get_num_threads()} CPU thread(s); {len(data.train)} training and "
        f"{len(data.val)} validation samples x {data.matrix.shape[1]} features, batch {BATCH}, {args.epochs} epochs; "
        f"load {load()}"
    )
    print(
        f"{'model':<12}{'ours/s':>10}{'plain/s':>10}{'ratio':>8}{'input us/batch':>17}{'input MB':>14}"
        f"{'best val ours':>15}{'plain':>8}{'diff':>8}"
    )
    registered = set(model_types())
    kinds = [k for k in MODEL_SPECS if k in registered] + sorted(registered - set(MODEL_SPECS))
    for kind in kinds if args.models == "all" else args.models.split(","):
        if kind in SKIPPED:
            print(f"{kind:<12}skipped: {SKIPPED[kind]}")
            continue
        if kind not in registered or kind not in MODEL_SPECS:
            print(f"{kind:<12}skipped: model type {kind!r} is not registered in this checkout or has no spec here")
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
        goal = GOAL_SPEED.get(kind, GOAL_SPEED_OTHER)
        diff = (ours.best_val_loss - plain.best_val_loss) / plain.best_val_loss
        print(
            f"{kind:<12}{samples / ours.seconds:>10,.0f}{samples / plain.seconds:>10,.0f}{ratio:>7.2f}x"
            f"{ours.input_us_per_batch:>8.1f} vs {plain.input_us_per_batch:<6.1f}"
            f"{ours.input_bytes / 1e6:>6.1f} vs {plain.input_bytes / 1e6:<5.1f}"
            f"{ours.best_val_loss:>15.4f}{plain.best_val_loss:>8.4f}{100 * diff:>7.2f}%"
            f"  goal {goal:g}x: {'met' if ratio >= goal else 'NOT met'}, loss: "
            f"{'met' if abs(diff) <= GOAL_LOSS else 'NOT met'}; load {load()}"
        )


if __name__ == "__main__":
    main()
