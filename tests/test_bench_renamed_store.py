"""The renamed-store benchmark (benchmarks/bench_renamed_store.py): its two cells must read as the same SVM arguments
under other names, and its second study must warm from the first through the store, or it measures nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.toy_dataset import toy_dataset  # noqa: E402
from benchmarks import bench_renamed_store as bench  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_both_cells_set_the_svms_c_and_gamma_under_their_own_names(task):
    dataset = toy_dataset(task)
    for names in (("reg", "width"), ("c_value", "g_value")):
        objective, space = bench.cell(dataset, "cell", *names)
        assert list(space) == list(names)
        source = describe_objective(objective, list(space))
        assert {r.parameter: r.argument for r in source.roles if r.direct} == dict(zip(names, ("C", "gamma")))
        assert np.isfinite(objective(*(p.from_unit(0.5) for p in space.values())))


def test_the_second_study_warms_from_the_stored_first_one_unless_told_not_to_read_it():
    dataset = toy_dataset("classification")
    result = bench.second_study(dataset, seed=0, method="ours", trials=1)
    assert "c_value (their reg: it sets SVC's C)" in "\n".join(result.warm_start.lines())
    assert len(result.trials) == 1 and np.isfinite(result.trials[0].value)
    alone = bench.second_study(dataset, seed=0, method="ours: no store", trials=1)
    assert "their reg" not in "\n".join(alone.warm_start.lines())
