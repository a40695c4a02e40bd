"""The meta-optimiser (``strategy="meta-optimizer"``) on held-out pools, with grouped folds.

Leave one task out would refit the learned update rule once per held-out pool (458
fits of seconds to a minute each). Instead the datasets (their duplicate groups, see
:mod:`.split`) are split into ``folds`` folds by a stable hash, and the rule used on a
held-out pool is trained on the past studies of the *other* folds only: the held-out
data is never in training, and the tasks of one space and fold share one fit (the
strategy keeps it cached). The warm start sees the usual leave-one-out past, as the
other methods' do; only the rule's training set is the smaller one (about 4/5 of it).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.samplers.base import Sampler, Suggestion
from jupyter_metahpo.trial import Origin

from .methods import task_description
from .pool import PoolTask
from .split import dataset_of, duplicate_groups

#: Variants of the rule's training, run only when named in ``--methods`` (``metaopt_choice.md``).
VARIANTS: dict[str, dict[str, Any]] = {
    "ours: meta-optimizer": {},
    "ours: meta-optimizer, no rollouts": {"rollouts": 0},
    "ours: meta-optimizer, 2 rollout rounds": {"rollouts": 2},
    "ours: meta-optimizer, temperature 0.03": {"temperature": 0.03},
    "ours: meta-optimizer, temperature 0.3": {"temperature": 0.3},
    "ours: meta-optimizer, mode objective": {"objective": "mode"},
    "ours: meta-optimizer, mode objective, no rollouts": {"objective": "mode", "rollouts": 0},
    "ours: meta-optimizer, drawn steps": {"proposal": "sample"},
    "ours: meta-optimizer, local targets 0.2": {"locality": 0.2},
    "ours: meta-optimizer, local targets 0.1": {"locality": 0.1},
    "ours: meta-optimizer, mode objective, drawn steps": {"objective": "mode", "proposal": "sample"},
}


#: Controls: the same warm start, then steps that were not learned (does learning the rule help?).
CONTROLS = ("ours: default warm start, then random search", "ours: default warm start, then fixed Gaussian steps")


def fold_of(group: str, folds: int) -> int:
    """The fold of a dataset group: a stable hash, the same in every process and run."""
    return zlib.crc32(group.encode()) % folds


def training_past(task: PoolTask, past: Sequence[PastStudy], folds: int) -> list[PastStudy]:
    """The past studies of the folds other than the held-out task's."""
    groups = duplicate_groups(past)
    held_out = fold_of(task.group, folds)
    return [s for s in past if fold_of(groups.get(dataset_of(s), dataset_of(s)), folds) != held_out]


def metaopt_sampler(
    strategy: Any,
    task: PoolTask,
    past: Sequence[PastStudy],
    seed: int,
    context: Callable[[PoolTask], Any],
    folds: int = 5,
):
    """What ``tune(strategy="meta-optimizer")`` builds, its rule trained on the other folds' studies.

    ``strategy`` is one :class:`MetaOptimizer` kept for the whole run (its cache holds a
    fit per space and fold); ``context`` is what ``tune`` knows of the held-out task.
    """
    from jupyter_metahpo.pipeline import Experience, warm_start_size
    from jupyter_metahpo.samplers.default import DefaultSampler
    from jupyter_metahpo.samplers.metaopt import MetaOptimizerSampler
    from jupyter_metahpo.samplers.warm_start import WarmStartSampler

    description = task_description(task)
    experience = Experience.of(task.space, past, context(task))
    training = Experience.of(task.space, training_past(task, past, folds), context(task))
    k = warm_start_size(task.space)
    warm = WarmStartSampler(strategy, list(experience.usable), description, k, seed,
                            report=experience.report, defaults=experience.defaults)
    refiner = MetaOptimizerSampler(strategy, list(training.usable), description, seed=seed)
    return DefaultSampler(seed=seed, n_initial=max(k, 2), warm_start=warm, refiner=refiner)


class FixedSteps(Sampler):
    """A control: ``incumbent + N(0, scale^2)`` in the unit cube, redrawn until untried (a hand-set local search)."""

    name = "fixed-steps"

    def __init__(self, seed: int, scale: float = 0.1) -> None:
        self.rng = np.random.default_rng(seed)
        self.scale = scale

    def suggest(self, history, n: int = 1):
        space = history.space
        complete = history.complete
        incumbent = space.encode([complete[int(np.argmax(history.scores(complete)))].config])[0]
        seen = space.encode(history.seen_configs())
        for _ in range(256):
            point = np.clip(incumbent + self.scale * self.rng.standard_normal(len(incumbent)), 0, 1)
            config = space.decode(point[None, :])[0]
            if not np.any(np.max(np.abs(seen - space.encode([config])[0]), axis=1) < 1e-9):
                break
        return [Suggestion(config, Origin("fixed-steps", f"incumbent + N(0, {self.scale}^2)"))]


def control_sampler(kind: str, task: PoolTask, past: Sequence[PastStudy], seed: int, context):
    """The default's warm start (as the meta-optimiser has it), then random search or fixed Gaussian steps."""
    from jupyter_metahpo.meta.strategies import DefaultStrategy
    from jupyter_metahpo.pipeline import Experience, warm_start_size
    from jupyter_metahpo.samplers.default import DefaultSampler
    from jupyter_metahpo.samplers.random import RandomSampler
    from jupyter_metahpo.samplers.warm_start import WarmStartSampler

    experience = Experience.of(task.space, past, context(task))
    k = warm_start_size(task.space)
    warm = WarmStartSampler(DefaultStrategy(seed=0), list(experience.usable), task_description(task), k, seed,
                            report=experience.report, defaults=experience.defaults)
    refiner = RandomSampler(seed) if kind == "random" else FixedSteps(seed)
    return DefaultSampler(seed=seed, n_initial=max(k, 2), warm_start=warm, refiner=refiner)


def metaopt_methods(
    include: set[str] | None, context: Callable[[PoolTask], Any], versions: Mapping[str, int], folds: int = 5
) -> list:
    """The meta-optimiser's method (and any variant named in ``include``), one strategy object each."""
    import functools

    from jupyter_metahpo.meta.metaopt import MetaOptimizer
    from jupyter_metahpo.meta.strategies import DefaultStrategy

    from .methods import OursWarm

    out = []
    for name, settings in VARIANTS.items():
        if name != "ours: meta-optimizer" and (include is None or name not in include):
            continue
        strategy = MetaOptimizer(warm_start=DefaultStrategy(seed=0), seed=0, **settings)
        strategy.cache_size = 64  # one fit per space and fold, reused by the fold's held-out tasks
        make = functools.partial(metaopt_sampler, context=context, folds=folds)
        out.append(OursWarm(name, make, strategy, version=versions.get(name, 1)))
    for name, kind in zip(CONTROLS, ("random", "fixed")):
        if include is not None and name in include:
            out.append(OursWarm(name, functools.partial(control_sampler, context=context), kind))
    return out
