"""Which trials a GP is fitted on once a study is long: a subset of bounded size.

An exact GP's marginal likelihood costs one Cholesky factorisation of the ``n x n``
kernel matrix per evaluation, and a fit evaluates it tens to hundreds of times, so the
cost of a suggestion grows as ``n^3`` (a 2,000-trial study took ~36 s per suggestion and
890 MB). Past a point budget the samplers fit their GP on ``max_points`` chosen trials
instead; below it they see every trial, exactly as before, so a study shorter than the
budget proposes what it always did.

How the subset is chosen (:data:`SUBSET_RULES`):

* ``"best-spread"``: the best quarter of the budget by score and the newest trials
  (:func:`newest_count`), then the rest by greedy farthest-point selection (each next
  point is the one farthest from all chosen so far), so the model sees where the good
  results are, what its own last proposals gave, and still covers the space;
* ``"local"``: a trust region in the spirit of TuRBO (Eriksson et al. 2019): the three
  quarters of the budget nearest the incumbent, the newest trials, then
  farthest-point ones, so the model is dense where the search refines and still knows
  the space is poor elsewhere; the GP sampler then searches only the box those nearest
  points span (:func:`trust_region`), as TuRBO does: a GP dense in one spot and sparse
  elsewhere sent expected improvement far from the data;
* ``"random"``: a uniform draw, the control the other two must beat.

Why the newest trials: they are the sampler's own last proposals. A proposal that
turned out poor is neither among the best nor far from everything, so without them the
next subset dropped it and the model, not knowing it had been tried, proposed its
neighbourhood again: continuing 5,000-trial studies of the mixed space, the first four
proposals all went to one category the study had not tried near its optimum, ~0.1 worse
there, and the best of 12 proposals stayed at regret 0.10 (0.0000 with the 16 newest
kept; ``benchmarks/results/scale_suggest.md``).

Distances are the GP's own: squared differences divided by the squared length scales
of the last fit (when there is one), and a Hamming indicator on categorical columns,
so "near" and "spread" mean what they mean to the kernel. The choice is deterministic:
the same points and scores always give the same subset, and it keeps the trials in
their original order. Which rule is the samplers' default, and why, is written at
:data:`DEFAULT_SUBSET`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SUBSET_RULES", "DEFAULT_SUBSET", "check_subset_rule", "check_max_points", "choose_subset", "newest_count",
    "trust_region",
]

#: The rules :func:`choose_subset` knows.
SUBSET_RULES = ("best-spread", "local", "random")

#: The samplers' default rule. Continuing 500- to 5,000-trial studies on Hartmann6 and the
#: mixed space, it reached the lowest regret of the three at every size, at a similar
#: time per suggestion: "local" refines one basin more slowly (a smaller step per trial)
#: and "random" often drops the points near the incumbent (``python
#: benchmarks/bench_scale.py --part suggest``, ``benchmarks/results/scale_suggest.md``).
DEFAULT_SUBSET = "best-spread"

#: Share of the budget taken by the best points (``"best-spread"``) or by the points
#: farthest from the trust region (``"local"``, its global part).
_QUARTER = 4

#: The newest trials kept past the budget (at most a quarter of it). 16 and 32 gave the same
#: regret continuing 2,000- and 5,000-trial studies (``benchmarks/results/scale_suggest.md``).
NEWEST = 16


def newest_count(max_points: int) -> int:
    """How many of the newest trials the ``"best-spread"`` and ``"local"`` rules keep within ``max_points``."""
    return min(NEWEST, max_points // _QUARTER)


def check_subset_rule(subset: object) -> str:
    if subset not in SUBSET_RULES:
        raise ValueError(f"`subset` must be one of {list(SUBSET_RULES)}, but got subset={subset!r}.")
    return str(subset)


def check_max_points(max_points: object, minimum: int) -> int | None:
    """``max_points`` as an int (at least ``minimum``) or ``None`` (no budget)."""
    if max_points is None:
        return None
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < minimum:
        raise ValueError(
            f"`max_points` must be an integer >= {minimum} or None (no point budget), but got max_points={max_points!r}."
        )
    return int(max_points)


def choose_subset(
    X: np.ndarray,
    y: np.ndarray,
    max_points: int,
    rule: str = DEFAULT_SUBSET,
    *,
    categorical: np.ndarray | None = None,
    lengthscales: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Indices (ascending) of at most ``max_points`` rows of ``X`` (n, d) to fit a GP on.

    ``y`` (n,) are the scores, higher is better. Every index is returned when
    ``n <= max_points``. ``categorical`` (d,) marks the columns compared by Hamming
    distance; ``lengthscales`` (d,) scale the others (unit length scales when ``None``);
    ``order`` (n,) says when each row was tried (trial numbers; ``None``: the rows are in
    the order tried), for the newest trials kept.
    """
    n = len(X)
    if n <= max_points:
        return np.arange(n)
    weights = _inverse_square(lengthscales, X.shape[1])
    categorical = np.zeros(X.shape[1], dtype=bool) if categorical is None else np.asarray(categorical, dtype=bool)
    newest = _newest(n, order, newest_count(max_points))
    if rule == "best-spread":
        best = np.argsort(-y, kind="stable")[: max(1, max_points // _QUARTER)]
        chosen = _farthest_points(X, _together(best, newest), max_points, weights, categorical)
    elif rule == "local":
        near = _nearest_incumbent(X, y, max_points - max_points // _QUARTER, weights, categorical)
        chosen = _farthest_points(X, _together(near, newest), max_points, weights, categorical)
    elif rule == "random":
        # Seeded by the study's size, so the same history always gives the same subset.
        chosen = np.random.default_rng(n).choice(n, size=max_points, replace=False)
    else:
        raise ValueError(check_subset_rule(rule))
    return np.sort(chosen)


def trust_region(
    X: np.ndarray,
    y: np.ndarray,
    max_points: int,
    *,
    categorical: np.ndarray | None = None,
    lengthscales: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The box ``(lower (d,), upper (d,))`` around the incumbent that holds the ``"local"``
    rule's nearest points: where a GP fitted on that subset has data all around.

    Categorical columns are left whole (``[0, 1]``): their options have no order, so a
    box says nothing about them. With ``n <= max_points`` the box is the unit cube.
    """
    dim = X.shape[1]
    lower, upper = np.zeros(dim), np.ones(dim)
    if len(X) <= max_points:
        return lower, upper
    categorical = np.zeros(dim, dtype=bool) if categorical is None else np.asarray(categorical, dtype=bool)
    weights = _inverse_square(lengthscales, dim)
    local = X[_nearest_incumbent(X, y, max_points - max_points // _QUARTER, weights, categorical)]
    ordered = ~categorical
    lower[ordered], upper[ordered] = local[:, ordered].min(axis=0), local[:, ordered].max(axis=0)
    return lower, upper


def _newest(n: int, order: np.ndarray | None, count: int) -> np.ndarray:
    """Indices of the ``count`` rows tried last."""
    if order is None:
        return np.arange(n - count, n)
    return np.argsort(np.asarray(order), kind="stable")[n - count :]


def _together(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """``first`` and the indices of ``then`` not in it, in that order."""
    return np.concatenate([first, then[~np.isin(then, first)]]).astype(int)


def _nearest_incumbent(
    X: np.ndarray, y: np.ndarray, count: int, weights: np.ndarray, categorical: np.ndarray
) -> np.ndarray:
    """Indices of the ``count`` points nearest the best one (which is among them)."""
    distance = _sq_distance(X, X[int(np.argmax(y))], weights, categorical)
    return np.argsort(distance, kind="stable")[:count]


def _inverse_square(lengthscales: np.ndarray | None, dim: int) -> np.ndarray:
    if lengthscales is None:
        return np.ones(dim)
    return 1.0 / np.asarray(lengthscales, dtype=float) ** 2


def _sq_distance(X: np.ndarray, point: np.ndarray, weights: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """Scaled squared distances (n,) from each row of ``X`` to ``point``, as the GP kernels measure them."""
    sq = (X - point) ** 2
    if categorical.any():
        sq[:, categorical] = (sq[:, categorical] > 0).astype(float)
    return sq @ weights


def _farthest_points(
    X: np.ndarray, seeds: np.ndarray, size: int, weights: np.ndarray, categorical: np.ndarray
) -> np.ndarray:
    """``seeds`` plus greedy farthest-point picks until there are ``size`` indices.

    Costs ``O(n * size * d)``: one distance row per pick, no ``n x n`` matrix.
    """
    chosen = list(int(i) for i in seeds)
    nearest = np.full(len(X), np.inf)
    for i in chosen:
        nearest = np.minimum(nearest, _sq_distance(X, X[i], weights, categorical))
    nearest[chosen] = -1.0
    while len(chosen) < size:
        # Chosen points are marked -1; duplicates of them sit at 0, so they are picked
        # only once every distinct point is in.
        pick = int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, _sq_distance(X, X[pick], weights, categorical))
        nearest[pick] = -1.0
    return np.array(chosen, dtype=int)
