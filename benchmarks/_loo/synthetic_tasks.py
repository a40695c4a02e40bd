"""Synthetic pools for checking the harness when the prior is not built yet (and for tests).

Every task of a :mod:`jupyter_metahpo.meta.synthetic` family is evaluated on one shared
pool of configurations (a scrambled Sobol sample), exactly as the prior evaluates a
shared pool per family on every dataset. Numbers on these pools say the harness
works; they are not the benchmark's result.
"""

from __future__ import annotations

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.synthetic import SYNTHETIC_FEATURE_SET, make_family, synthetic_space


def synthetic_pool_studies(kind: str = "related", n_tasks: int = 12, pool_size: int = 64, seed: int = 0) -> list[PastStudy]:
    import math

    from scipy.stats import qmc

    space = synthetic_space()
    unit = qmc.Sobol(d=len(space), scramble=True, seed=seed).random_base2(math.ceil(math.log2(pool_size)))[:pool_size]
    configs = space.decode(unit)
    encoded = space.encode(configs)
    studies = []
    for task in make_family(kind, n_tasks, seed):
        values = task.value_at_unit(encoded)
        studies.append(
            PastStudy.from_arrays(
                f"synthetic:{task.name}", task.name, space, "minimize", configs, [float(v) for v in values],
                meta_features=task.meta_features, meta_feature_set=SYNTHETIC_FEATURE_SET,
                data_fingerprint=f"fp-{task.name}", source="prior",
                extra={"dataset": task.name, "space_name": f"synthetic_{kind}", "family": f"synthetic_{kind}"},
            )
        )
    return studies
