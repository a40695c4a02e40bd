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
