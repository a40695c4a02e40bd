"""The parallel benchmark's in-process replay (benchmarks/bench_parallel.py, ``--parts replay``): that it runs the
loop a Dask study runs (sequential with one slot, k - 1 trials pending at each later proposal), repeats exactly, and
that its lag table reads the curves as its docstring says. No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_parallel as bench  # noqa: E402
from _problems import PROBLEMS  # noqa: E402

from jupyter_metahpo import tune  # noqa: E402
from jupyter_metahpo.samplers import DefaultSampler  # noqa: E402


def _configs(study):
    return [t.config for t in sorted(study.trials, key=lambda t: t.number)]


def test_one_slot_replays_the_sequential_study_that_tune_runs():
    problem = PROBLEMS["branin"]
    study, _, asks = bench.replay_study("branin", DefaultSampler(seed=3), 1, 14, seed=3)
    result = tune(problem.objective, problem.space, 14, seed=3, store=False, strategy="none")
    assert _configs(study) == [t.config for t in sorted(result.trials, key=lambda t: t.number)]
    assert asks == 14
    assert all(t.value == problem.objective(**t.config) for t in study.trials)


def test_with_k_slots_every_model_proposal_sees_k_minus_1_running_trials_and_a_replay_repeats():
    study, _, asks = bench.replay_study("branin", bench.parallel_sampler("believer", 0), 4, 16, seed=0)
    trials = sorted(study.trials, key=lambda t: t.number)
    assert len(trials) == 16 and all(t.value is not None for t in trials)
    assert asks < 16  # the first four were asked for together
    gp = [t for t in trials if t.origin.source == "gp"]
    pending = [t.origin.details["n_pending"] for t in gp]
    # The other k - 1 slots: running trials, and the members of the same call before it (when trials end together).
    assert pending and set(pending) <= {1, 2, 3} and pending.count(3) >= len(pending) - 2
    again, _, _ = bench.replay_study("branin", bench.parallel_sampler("believer", 0), 4, 16, seed=0)
    assert _configs(again) == _configs(study)
    other, _, _ = bench.replay_study("branin", bench.parallel_sampler("believer", 1), 4, 16, seed=1)
    assert _configs(other) != _configs(study)


def _run(mode, seed, curve):
    return bench.RegretRun("p", mode, seed, {n + 1: r for n, r in enumerate(curve)}, 0.0, 0.0, 0.0)


def test_the_lag_is_how_many_trials_later_sequential_reached_the_parallel_regret():
    # Sequential regret falls tenfold per trial; the parallel study's is the sequential one's 2 trials earlier.
    sequential = [10.0 ** -n for n in range(20)]
    parallel = [1.0, 1.0] + sequential[:18]
    runs = [_run("sequential", s, sequential) for s in (0, 1)] + [_run("replay k=4 x", s, parallel) for s in (0, 1)]
    table = bench.lag_table(runs, {"p": 20}, every=10)
    assert table[0] == "| problem | mode | n = 10 | n = 20 |"
    assert table[2] == "| p | replay k=4 x | 2 | 2 |"


@pytest.mark.parametrize("budget", [10])
def test_the_replay_part_prints_regret_per_checkpoint_for_each_mode(budget):
    runs = bench.replay_part(["branin"], {"branin": budget}, [0, 1], 2, ["believer"])
    assert {r.mode for r in runs} == {"sequential", "replay k=2 believer"}
    assert all(set(bench.checkpoints(budget)) <= set(r.regrets) for r in runs)
    table = bench.regret_table(runs, {"branin": budget})
    assert len(table) == 2 + 2 * 2  # header, rule, two checkpoints of two modes
