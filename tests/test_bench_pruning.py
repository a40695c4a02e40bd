"""The pruning benchmark's live part (notebook 3's CNN) and its LCDB source, on tiny settings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

bench = pytest.importorskip("benchmarks.bench_pruning")

METHODS = ("no pruning", "median", "successive halving", "ours: meta-learned", "Optuna MedianPruner",
           "Optuna HyperbandPruner")


@pytest.mark.slow
def test_the_live_part_trains_the_cnn_once_and_replays_every_pruner(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("optuna")
    cache, out = tmp_path / "curves.json", tmp_path / "live.md"
    argv = ["--live", "--seeds", "1", "--live-pool", "4", "--live-trials", "3", "--live-epochs", "2",
            "--live-cache", str(cache), "--out", str(out)]
    assert bench.main(argv) == 0
    text = out.read_text()
    assert all(f"| {name} |" in text for name in METHODS)
    assert "the same trial by trial" in text  # the meta-learned pruner live matched its replay
    assert capsys.readouterr().err.count("trained 4 CNNs") == 3  # one pool per digits task
    assert bench.main(argv) == 0
    assert "trained" not in capsys.readouterr().err  # the recorded curves were read back, not trained again


@pytest.mark.slow  # reads LCDB's 150 MB table
def test_lcdb_tasks_are_its_learners_curves_over_training_set_sizes():
    try:
        bench.lcdb_csv()
    except SystemExit as missing:
        pytest.skip(str(missing))
    tasks = bench.load_lcdb_tasks(2)
    assert len(tasks) == 2
    for task in tasks:
        assert len(task.curves) >= bench.LCDB_TRIALS
        assert len({len(c) for c in task.curves.curves}) == 1  # every kept learner reached every size
        assert task.finals.tolist() == [float(c[-1]) for c in task.curves.curves]
        assert all(0.0 <= v <= 1.0 for c in task.curves.curves for v in c)
        assert np.ptp(task.finals) > 0


def _task(curves):
    from jupyter_metahpo.prior.curves import TaskCurves

    curves = tuple(np.asarray(c, dtype=float) for c in curves)
    return bench.ReplayTask("toy", TaskCurves(
        space="toy", task="toy", task_type="classification", metric="accuracy", indices=tuple(range(len(curves))),
        configs=tuple({} for _ in curves), curves=curves, finals=tuple(float(c[-1]) for c in curves)))


# Four configurations of 4 epochs; tried in this order their finals are 0.5, 0.7, 0.6, 0.9: records at 0, 1 and 3.
TOY = [[0.1, 0.3, 0.4, 0.5], [0.2, 0.4, 0.6, 0.7], [0.3, 0.4, 0.5, 0.6], [0.1, 0.5, 0.8, 0.9]]


def test_the_oracle_completes_the_records_and_stops_the_others_after_its_epochs():
    task = _task(TOY)
    replay = bench.oracle_replay(task, [0, 1, 2, 3], after=2)
    assert replay.complete == (True, True, False, True)
    assert replay.epochs == (4, 4, 2, 4)
    # Finals 0.5, 0.7, 0.6, 0.9 (range 0.4): a margin of 0.6 of the range (0.24) stops the record 0.7 (+0.2),
    # then 0.6, and completes 0.9 (+0.4); the last record alone also stops 0.7.
    assert bench.oracle_replay(task, [0, 1, 2, 3], after=2, margin=0.6).complete == (True, False, False, True)
    only_last = bench.oracle_replay(task, [0, 1, 2, 3], after=1, last_record_only=True)
    assert only_last.complete == (True, False, False, True) and only_last.epochs == (4, 1, 1, 4)


def test_spending_splits_the_epochs_until_no_prunings_regret_by_what_they_bought():
    task = _task(TOY)
    order = [0, 1, 2, 3]
    reference = bench.Replay(tuple(order), (4, 4, 4, 4), (True,) * 4)
    target = bench.regret_after(task, reference, 4)  # 0: the best is the 4th trial
    assert target == 0.0
    pruner = bench.Replay(tuple(order), (4, 2, 3, 4), (True, False, False, True))  # a record (1) pruned, 2 pruned late
    spent = bench.spending(task, reference, pruner, target)
    assert spent == {"records completed": 8, "records pruned": 2, "others completed": 0, "others' first epoch": 1,
                     "others pruned later": 2, "after no pruning's trial": 0}
    assert sum(spent.values()) == bench.epochs_to_reach(task, pruner, target)
    never = bench.Replay(tuple(order), (4, 4, 4, 1), (True, True, True, False))  # the best pruned: never reached
    assert bench.spending(task, reference, never, target) is None


def test_selection_takes_the_lowest_goal_ratio_within_the_regret_and_best_pruned_limits():
    def rows(ratio, regret, best_pruned):
        return [{"reach_ratio": ratio, "regret": regret, "best_pruned": best_pruned}] * 3

    names = list(bench.SELECT_CANDIDATES)
    default = next(n for n, s in bench.SELECT_CANDIDATES.items() if s == {"model": "regression", "p": 0.8, "calibration": 10})
    others = [n for n in names if n != default]
    result = {"rows": {"no pruning": rows(1.0, 0.010, False), default: rows(0.8, 0.011, True),
                       **{n: rows(0.9, 0.011, True) for n in others}}}
    result["rows"][others[0]] = rows(0.5, 0.020, True)  # lowest ratio, but too much regret
    result["rows"][others[1]] = rows(0.6, 0.011, True)  # lowest ratio within the limits
    assert bench.chosen_setting(result) == others[1]
    result["rows"][others[1]] = rows(0.6, 0.011, False)
    result["rows"][default] = rows(0.8, 0.011, False)
    result["rows"][others[2]] = rows(0.55, 0.011, True)  # prunes the best more often than the default
    assert bench.chosen_setting(result) == others[1]


def test_the_development_datasets_are_named_per_space():
    assert set(bench.DEVELOPMENT_DATASETS) == set(bench.SPACES)
    assert bench.is_development("torch_mlp_regressor", "sk_diabetes")
    assert not bench.is_development("torch_mlp_classifier", "sk_diabetes")


def test_the_tradeoff_screen_shows_the_oracle_stopping_no_record_and_saving_the_rest():
    first = _task(TOY)
    second = bench.ReplayTask("toy", first.curves.__class__(**{**first.curves.__dict__, "task": "other"}))
    text = bench.tradeoff_part([first, second], [0], thresholds=(0.8,))
    oracle = next(line for line in text.splitlines() if line.startswith(f"| {bench.ORACLE} |"))
    # 4-epoch curves are judged at steps 1 and 2: a trial stopped at step 1 saves 2 of its 4 epochs
    assert oracle == f"| {bench.ORACLE} | 0%, 50% |"
    assert all(f"| {name} |" in text for name in bench.PREDICTORS)
