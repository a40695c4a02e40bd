"""The default sampler: warm start (when given), a Sobol initial design, then GP refinement."""

from __future__ import annotations

import dataclasses

from .base import History, Sampler, Suggestion
from .gp import GPSampler
from .random import SobolSampler

__all__ = ["DefaultSampler", "default_n_initial"]


def default_n_initial(dim: int) -> int:
    """Initial design size: enough points to fit a GP's length scales, capped for small budgets.

    Two points per dimension, between 5 and 10 (Optuna's GPSampler also starts with
    10): with fewer, the first GP can lock onto a local basin
    (``benchmarks/results/samplers_notes.md``).
    """
    return max(5, min(10, 2 * dim))


class DefaultSampler(Sampler):
    """Warm-start suggestions first, then a scrambled Sobol design, then GP refinement.

    Parameters
    ----------
    seed:
        Seeds the Sobol design and the GP sampler.
    n_initial:
        Trials of the initial design (warm-start trials count towards it). Default
        :func:`default_n_initial` of the space's dimension.
    warm_start:
        A sampler whose ``suggest`` may return fewer than ``n`` suggestions (none once
        it has nothing more to offer); its suggestions come before anything else.
    refiner:
        The model-based sampler used after the initial design; by default
        :class:`~jupyter_metahpo.samplers.gp.GPSampler`, built on first use.
    """

    name = "default"

    def __init__(
        self,
        seed: int | None = None,
        n_initial: int | None = None,
        warm_start: Sampler | None = None,
        refiner: Sampler | None = None,
    ) -> None:
        if n_initial is not None and (not isinstance(n_initial, int) or n_initial < 1):
            raise ValueError(f"`n_initial` must be a positive integer, but got n_initial={n_initial!r}.")
        self.seed = seed
        self.n_initial = n_initial
        self.warm_start = warm_start
        self.initial = SobolSampler(seed)
        self._refiner = refiner

    @property
    def refiner(self) -> Sampler:
        if self._refiner is None:
            self._refiner = GPSampler(seed=self.seed)
        return self._refiner

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        out: list[Suggestion] = []
        if self.warm_start is not None:
            out.extend(self.warm_start.suggest(history, n)[:n])
        n_init = self.n_initial or default_n_initial(len(history.space))
        while len(out) < n:
            current = _with_pending(history, out)
            remaining = n - len(out)
            if len(current.complete) < 2:
                # Too little to model: keep spreading points evenly.
                out.extend(self.initial.suggest(current, remaining))
            elif current.n_taken < n_init:
                out.extend(self.initial.suggest(current, min(remaining, n_init - current.n_taken)))
            else:
                out.extend(self.refiner.suggest(current, remaining))
        return out

    def __repr__(self) -> str:
        return f"DefaultSampler(seed={self.seed!r}, n_initial={self.n_initial!r}, warm_start={self.warm_start!r})"


def _with_pending(history: History, extra: list[Suggestion]) -> History:
    if not extra:
        return history
    return dataclasses.replace(history, pending=history.pending + tuple(s.config for s in extra))
