"""The scale benchmark (benchmarks/bench_scale.py): its histories, its verdicts, and a tiny run.

The timings themselves are never asserted (the machine is shared); what is checked is
that the histories are what the docstring says, that each goal line's verdict follows
from the figures it quotes, and that a small run produces every table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_scale as bench  # noqa: E402
from _problems import PROBLEMS  # noqa: E402


@pytest.mark.parametrize("name", bench.SCALE_PROBLEMS)
def test_a_shorter_history_is_the_start_of_a_longer_one_and_repeats(name):
    problem = PROBLEMS[name]
    long = bench.study_history(problem, 300, seed=1)
    assert bench.study_history(problem, 120, seed=1) == long[:120]
    assert bench.study_history(problem, 300, seed=1) == long
    assert bench.study_history(problem, 300, seed=2) != long
    assert all(value == problem.objective(**config) for config, value in long[:20])
    # A long study's shape: its later trials cluster near the best, so they beat the uniform start.
    start = min(v for _, v in long[:20])
    assert min(v for _, v in long) < start
    assert np.median([v for _, v in long[200:]]) < np.median([v for _, v in long[:20]])


def test_related_past_studies_share_the_space_and_differ_from_each_other():
    problem = PROBLEMS["mixed"]
    past = bench.related_past_studies(problem, count=3, size=30)
    assert [len(p.values) for p in past] == [30, 30, 30]
    assert all(p.space == problem.space for p in past)
    assert past[0].values != past[1].values


def _cell(seconds, cpu=None, final=None, peak=300.0, stopped=None):
    result = bench.CellResult(seconds=list(seconds), cpu_seconds=list(cpu or seconds), peak_rss_mb=peak,
                              stopped_after_s=stopped)
    for problem, value in (final or {}).items():
        result.final[(problem, 0)] = value
        result.start[(problem, 0)] = 1.0
        result.new_best[(problem, 0)] = value
    return result


def test_goal_verdicts_follow_from_the_quoted_figures():
    plan = bench.Plan(seeds=1, k=2)
    cells = {
        ("ours (best-spread subset)", 2000): (plan, _cell([0.1, 0.4], cpu=[0.1, 0.2])),
        ("ours (best-spread subset)", 5000): (plan, _cell([0.3], final={"hartmann6": 0.1, "mixed": 0.01})),
        ("ours warm (RGPE, 20 past)", 500): (plan, _cell([0.5, 1.5], cpu=[0.2, 0.3])),
        ("ours, no point budget", 500): (plan, _cell([1.0], final={"hartmann6": 0.2, "mixed": 0.001}, peak=600.0)),
        ("optuna GPSampler", 5000): (plan, _cell([], stopped=300.0)),
    }
    text = "\n".join(bench.goal_lines(cells, (500, 2000, 5000)))
    assert "ours (best-spread subset), up to 2,000 trials" in text
    assert "wall median 0.250 s, max 0.400 s (met); CPU median 0.150 s, max 0.200 s (met)" in text
    assert "wall median 1.000 s, max 1.500 s (NOT met); CPU median 0.250 s, max 0.300 s (met)" in text
    assert "Optuna's GPSampler over 300 s (stopped) per suggestion, wall clock: met" in text
    assert "hartmann6 (goal: regret at 5,000 with the point budget no worse than the uncapped GP's at 500): " \
           "0.1000 after 5,000+k, 0.2000 after 500+k: met" in text
    assert "0.0100 after 5,000+k, 0.0010 after 500+k: NOT met" in text
    assert "at most 600 MB (ours, no point budget, N = 500): NOT met" in text


def test_a_stopped_cell_reads_as_stopped_and_a_problem_it_skipped_as_a_dash():
    plan = bench.Plan(seeds=1, k=1, note="1 seed of hartmann6, k=1: time only", limit_s=300)
    timed = _cell([2.0], final={"hartmann6": 0.5})
    cells = {("optuna GPSampler", 2000): (plan, timed), ("optuna GPSampler", 5000): (plan, _cell([], stopped=300.0))}
    lines = "\n".join(bench.suggest_report(cells, (2000, 5000), baseline=250.0))
    assert "| optuna GPSampler | 2.000 / 2.000 (1 seed of hartmann6, k=1: time only) | stopped: no suggestion " \
           "within 300 s (1 seed of hartmann6, k=1: time only) |" in lines
    assert "| optuna GPSampler | - (1 seed of hartmann6" in lines  # no mixed-space regret: it ran hartmann6 only
    assert "nan" not in lines


def test_a_cell_past_its_time_limit_is_stopped():
    import time

    assert bench.in_fresh_process(time.sleep, 30, limit_s=1) is None
    assert bench.in_fresh_process(max, 3, 4) == 4


@pytest.mark.slow
def test_a_tiny_run_prints_every_table(capsys):
    bench.main(["--part", "suggest", "--quick", "--methods", "optuna TPE", "--no-write"])
    out = capsys.readouterr().out
    for title in ("Suggestion time, wall clock", "Suggestion time, CPU", "Peak memory", "Regret on hartmann6",
                  "Regret on mixed", "Goals"):
        assert f"## {title}" in out
    assert "| optuna TPE |" in out and "written:" not in out


def test_the_warm_part_reads_the_past_gps_back_and_proposes_the_same(monkeypatch):
    import argparse

    monkeypatch.setattr(bench, "WARM_CONTINUED", 1)
    lines = bench.run_warm(argparse.Namespace(quick=True))
    rows = [line.split(" | ") for line in lines if line.startswith("| store") or line.startswith("| prior")]
    assert len(rows) == 6
    for row in rows:
        fitted, same = row[-2], row[-1].rstrip(" |")
        if "later start" in row[1]:
            assert (fitted, same) == ("0", "yes")  # read back, nothing fitted
        elif "first start" in row[1]:
            assert (fitted, same) == ("16", "yes")
