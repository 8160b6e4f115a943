"""The learnable neuro-fuzzy model whose strongest rules read as words.

A zero-order Takagi-Sugeno system. Each input feature has ``K`` fuzzy sets whose centres are kept in order by
construction: the first centre plus a cumulative sum of positive increments (softplus plus a small floor), so no
learning rate can make ``low`` overtake ``medium``. A rule is an AND of one set on each of a few inputs; its firing
strength is the product of those memberships, taken as a sum of logs so that many small memberships never
underflow to zero. Strengths are normalised over the rules (a softmax of the log strengths), and the class logits
are the strength-weighted mean of each rule's own logits (its consequent).

Which inputs and sets a rule reads is drawn once, when the model is built, from a generator seeded by torch's
global generator (so ``seed_everything`` decides it) and kept as buffers, so a saved model reloads with its rules.
Learned are the centres, the widths (gaussian sets) and the consequents.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neurotrade.errors import ModelError
from neurotrade.models._registry import register_model

SET_NAMES: dict[int, tuple[str, ...]] = {
    2: ("low", "high"),
    3: ("low", "medium", "high"),
    4: ("very low", "low", "high", "very high"),
    5: ("very low", "low", "medium", "high", "very high"),
    6: ("extremely low", "very low", "low", "high", "very high", "extremely high"),
    7: ("extremely low", "very low", "low", "medium", "high", "very high", "extremely high"),
}

# Floors in the units of the (scaled) features: centres never closer than _MIN_GAP, even where softplus underflows
# to 0 in float32, and gaussian widths never below _MIN_WIDTH, so the order is strict and no division blows up.
_MIN_GAP = 1e-3
_MIN_WIDTH = 1e-3
# A triangular membership is 0 outside its support; its log is floored here, so a rule off its support still
# has a finite (very small) strength and the normalisation never divides 0 by 0.
_LOG_FLOOR = math.log(1e-6)
# The gaussian width that makes neighbouring sets cross at membership 0.5: half the gap is sigma * sqrt(2 ln 2).
_HALF_CROSSING = 2.0 * math.sqrt(2.0 * math.log(2.0))


class NeuroFuzzy(nn.Module):
    """Fuzzy sets on each input, a sparse set of AND rules over them, and one vote per rule.

    Parameters
    ----------
    n_inputs, n_classes
        Feature columns in, class logits out.
    sets_per_input
        Ordered sets per input, named by order (``low``/``medium``/``high`` for 3; see ``SET_NAMES``).
    membership
        ``"gaussian"`` (learned centre and width) or ``"triangular"`` (a partition: each set peaks at its centre
        and reaches 0 at its neighbours' centres; the outer sets stay at 1 beyond their centres).
    rules
        How many rules; when fewer distinct rules exist, every one of them is used.
    antecedents
        Inputs per rule (each with one of its sets).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = NeuroFuzzy(n_inputs=4, n_classes=3, rules=6)
    >>> net(torch.zeros(2, 4)).shape, net.boundaries().shape
    (torch.Size([2, 3]), torch.Size([4, 3]))
    >>> net.rules_text(["a", "b", "c", "d"], ["SELL", "HOLD", "BUY"], top=1)[0]  # doctest: +ELLIPSIS
    'IF ... THEN SELL (0.33)'
    """

    input_kind = "rows"
    lookback = 1

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        sets_per_input: int = 3,
        membership: str = "gaussian",
        rules: int = 32,
        antecedents: int = 2,
    ) -> None:
        super().__init__()
        if sets_per_input not in SET_NAMES:
            raise ModelError(f"sets_per_input must be from 2 to 7, got {sets_per_input}")
        if membership not in ("gaussian", "triangular"):
            raise ModelError(f"membership must be 'gaussian' or 'triangular', got {membership!r}")
        if not 1 <= antecedents <= n_inputs:
            raise ModelError(
                f"model.antecedents is {antecedents} but the model has {n_inputs} input feature(s); "
                f"use antecedents from 1 to {n_inputs}, or give the model more inputs"
            )
        self.n_inputs, self.n_classes, self.sets, self.membership = n_inputs, n_classes, sets_per_input, membership
        self.first = nn.Parameter(torch.zeros(n_inputs))  # (F,) the lowest centre of each input
        self.raw_gaps = nn.Parameter(torch.zeros(n_inputs, sets_per_input - 1))  # (F, K-1) before softplus
        self.raw_widths = (
            nn.Parameter(torch.zeros(n_inputs, sets_per_input)) if membership == "gaussian" else None
        )  # (F, K) before softplus
        # Until init_from sees the training window, the sets sit at a standard normal's quantiles, which is where
        # the quantiles of standardised features are.
        levels = [NormalDist().inv_cdf((k + 0.5) / sets_per_input) for k in range(sets_per_input)]
        self._place(np.tile(levels, (n_inputs, 1)))
        seed = int(torch.randint(0, 2**62, (1,)).item())  # from torch's global generator: seed_everything decides
        inputs, sets = _draw_rules(n_inputs, sets_per_input, rules, antecedents, np.random.default_rng(seed))
        self.register_buffer("rule_inputs", torch.as_tensor(inputs, dtype=torch.long))  # (R, A)
        self.register_buffer("rule_sets", torch.as_tensor(sets, dtype=torch.long))  # (R, A)
        self.consequents = nn.Parameter(torch.zeros(len(inputs), n_classes))  # (R, C) each rule's logits

    def centres(self) -> torch.Tensor:
        """The sets' centres, increasing along each row by construction (differentiable)."""
        gaps = F.softplus(self.raw_gaps) + _MIN_GAP  # (F, K-1), every gap > 0
        offsets = torch.cat([torch.zeros_like(self.first)[:, None], gaps.cumsum(dim=1)], dim=1)  # (F, K)
        return self.first[:, None] + offsets  # (F, K)

    def log_memberships(self, x: torch.Tensor) -> torch.Tensor:
        """``log`` of every input's membership in each of its sets: ``(B, F)`` -> ``(B, F, K)``."""
        c = self.centres()  # (F, K)
        xs = x[:, :, None]  # (B, F, 1)
        if self.raw_widths is not None:
            sigma = F.softplus(self.raw_widths) + _MIN_WIDTH  # (F, K)
            return -0.5 * ((xs - c) / sigma) ** 2  # (B, F, K)
        ones = torch.ones_like(xs)  # (B, F, 1)
        rising = torch.cat([ones, (xs - c[:, :-1]) / (c[:, 1:] - c[:, :-1])], dim=2)  # (B, F, K), first set: 1
        falling = torch.cat([(c[:, 1:] - xs) / (c[:, 1:] - c[:, :-1]), ones], dim=2)  # (B, F, K), last set: 1
        mu = torch.minimum(rising, falling).clamp(max=1.0)  # (B, F, K)
        return torch.log(mu.clamp(min=math.exp(_LOG_FLOOR)))  # (B, F, K)

    def firing(self, x: torch.Tensor) -> torch.Tensor:
        """Each rule's normalised firing strength: ``(B, F)`` -> ``(B, R)``, rows summing to 1."""
        log_mu = self.log_memberships(x).flatten(1)  # (B, F * K)
        index = self.rule_inputs * self.sets + self.rule_sets  # (R, A) positions in the flattened memberships
        log_strength = log_mu[:, index].sum(dim=2)  # (B, R, A) -> (B, R): the AND of the antecedents
        return torch.softmax(log_strength, dim=1)  # (B, R)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.firing(x) @ self.consequents  # (B, R) @ (R, C) -> (B, C)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, in float64 so rows sum to 1."""
        return torch.softmax(self(x).double(), dim=-1)  # (B, C)

    @torch.no_grad()
    def boundaries(self) -> torch.Tensor:
        """The centres of every input's sets, ``(inputs, sets)``, increasing along each row.

        Examples
        --------
        >>> _ = torch.manual_seed(0)
        >>> net = NeuroFuzzy(2, 3)
        >>> bool((net.boundaries().diff(dim=1) > 0).all())
        True
        """
        return self.centres().detach().clone()

    @torch.no_grad()
    def init_from(self, x_train: np.ndarray) -> None:
        """Place each input's sets at quantiles of the training window (call before training).

        The centres go to the quantiles ``(k + 0.5) / K`` of each column, so every set covers about as many
        training rows; gaps narrower than a quarter of the column's standard deviation are widened to it (a
        feature that is mostly one value would otherwise stack its sets on top of each other). Gaussian widths
        make neighbouring sets cross at membership 0.5. The rules and consequents are left as they are.

        Examples
        --------
        >>> _ = torch.manual_seed(0)
        >>> net = NeuroFuzzy(1, 2, antecedents=1)
        >>> net.init_from(np.arange(600.0)[:, None])
        >>> [round(c) for c in net.boundaries()[0].tolist()]
        [100, 300, 499]
        """
        x = np.asarray(x_train, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs or len(x) == 0:
            raise ModelError(
                f"init_from needs the training rows as a (rows, {self.n_inputs}) array, got shape {x.shape}"
            )
        bad = np.argwhere(~np.isfinite(x))
        if len(bad):
            row, col = bad[0]
            raise ModelError(
                f"init_from got a non-finite value at row {row}, column {col} of the training rows; "
                "drop or repair those rows before training"
            )
        levels = (np.arange(self.sets) + 0.5) / self.sets
        quantiles = np.quantile(x, levels, axis=0).T  # (F, K)
        floor = np.maximum(0.25 * x.std(axis=0), 4 * _MIN_GAP)[:, None]  # (F, 1)
        gaps = np.maximum(np.diff(quantiles, axis=1), floor)  # (F, K-1)
        self._place(quantiles[:, :1] + np.concatenate([np.zeros_like(floor), gaps.cumsum(axis=1)], axis=1))

    def _place(self, centres: np.ndarray) -> None:
        """Set the parameters so that :meth:`centres` returns ``centres`` ``(F, K)`` (gaps above the floor)."""
        gaps = np.diff(centres, axis=1)  # (F, K-1)
        with torch.no_grad():
            self.first.copy_(torch.as_tensor(centres[:, 0], dtype=torch.float32))
            self.raw_gaps.copy_(torch.as_tensor(_softplus_inverse(gaps - _MIN_GAP), dtype=torch.float32))
            if self.raw_widths is not None:
                # Each set's width comes from the gaps on either side of it (the outer sets have one).
                padded = np.concatenate([gaps[:, :1], gaps, gaps[:, -1:]], axis=1)  # (F, K+1)
                sigma = (padded[:, :-1] + padded[:, 1:]) / 2 / _HALF_CROSSING  # (F, K)
                self.raw_widths.copy_(torch.as_tensor(_softplus_inverse(sigma - _MIN_WIDTH), dtype=torch.float32))

    @torch.no_grad()
    def rules_text(
        self,
        feature_names: Sequence[str],
        class_names: Sequence[str],
        top: int = 10,
        x: torch.Tensor | None = None,
    ) -> list[str]:
        """The ``top`` strongest rules in words: ``IF rsi is low AND adx is high THEN BUY (0.62)``.

        The number is the probability the rule's own vote gives its class. Rules are ranked by that probability,
        or, given rows ``x``, by that probability times the rule's mean normalised firing strength on them (a
        confident rule that never fires says little about the data).

        Examples
        --------
        >>> _ = torch.manual_seed(0)
        >>> net = NeuroFuzzy(2, 2, sets_per_input=2, rules=4, antecedents=1)
        >>> with torch.no_grad():
        ...     _ = net.consequents.copy_(torch.tensor([[0.0, 2.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))
        >>> net.rules_text(["rsi", "adx"], ["SELL", "BUY"], top=2)
        ['IF rsi is high THEN BUY (0.88)', 'IF rsi is low THEN SELL (0.73)']
        """
        if len(feature_names) != self.n_inputs:
            raise ModelError(f"rules_text needs {self.n_inputs} feature names, got {len(feature_names)}")
        if len(class_names) != self.n_classes:
            raise ModelError(f"rules_text needs {self.n_classes} class names, got {len(class_names)}")
        proba = torch.softmax(self.consequents.double(), dim=1)  # (R, C)
        confidence, winner = proba.max(dim=1)  # (R,), (R,)
        score = confidence
        if x is not None:
            score = confidence * self.firing(x.to(self.first.device, torch.float32)).double().mean(dim=0).cpu()
        order = sorted(range(len(score)), key=lambda r: (-float(score[r]), r))[: max(top, 0)]
        names = SET_NAMES[self.sets]
        lines = []
        for r in order:
            terms = " AND ".join(
                f"{feature_names[i]} is {names[s]}"
                for i, s in zip(self.rule_inputs[r].tolist(), self.rule_sets[r].tolist(), strict=True)
            )
            lines.append(f"IF {terms} THEN {class_names[int(winner[r])]} ({float(confidence[r]):.2f})")
        return lines


def _softplus_inverse(y: np.ndarray) -> np.ndarray:
    """``log(exp(y) - 1)``, written so that large ``y`` does not overflow."""
    y = np.maximum(y, 1e-6)
    return y + np.log(-np.expm1(-y))


def _draw_rules(
    n_inputs: int, sets: int, rules: int, antecedents: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``rules`` distinct rules as (inputs, sets), each ``(R, A)``, inputs increasing within a rule.

    When the distinct rules are few (up to four times ``rules``) they are all listed and a random subset taken,
    so small problems get every rule; otherwise rules are drawn at random and repeats redrawn.
    """
    distinct = math.comb(n_inputs, antecedents) * sets**antecedents
    chosen: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    if distinct <= 4 * rules:
        every = [
            (inputs, combo)
            for inputs in itertools.combinations(range(n_inputs), antecedents)
            for combo in itertools.product(range(sets), repeat=antecedents)
        ]
        chosen = [every[i] for i in rng.permutation(len(every))[:rules]]
    else:
        seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
        while len(chosen) < rules:
            inputs = tuple(sorted(rng.choice(n_inputs, size=antecedents, replace=False).tolist()))
            combo = tuple(rng.integers(0, sets, size=antecedents).tolist())
            if (inputs, combo) not in seen:
                seen.add((inputs, combo))
                chosen.append((inputs, combo))
    inputs_array = np.array([c[0] for c in chosen], dtype=np.int64).reshape(len(chosen), antecedents)
    sets_array = np.array([c[1] for c in chosen], dtype=np.int64).reshape(len(chosen), antecedents)
    return inputs_array, sets_array


register_model(
    "fuzzy",
    lambda spec, n_inputs, n_classes: NeuroFuzzy(
        n_inputs, n_classes, spec.sets_per_input, spec.membership, spec.rules, spec.antecedents
    ),
)
