"""Samplers that ignore the history: plain random search and a scrambled Sobol design."""

from __future__ import annotations

import numpy as np

from .._imports import LazyImport
from ..trial import Origin
from .base import History, Sampler, Suggestion

# scipy.stats takes a few tenths of a second to import: loaded at the first Sobol draw.
qmc = LazyImport("scipy.stats.qmc", install="pip install scipy")

__all__ = ["RandomSampler", "SobolSampler"]


class RandomSampler(Sampler):
    """Independent draws from each parameter's prior."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        unit = self._rng.random((n, len(history.space)))
        origin = Origin(self.name, "drawn at random from the search space")
        return [Suggestion(config, origin) for config in history.space.decode(unit)]

    def __repr__(self) -> str:
        return f"RandomSampler(seed={self.seed!r})"


class SobolSampler(Sampler):
    """A scrambled Sobol sequence: an initial design that covers the space evenly.

    Points are taken from the sequence in order, continuing where the study left
    off (finished plus pending trials), so a resumed study does not repeat them.
    """

    name = "sobol"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._points: np.ndarray | None = None
        self._dim: int | None = None

    def _sequence(self, dim: int, upto: int) -> np.ndarray:
        if self._points is None or self._dim != dim or len(self._points) < upto:
            size = 1 << max(int(np.ceil(np.log2(max(upto, 2)))), 4)
            engine = qmc.Sobol(d=dim, scramble=True, seed=self.seed)
            self._points = engine.random(size)
            self._dim = dim
        return self._points

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        # A point equal to a configuration already tried or running is skipped: a warm
        # start from a past study that used the same Sobol seed would otherwise be re-run.
        seen = {_key(config) for config in history.seen_configs()}
        start = history.n_taken
        upto = start + n + len(seen)
        points = self._sequence(len(history.space), upto)[start:upto]
        origin = Origin(self.name, "initial design: a scrambled Sobol point that spreads trials evenly")
        fresh, repeats = [], []
        for config in history.space.decode(points):
            (repeats if _key(config) in seen else fresh).append(config)
            seen.add(_key(config))
            if len(fresh) == n:
                break
        # A small discrete space can run out of new configurations: repeat rather than stall.
        return [Suggestion(config, origin) for config in (fresh + repeats)[:n]]

    def __repr__(self) -> str:
        return f"SobolSampler(seed={self.seed!r})"


def _key(config) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in dict(config).items()))
