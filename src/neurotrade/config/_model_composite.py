"""The ``model:`` sections of the composite networks: ensembles, the regime model, the neuro-fuzzy model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from neurotrade.config._base import DEFAULT_MAX_PARAMETERS, MaxParameters, Section
from neurotrade.config._model_specs import MLPSpec, _encoder_block, _linear


class FuzzyModelSpec(Section):
    """A learnable neuro-fuzzy model on feature rows whose strongest rules read as words.

    Each input gets ``sets_per_input`` ordered fuzzy sets (``low``, ``medium``, ``high`` ...; ``membership`` says
    their shape), placed at the training window's quantiles. ``rules`` rules each combine ``antecedents`` inputs,
    one set per input, drawn at random when the model is built (from the strategy's seed) and fixed afterwards;
    what is learned is where the sets sit, how wide they are, and which class each rule votes for.

    Examples
    --------
    >>> FuzzyModelSpec().sets_per_input, FuzzyModelSpec().rules, FuzzyModelSpec().membership
    (3, 32, 'gaussian')
    """

    type: Literal["fuzzy"] = "fuzzy"
    sets_per_input: Annotated[int, Field(ge=2, le=7)] = 3
    membership: Literal["gaussian", "triangular"] = "gaussian"
    rules: Annotated[int, Field(ge=1, le=4096)] = 32
    antecedents: Annotated[int, Field(ge=1, le=8)] = 2
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters on ``n_inputs`` features, counting all ``rules`` (fewer exist when the inputs
        and sets allow fewer distinct rules, so this is an upper bound).

        Examples
        --------
        >>> FuzzyModelSpec(rules=4).parameters(2, 3)  # centres 2 + 2 * 2 gaps, widths 2 * 3, 4 rules x 3 classes
        24
        """
        widths = n_inputs * self.sets_per_input if self.membership == "gaussian" else 0
        return n_inputs + n_inputs * (self.sets_per_input - 1) + widths + self.rules * n_classes


class RegimeSpec(Section):
    """A multi-task transformer over a window of the ``lookback`` feature rows ending at each bar, with a VAE
    regime module.

    The encoder (``d_model``, ``heads``, ``layers``, ``feed_forward`` as in the transformer model) summarises the
    window; a variational layer turns the summary into a ``latent_dim``-dimensional regime embedding z. Heads read
    it to predict the trade signal (from the summary and z), the forward return and the forward volatility (from
    z alone, so z has to describe the market's state). The loss is ``signal_weight`` x cross-entropy +
    ``return_weight`` x MSE of the return + ``volatility_weight`` x MSE of the log volatility + ``kl_weight`` x
    the KL divergence of z from a standard normal.

    Examples
    --------
    >>> RegimeSpec().lookback, RegimeSpec().latent_dim, RegimeSpec().kl_weight
    (30, 4, 0.01)
    """

    type: Literal["regime"] = "regime"
    lookback: Annotated[int, Field(ge=2, le=4096)] = 30
    d_model: Annotated[int, Field(ge=2, le=4096)] = 32
    heads: Annotated[int, Field(ge=1, le=64)] = 4
    layers: Annotated[int, Field(ge=1, le=24)] = 2
    feed_forward: Annotated[int, Field(ge=1, le=16_384)] = 64
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    latent_dim: Annotated[int, Field(ge=1, le=256)] = 4
    signal_weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
    return_weight: Annotated[float, Field(ge=0, le=1000)] = 0.5
    volatility_weight: Annotated[float, Field(ge=0, le=1000)] = 0.5
    kl_weight: Annotated[float, Field(ge=0, le=1000)] = 0.01
    # The regime-change score compares each bar's latent with the mean of the previous `change_window` ones, in
    # units of the same distance over the window before (so about 1 as usual, large at a change).
    change_window: Annotated[int, Field(ge=2, le=10_000)] = 50
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters of this network on ``n_inputs`` features.

        Examples
        --------
        >>> RegimeSpec(lookback=8, d_model=8, heads=2, layers=1, feed_forward=16, latent_dim=2).parameters(3, 3)
        1025
        """
        d, z = self.d_model, self.latent_dim
        encoder = _linear(n_inputs, d) + self.lookback * d + self.layers * _encoder_block(d, self.feed_forward)
        latent = 2 * d + 2 * _linear(2 * d, z)  # the final norm, then mean and log-variance from 2 * d_model
        heads = _linear(2 * d + z, d) + _linear(d, n_classes) + 2 * (_linear(z, d) + _linear(d, 1))
        return encoder + latent + heads

    @model_validator(mode="after")
    def _heads_divide_d_model(self) -> RegimeSpec:
        if self.d_model % self.heads:
            divisors = [h for h in range(1, 65) if self.d_model % h == 0]
            near = sorted(sorted(divisors, key=lambda h: abs(h - self.heads))[:2])
            raise ValueError(
                f"d_model {self.d_model} must be divisible by heads {self.heads} (each head gets d_model / heads "
                f"dimensions); use heads {' or '.join(map(str, near))}, or change d_model"
            )
        return self


class EnsembleSpec(Section):
    """Base models of any type, combined per sample by a learned weight predictor and a meta-learner.

    ``members`` are ``model:`` sections (``type`` may be left out for an MLP). Each member is trained alone first;
    then the members are frozen and the combiner is trained: a small net (``gate_hidden`` wide) reads the
    sample's latest feature row and weighs the members, and a linear meta-learner corrects the weighted vote.
    The ensemble reads windows when any member does, as long as the longest member's ``lookback``.

    Examples
    --------
    >>> [m.type for m in EnsembleSpec().members]
    ['mlp', 'fuzzy']
    >>> [m.type for m in EnsembleSpec(members=[{"hidden": [8]}, {"type": "lstm"}]).members]
    ['mlp', 'lstm']
    """

    type: Literal["ensemble"] = "ensemble"
    members: Annotated[list[ModelSpec], Field(min_length=2, max_length=16)] = [  # noqa: F821  resolved in _spec.py
        MLPSpec(hidden=[64, 32]),
        FuzzyModelSpec(),
    ]
    gate_hidden: Annotated[int, Field(ge=1, le=4096)] = 16
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_parameters: MaxParameters = DEFAULT_MAX_PARAMETERS

    def parameters(self, n_inputs: int, n_classes: int = 3) -> int:
        """Trainable parameters: every member's, the gate's and the meta-learner's.

        Examples
        --------
        >>> EnsembleSpec(members=[{"hidden": [8]}, {"hidden": [8]}], gate_hidden=4).parameters(4, 3)
        191
        """
        n = len(self.members)
        combiner = (
            _linear(n_inputs, self.gate_hidden) + _linear(self.gate_hidden, n) + _linear(n * n_classes + n, n_classes)
        )
        return sum(member.parameters(n_inputs, n_classes) for member in self.members) + combiner

    @field_validator("members", mode="before")
    @classmethod
    def _default_member_type(cls, members: Any) -> Any:
        """A member may leave out ``type``, as the top-level ``model:`` may: it is then an MLP."""
        if isinstance(members, list):
            return [{"type": "mlp", **m} if isinstance(m, dict) and "type" not in m else m for m in members]
        return members

    @field_validator("members")
    @classmethod
    def _flat(cls, members: list[Any]) -> list[Any]:
        for i, member in enumerate(members):
            if member.type == "ensemble":
                raise ValueError(f"member {i} is itself an ensemble; list its members directly in this one's `members`")
        return members
