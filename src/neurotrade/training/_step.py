"""The CPU training step without what is not compute: a thread count that fits the step, Adam's fused kernel called
straight, gradient clipping in a handful of foreach ops.

Measured on 2 cores (issue 15, ``benchmarks/training.py``; ``docs/architecture.md`` has the numbers):

- **Threads.** The networks of the example strategies take a few milliseconds a step at batch 64, split into
  operations of a few microseconds each. Sharing such an operation between OpenMP threads costs more than it saves,
  and when other processes hold the cores (a shared machine, ``run --workers``, parallel trials) the threads
  spin-waiting for each other made every step 4-12 times slower than on one thread (an LSTM step 33 ms on 2
  threads against 5.5 ms on 1, a transformer's 102 ms against 25 ms). So a step whose forward pass is below
  :data:`ONE_THREAD_WORK` multiply-adds runs on one thread; a larger one keeps the process's threads. The choice
  depends on the network and the batch alone, never on a timing, so two runs of one spec still train on the same
  thread count (a training's floats depend on it) whatever the process's own count.
- **Optimizer.** ``Optimizer.step`` spends ~0.5 ms of Python a step (hooks, profiler records, grouping the tensors
  by device) around a fused Adam kernel that takes ~0.05 ms for these networks. :class:`FusedAdamStep` calls the
  same kernel with the same arguments on the optimizer's own state, so the weights are bit for bit those of
  ``optimizer.step()`` and a checkpoint still saves ``optimizer.state_dict()``.
- **Clipping.** :func:`clip_grad_norm` computes what ``torch.nn.utils.clip_grad_norm_`` does, with the same ops in
  the same order, without its per-call grouping.

Left out, measured: ``torch.compile`` of the model on the CPU (torch 2.13, one thread, batch 32): the transformer
took 79 s to compile and then stepped slower than eager (22 ms against 10 ms), the LSTM (oneDNN's RNN, which the
compiler leaves to eager) 2.6 ms against 2.2 ms, so a run of the example strategies would only lose time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

#: Forward multiply-adds of one step (weights x samples per batch x rows per sample) under which training runs on
#: one thread. The example strategies' networks are 1-40 M; a transformer of width 128 over 64 rows at batch 64
#: (~1 G) keeps every thread.
ONE_THREAD_WORK = 2**26


def step_threads(model: nn.Module, batch_size: int, lookback: int, device: torch.device) -> int:
    """The intra-op threads a CPU training of ``model`` runs on: 1 for a small step, else torch's current count.

    The work of a step is estimated as the model's weights (frozen ones included: they still run forward) times
    the samples of a batch times the rows each reads; it is exact for an MLP and within a small factor for the
    sequence models. Off the CPU the count is left as it is.

    Examples
    --------
    >>> step_threads(nn.Linear(36, 3), 64, 1, torch.device("cpu"))
    1
    >>> step_threads(nn.Linear(4096, 4096), 512, 1, torch.device("cpu")) == torch.get_num_threads()
    True
    """
    current = torch.get_num_threads()
    if device.type != "cpu":
        return current
    work = sum(p.numel() for p in model.parameters()) * batch_size * lookback
    return 1 if work < ONE_THREAD_WORK else current


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block on ``threads`` intra-op threads, then put torch's count back as it was.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    if threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class FusedAdamStep:
    """``optimizer.step()`` of a fused Adam or AdamW, as one call of its kernel on the optimizer's own state.

    A step falls back to ``optimizer.step()`` itself whenever the shortcut would not do exactly what it does: the
    first step (torch creates the state), a parameter without a gradient (torch skips it), or an optimizer other
    than a one-group fused Adam/AdamW without amsgrad (:attr:`eligible` is then false and every step falls back).

    Examples
    --------
    >>> net = nn.Linear(3, 2)
    >>> stepper = FusedAdamStep(torch.optim.Adam(net.parameters(), fused=True))
    >>> net(torch.ones(1, 3)).sum().backward(); stepper.step()
    >>> stepper.eligible, int(stepper.optimizer.state[net.weight]["step"])
    (True, 1)
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        groups = optimizer.param_groups
        group = groups[0]
        self.eligible = (
            type(optimizer) in (torch.optim.Adam, torch.optim.AdamW)
            and len(groups) == 1
            and bool(group.get("fused"))
            and not group["amsgrad"]
            and not group["maximize"]
            and not group["capturable"]
            and not group["differentiable"]
            and not isinstance(group["lr"], torch.Tensor)
            and len({(p.device, p.dtype) for p in group["params"]}) == 1
        )
        if self.eligible:
            self.kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_

    def step(self) -> None:
        """One optimizer step; the gradients must be in place (and clipped) already."""
        if not self.eligible:
            self.optimizer.step()
            return
        group = self.optimizer.param_groups[0]
        params = group["params"]
        grads = [p.grad for p in params]
        states = [self.optimizer.state.get(p) for p in params]
        if any(g is None for g in grads) or any(not s for s in states):
            self.optimizer.step()
            return
        steps = [s["step"] for s in states]
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1)
        self.kernel(
            params,
            grads,
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [],
            steps,
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )


@torch.no_grad()
def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    """Scale the gradients of ``params`` so that their global L2 norm is at most ``max_norm``.

    The same values as ``torch.nn.utils.clip_grad_norm_(params, max_norm)``: per-tensor norms, their norm, the
    coefficient ``min(max_norm / (norm + 1e-6), 1)``, computed with the same ops.

    Examples
    --------
    >>> w = nn.Parameter(torch.zeros(2)); w.grad = torch.tensor([3.0, 4.0])
    >>> clip_grad_norm([w], 1.0); [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)  # ()
    torch._foreach_mul_(grads, torch.clamp(float(max_norm) / (total + 1e-6), max=1.0))
