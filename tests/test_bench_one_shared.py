"""The one-shared-parameter benchmark (benchmarks/bench_one_shared.py) tunes cells of which the prior tuned exactly one
parameter: each cell must build its estimator with both parameters read, and warm from that one, or it measures
nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.toy_dataset import toy_dataset  # noqa: E402
from benchmarks import bench_one_shared as bench  # noqa: E402
from jupyter_metahpo import suggest  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402
from jupyter_metahpo.space import SearchSpace  # noqa: E402

ROLES = {
    "hgb": {"lr": "learning_rate", "depth": "max_depth"},
    "rf": {"n_estimators": "n_estimators", "max_depth": "max_depth"},
    "logreg": {"C": "C", "solver": "solver"},
    "svm": {"C": "C"},
}
SHARED = {"hgb": ["lr"], "rf": ["n_estimators"], "logreg": ["C"], "svm": ["C"]}


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("cell", bench.CELLS)
def test_each_cell_reads_both_parameters_and_warms_from_the_prior_on_the_one_it_tuned(cell, task):
    if cell == "logreg" and task == "regression":
        pytest.skip("the logistic regression cell runs on the classification datasets only")
    dataset = toy_dataset(task, n_rows=60)
    train = bench.cell_objective(cell, dataset)
    space = SearchSpace(bench.spaces()[cell])
    source = describe_objective(train, space.names)
    assert {r.parameter: r.role for r in source.roles if r.direct} == ROLES[cell]
    proposals = suggest(space, data=(dataset.X, dataset.y), k=1, objective=train, store=False)
    shared = {tuple(entry["shared"]) for entry in proposals.report.sources.values()}
    assert shared and all([entry.split(" ")[0] for entry in s] == SHARED[cell] for s in shared), shared
    config = space.sample(np.random.default_rng(0))
    score = train(**config)
    assert np.isfinite(score) and score <= 1.0
