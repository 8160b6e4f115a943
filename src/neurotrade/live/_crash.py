"""A test hook: kill this process at a chosen point of a chosen step, as ``kill -9`` would.

``NEUROTRADE_PAPER_CRASH="SEQ:POINT[,SEQ:POINT ...]"`` makes a paper session SIGKILL itself when step ``SEQ`` (the
session's step number, counted from 1 over warm-up and trading steps) reaches ``POINT``: ``start`` (before
anything of the step is done), ``bars`` (mid-transaction: the bars written, nothing else), ``before_commit``
(everything written, not committed), ``after_commit`` (committed, not yet reported) or ``files`` (while the session
folder is being written at the end; ``SEQ`` is then the last step's). Nothing reads it unless it is set.
"""

from __future__ import annotations

import os
import signal

ENV = "NEUROTRADE_PAPER_CRASH"
POINTS = ("start", "bars", "before_commit", "after_commit", "files")


class CrashPoints:
    """The kill points this process was given (none, almost always).

    Examples
    --------
    >>> sorted(CrashPoints("12:bars,15:files").points)
    [(12, 'bars'), (15, 'files')]
    >>> CrashPoints(None).armed
    False
    """

    def __init__(self, spec: str | None = None) -> None:
        text = os.environ.get(ENV) if spec is None else spec
        self.points: set[tuple[int, str]] = set()
        for part in (text or "").split(","):
            if not part.strip():
                continue
            seq, _, point = part.strip().partition(":")
            if point not in POINTS:
                raise ValueError(f"{ENV}: unknown point {point!r} in {part!r}; use one of {', '.join(POINTS)}")
            self.points.add((int(seq), point))

    @property
    def armed(self) -> bool:
        return bool(self.points)

    def __call__(self, seq: int, point: str) -> None:
        if (seq, point) in self.points:
            os.kill(os.getpid(), signal.SIGKILL)

    def hooks(self, seq: int) -> dict:
        """The hooks a step's commit calls, for step ``seq``."""
        if not self.armed:
            return {}
        return {point: (lambda p=point: self(seq, p)) for point in ("bars", "before_commit", "after_commit")}
