"""The regime model: a multi-task transformer encoder with a VAE regime module.

A window of feature rows is encoded by a transformer; a variational layer turns the encoding into a small latent
regime embedding z (a mean and a log-variance, sampled by reparameterisation while training, the mean at
inference). Three heads read it:

- the trade signal: class logits, from the window's encoding and z;
- the expected return over the label's horizon, from z alone;
- the volatility over that horizon, from z alone (predicted as log volatility).

The return and volatility heads are the VAE's decoder: because they see only z, z must describe the market's
state (its drift and its turbulence), and the KL term keeps that description smooth and close to a standard
normal, so nearby regimes get nearby embeddings. The signal head sees z beside the encoding, so it can trade
differently in different regimes.

The regression targets are put on a common scale before their losses are taken: :meth:`RegimeModel.
fit_target_scale` stores the training window's mean and standard deviation of the return and of the log
volatility (as buffers, so they are saved with the weights), and the heads predict standardised values.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neurotrade.errors import ModelError
from neurotrade.models._registry import register_model

# The log-variance is clamped so that exp() neither overflows nor collapses while training is unsettled.
_LOGVAR_RANGE = (-10.0, 10.0)
# Realised volatility can be exactly 0 over a few flat bars; its log is floored here.
_MIN_VOL = 1e-8
TARGETS = ("ret", "vol")


class RegimeModel(nn.Module):
    """Transformer encoder -> VAE regime embedding -> signal, return and volatility heads.

    ``forward`` returns only the signal logits ``(B, C)``, so the model drops into anything that trains or scores
    a classifier; :meth:`loss` is the multi-task objective and :meth:`outputs` every head at once.

    Parameters
    ----------
    n_inputs, n_classes
        Feature columns per row, and classes.
    lookback
        Rows per window (the ``lookback`` rows ending at the sample's own bar).
    d_model, heads, layers, feed_forward, dropout
        The encoder: row embedding width, attention heads, pre-norm blocks, MLP width, dropout.
    latent_dim
        Size of the regime embedding z.
    signal_weight, return_weight, volatility_weight, kl_weight
        Weights of the cross-entropy, the return MSE, the log-volatility MSE and the KL term in :meth:`loss`.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = RegimeModel(n_inputs=3, n_classes=3, lookback=8, d_model=8, heads=2, layers=1, latent_dim=2)
    >>> x = torch.randn(5, 8, 3)  # (B, L, F)
    >>> net(x).shape, net.latent(x).shape
    (torch.Size([5, 3]), torch.Size([5, 2]))
    >>> total, parts = net.loss(x, torch.tensor([0, 1, 2, 1, 0]), {"ret": torch.zeros(5), "vol": torch.ones(5)})
    >>> sorted(parts)
    ['kl', 'ret', 'signal', 'vol']
    """

    input_kind = "windows"
    #: The extra outputs of :meth:`outputs` beside the logits (what inference and the ONNX export carry).
    heads = ("ret", "vol", "latent")

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        lookback: int = 30,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        feed_forward: int = 64,
        dropout: float = 0.1,
        latent_dim: int = 4,
        signal_weight: float = 1.0,
        return_weight: float = 0.5,
        volatility_weight: float = 0.5,
        kl_weight: float = 0.01,
    ) -> None:
        super().__init__()
        if d_model % heads:
            raise ModelError(f"d_model {d_model} must be divisible by heads {heads}")
        self.n_inputs, self.lookback, self.latent_dim = n_inputs, lookback, latent_dim
        self.loss_weights = {"signal": signal_weight, "ret": return_weight, "vol": volatility_weight, "kl": kl_weight}
        self.embed = nn.Linear(n_inputs, d_model)
        self.position = nn.Parameter(torch.randn(lookback, d_model) * 0.02)  # (L, D) learned positions
        self.drop = nn.Dropout(dropout)
        block = nn.TransformerEncoderLayer(
            d_model, heads, feed_forward, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        summary = 2 * d_model  # the last row's encoding beside the mean over the window
        self.to_mu = nn.Linear(summary, latent_dim)
        self.to_logvar = nn.Linear(summary, latent_dim)
        self.signal_head = nn.Sequential(
            nn.Linear(summary + latent_dim, d_model), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_model, n_classes)
        )
        self.return_head = nn.Sequential(nn.Linear(latent_dim, d_model), nn.GELU(), nn.Linear(d_model, 1))
        self.vol_head = nn.Sequential(nn.Linear(latent_dim, d_model), nn.GELU(), nn.Linear(d_model, 1))
        # mean and std of the return, then of the log volatility; identity until fit_target_scale is called
        self.register_buffer("target_scale", torch.tensor([0.0, 1.0, 0.0, 1.0]))

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.lookback or x.shape[2] != self.n_inputs:
            raise ModelError(
                f"the regime model reads windows of shape (batch, {self.lookback}, {self.n_inputs}), "
                f"got {tuple(x.shape)}"
            )
        h = self.drop(self.embed(x) + self.position)  # (B, L, D)
        h = self.norm(self.encoder(h))  # (B, L, D)
        return torch.cat([h[:, -1], h.mean(dim=1)], dim=1)  # (B, 2D)

    def _heads(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head, with the regression outputs still standardised (``ret_z``, ``logvol_z``)."""
        h = self._encode(x)  # (B, 2D)
        mu = self.to_mu(h)  # (B, Z)
        logvar = self.to_logvar(h).clamp(*_LOGVAR_RANGE)  # (B, Z)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu  # (B, Z)
        return {
            "logits": self.signal_head(torch.cat([h, z], dim=1)),  # (B, C)
            "ret_z": self.return_head(z).squeeze(1),  # (B,)
            "logvol_z": self.vol_head(z).squeeze(1),  # (B,)
            "mu": mu,
            "logvar": logvar,
            "z": z,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._heads(x)["logits"]  # (B, L, F) -> (B, C)

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head: ``logits (B, C)``, ``ret (B,)`` and ``vol (B,)`` (per bar) in the targets' own units, the
        regime embedding ``mu``, ``logvar``, ``z`` (each ``(B, latent_dim)``; ``z`` is sampled in train mode), and
        ``latent``: ``mu`` again, under the name :attr:`heads` gives it."""
        out = self._heads(x)
        ret_mean, ret_std, logvol_mean, logvol_std = self.target_scale
        return {
            "logits": out["logits"],
            "ret": out["ret_z"] * ret_std + ret_mean,  # (B,)
            "vol": torch.exp(out["logvol_z"] * logvol_std + logvol_mean),  # (B,)
            "mu": out["mu"],
            "logvar": out["logvar"],
            "z": out["z"],
            "latent": out["mu"],
        }

    def loss(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        extras: dict[str, torch.Tensor],
        class_weights: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The multi-task loss of a batch and its parts.

        ``total = signal_weight * CE(logits, y) + return_weight * MSE(ret) + volatility_weight * MSE(log vol)
        + kl_weight * KL``, where the two MSEs are taken on the standardised scale of :meth:`fit_target_scale`
        (volatility as its log, since it is positive and spans orders of magnitude), and KL is the divergence of
        ``N(mu, exp(logvar))`` from ``N(0, I)``, summed over the latent dimensions and averaged over the batch.

        Parameters
        ----------
        x, y
            Windows ``(B, L, F)`` and class indices ``(B,)``.
        extras
            ``"ret"``: each sample's forward return over its label's horizon, ``"vol"``: the realised volatility
            over it (both ``(B,)``); a target whose weight is 0 may be left out.
        class_weights
            Per-class weights of the cross-entropy, as the classifier trainer uses them.

        Returns
        -------
        total, parts
            The scalar to minimise, and its unweighted parts (``signal``, ``ret``, ``vol``, ``kl``) detached.
        """
        needed = [name for name in TARGETS if self.loss_weights[name] > 0 and name not in extras]
        if needed:
            raise ModelError(
                f"the regime model's loss needs the extra target(s) {needed} (got {sorted(extras)}); give them, "
                "or set their weight (return_weight, volatility_weight) to 0"
            )
        out = self._heads(x)
        # The losses are taken in float32 even under mixed precision: the targets are small numbers and the KL
        # squares the means.
        ret_mean, ret_std, logvol_mean, logvol_std = self.target_scale.float()
        parts = {"signal": F.cross_entropy(out["logits"].float(), y, weight=class_weights)}
        parts["ret"] = parts["vol"] = parts["signal"].new_zeros(())
        if self.loss_weights["ret"] > 0:
            ret_z = (extras["ret"].float() - ret_mean) / ret_std  # (B,)
            parts["ret"] = F.mse_loss(out["ret_z"].float(), ret_z)
        if self.loss_weights["vol"] > 0:
            log_vol_z = (torch.log(extras["vol"].float().clamp(min=_MIN_VOL)) - logvol_mean) / logvol_std  # (B,)
            parts["vol"] = F.mse_loss(out["logvol_z"].float(), log_vol_z)
        mu, logvar = out["mu"].float(), out["logvar"].float()  # (B, Z)
        parts["kl"] = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)).mean()
        total = sum(self.loss_weights[name] * part for name, part in parts.items())
        return total, {name: part.detach() for name, part in parts.items()}

    @torch.no_grad()
    def fit_target_scale(self, extras: dict[str, np.ndarray]) -> None:
        """Store the training window's mean and standard deviation of ``ret`` and of ``log(vol)``.

        Call it with the training rows' targets before training, so both regression losses are on the scale of
        the cross-entropy whatever the bar size; the scale is a buffer and is saved with the weights.

        Examples
        --------
        >>> _ = torch.manual_seed(0)
        >>> net = RegimeModel(2, 3, lookback=4, d_model=4, heads=1, layers=1)
        >>> net.fit_target_scale({"ret": np.array([-0.02, 0.0, 0.02]), "vol": np.array([0.01, 0.01, 0.01])})
        >>> [round(v, 4) for v in net.target_scale.tolist()]
        [0.0, 0.0163, -4.6052, 1.0]
        """
        scale = self.target_scale.detach().cpu().double().numpy().copy()
        for i, name in enumerate(TARGETS):
            if name not in extras:
                continue
            values = np.asarray(extras[name], dtype=np.float64)
            invalid = ~np.isfinite(values)
            if name == "vol":
                invalid |= values < 0
            bad = np.flatnonzero(invalid)
            if len(bad) or len(values) == 0:
                what = "is empty" if len(values) == 0 else f"has {values[bad[0]]} at row {bad[0]}"
                raise ModelError(
                    f"the regime model's {name!r} target {what}; it needs finite values"
                    + (" >= 0" if name == "vol" else "")
                    + " for every training row"
                )
            if name == "vol":
                values = np.log(np.maximum(values, _MIN_VOL))
            std = values.std()
            scale[2 * i : 2 * i + 2] = values.mean(), (std if std > 0 else 1.0)
        self.target_scale.copy_(torch.as_tensor(scale, dtype=self.target_scale.dtype))

    @torch.no_grad()
    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """The regime embedding of each window (the posterior mean, in eval mode): ``(B, latent_dim)``."""
        was_training = self.training
        self.eval()
        try:
            return self._heads(x)["mu"]  # (B, Z)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, in eval mode (no dropout, z at its mean)."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(x).double(), dim=-1)  # (B, C), float64 so rows sum to 1
        finally:
            self.train(was_training)


register_model(
    "regime",
    lambda spec, n_inputs, n_classes: RegimeModel(
        n_inputs,
        n_classes,
        lookback=spec.lookback,
        d_model=spec.d_model,
        heads=spec.heads,
        layers=spec.layers,
        feed_forward=spec.feed_forward,
        dropout=spec.dropout,
        latent_dim=spec.latent_dim,
        signal_weight=spec.signal_weight,
        return_weight=spec.return_weight,
        volatility_weight=spec.volatility_weight,
        kl_weight=spec.kl_weight,
    ),
)
