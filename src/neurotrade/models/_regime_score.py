"""The regime-change score: how far the current regime embedding sits from the recent regime.

For latents ``z_t`` (the regime model's posterior means, one per bar) and a window ``w``:

- ``m_t = mean(z_{t-w}, ..., z_{t-1})``: the recent regime, from the ``w`` previous latents only;
- ``d_t = ||z_t - m_t||`` (Euclidean): the current latent's distance from it;
- ``score_t = d_t / sqrt(mean(d_{t-w}^2, ..., d_{t-1}^2))``: that distance in units of its own recent typical
  size (a root mean square), so about 1 while the regime holds and large at a change, whatever the scale of the
  latent space.

``score_t`` is NaN until there are ``w`` previous distances (the first ``2 * w`` bars), and where the
denominator is 0 (a latent that did not move for ``2 * w`` bars). Everything at ``t`` uses ``z_t`` and earlier
latents only, so the score is known at the bar's close. The batch function runs the streaming one, so the two
agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from neurotrade.errors import ModelError


class RegimeChangeScore:
    """The regime-change score of a stream of latents, one bar at a time (see the module docstring).

    Parameters
    ----------
    window
        How many previous latents make the recent regime, and how many previous distances its typical size.

    Examples
    --------
    >>> score = RegimeChangeScore(window=2)
    >>> [round(score.update([v, 0.0]), 3) for v in (0.0, 1.0, 0.0, 1.0, 0.0, 5.0)]
    [nan, nan, nan, nan, 1.0, 9.0]
    """

    def __init__(self, window: int) -> None:
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
            raise ModelError(f"the regime-change window must be a whole number of bars >= 1, got {window!r}")
        self.window = int(window)
        self._latents: np.ndarray | None = None  # (w, Z), oldest first
        self._distances = np.empty(self.window)  # (w,), oldest first
        self._seen = 0  # latents so far
        self._measured = 0  # distances so far

    def update(self, z: np.ndarray | list[float]) -> float:
        """Take the next bar's latent ``(Z,)`` and return its score (NaN while the history is too short)."""
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 1 or len(z) == 0:
            raise ModelError(f"update takes one latent vector (Z,), got shape {z.shape}")
        if not np.isfinite(z).all():
            raise ModelError(f"the latent {z.tolist()} is not finite; the regime-change score needs finite latents")
        if self._latents is None:
            self._latents = np.empty((self.window, len(z)))
        elif len(z) != self._latents.shape[1]:
            raise ModelError(f"latents had {self._latents.shape[1]} dimensions, this one has {len(z)}")
        score = math.nan
        if self._seen >= self.window:
            distance = float(np.sqrt(np.sum((z - self._latents.mean(axis=0)) ** 2)))
            if self._measured >= self.window:
                typical = math.sqrt(float(np.mean(self._distances**2)))
                score = distance / typical if typical > 0 else math.nan
            self._distances[:-1] = self._distances[1:]
            self._distances[-1] = distance
            self._measured += 1
        self._latents[:-1] = self._latents[1:]
        self._latents[-1] = z
        self._seen += 1
        return score


def regime_change_score(latents: np.ndarray, window: int) -> np.ndarray:
    """The regime-change score of every bar of a latent series (see the module docstring).

    Parameters
    ----------
    latents
        ``(T, Z)``: one regime embedding per bar, oldest first (e.g. ``predict_outputs(...)["latent"]``).
    window
        As in :class:`RegimeChangeScore`.

    Returns
    -------
    ``(T,)`` float64 array; NaN for the first ``2 * window`` bars. Equal bit for bit to feeding the rows to
    :meth:`RegimeChangeScore.update` in order.

    Examples
    --------
    >>> z = np.zeros((8, 2)); z[1::2, 0] = 1.0; z[7] = [5.0, 5.0]
    >>> regime_change_score(z, window=2).round(2).tolist()
    [nan, nan, nan, nan, 1.0, 1.0, 1.0, 13.45]
    """
    latents = np.asarray(latents, dtype=np.float64)
    if latents.ndim != 2:
        raise ModelError(f"regime_change_score takes latents of shape (T, Z), got {latents.shape}")
    stream = RegimeChangeScore(window)
    return np.array([stream.update(z) for z in latents], dtype=np.float64)
