"""Warm-start strategies on synthetic families: transfer helps where tasks are related,
does not hurt where they are not, explains itself, and learns from new studies."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.space import SearchSpace, uniform
from jupyter_metahpo.meta.neural import NeuralMetaModel
from jupyter_metahpo.meta.strategies import (
    DefaultStrategy,
    GreedyPortfolio,
    NearestTasks,
    TaskDescription,
    make_strategy,
    prepare,
)
from jupyter_metahpo.meta.synthetic import SYNTHETIC_FEATURE_SET, make_family, past_study, synthetic_space

SPACE = synthetic_space()


def _setup(kind: str, seed: int, n_tasks: int = 21):
    tasks = make_family(kind, n_tasks, seed=seed)
    new, others = tasks[0], tasks[1:]
    past = [past_study(t, seed=seed) for t in others]
    description = TaskDescription(new.name, new.meta_features, SYNTHETIC_FEATURE_SET)
    return new, past, description


def _best_regret(task, proposals) -> float:
    return min(task.regret(task.objective(dict(p.config))) for p in proposals)


def _random_best_regret(task, k: int, seed: int) -> float:
    return min(task.regret(task.objective(c)) for c in SPACE.sample(seed, k))


@pytest.mark.parametrize(
    "strategy",
    [
        NearestTasks(),
        # torch fits: ~0.5 s each on an idle core, several seconds on a busy one
        pytest.param(NeuralMetaModel(epochs=150), marks=pytest.mark.slow),
        DefaultStrategy(),
    ],
    ids=repr,
)
def test_on_related_tasks_the_first_three_configs_beat_random_ones(strategy):
    ours, rand = [], []
    for seed in range(4):
        new, past, description = _setup("related", seed)
        proposals = strategy.propose(description, SPACE, past, 3)
        assert len(proposals) == 3
        ours.append(_best_regret(new, proposals))
        rand.append(_random_best_regret(new, 3, seed))
    # Related tasks: the best of 3 transferred configs lies close to the optimum.
    assert np.median(ours) < 0.05
    assert np.median(ours) < 0.25 * np.median(rand)


def test_portfolio_helps_without_meta_features_when_tasks_share_a_good_region():
    ours, rand = [], []
    for seed in range(6):
        new, past, _ = _setup("shared", seed)
        proposals = GreedyPortfolio().propose(TaskDescription(name="no data"), SPACE, past, 3)
        ours.append(_best_regret(new, proposals))
        rand.append(_random_best_regret(new, 3, seed))
    assert np.median(ours) < 0.05 < np.median(rand)


def test_on_unrelated_tasks_the_default_warm_start_is_no_worse_than_random():
    ours, rand = [], []
    for seed in range(10):
        new, past, description = _setup("unrelated", seed)
        ours.append(_best_regret(new, DefaultStrategy().propose(description, SPACE, past, 3)))
        rand.append(np.median([_random_best_regret(new, 3, 100 * seed + r) for r in range(5)]))
    # Nothing transfers here; the portfolio's hedging keeps the start as good as random draws.
    assert np.median(ours) <= 1.1 * np.median(rand)


def test_every_proposal_carries_strategy_source_similarity_and_prediction():
    new, past, description = _setup("related", 0)
    for strategy in (NearestTasks(), GreedyPortfolio(), NeuralMetaModel(epochs=100), DefaultStrategy()):
        proposals = strategy.propose(description, SPACE, past, 4)
        assert proposals, strategy
        for p in proposals:
            assert p.reason
            assert p.details["strategy"].split("/")[-1] in ("nearest", "portfolio", "neural")
            assert p.details["source_task"]
            assert "similarity" in p.details and "predicted" in p.details
            assert SPACE.validate_config(dict(p.config)) == dict(p.config)


def test_nearest_ranks_the_task_with_identical_meta_features_first():
    new, past, description = _setup("related", 1)
    twin = past_study(new, seed=99)  # a past study of the very same task
    proposals = NearestTasks().propose(description, SPACE, [*past, twin], 2)
    assert proposals[0].details["source_study"] == twin.study_id
    assert proposals[0].details["similarity"] == pytest.approx(1.0)
    assert dict(proposals[0].config) == dict(twin.best(1)[0][0])


def test_nearest_without_meta_features_prefers_past_studies_of_the_same_task_name():
    new, past, _ = _setup("related", 2)
    same = past[5]
    proposals = NearestTasks().propose(TaskDescription(name=same.task_name), SPACE, past, 3)
    assert proposals[0].details["source_task"] == same.task_name
    assert proposals[0].details["similarity_by"] == "name-and-space"


def test_portfolio_covers_different_tasks_greedily():
    configs = [
        {"learning_rate": 0.01, "depth": 3, "subsample": 0.5, "booster": "gbtree"},  # A: best on tasks 0-2
        {"learning_rate": 0.3, "depth": 12, "subsample": 0.9, "booster": "dart"},  # B: best on task 3
        {"learning_rate": 0.001, "depth": 8, "subsample": 0.2, "booster": "linear"},  # C: never best
    ]
    values = [[0.1, 0.5, 0.9], [0.1, 0.6, 0.9], [0.1, 0.5, 0.8], [0.7, 0.1, 0.9]]
    past = [PastStudy.from_arrays(f"s{i}", f"t{i}", SPACE, "minimize", configs, v) for i, v in enumerate(values)]
    proposals = GreedyPortfolio().propose(TaskDescription(), SPACE, past, 3)
    assert [dict(p.config) for p in proposals[:2]] == [configs[0], configs[1]]
    # Every task evaluated A and B themselves, so the portfolio knows their regret exactly:
    # A is best on tasks 0-2 and has regret (0.7 - 0.1) / (0.9 - 0.1) on task 3.
    assert proposals[0].details["expected_regret"] == pytest.approx(0.75 / 4)
    assert proposals[1].details["expected_regret"] == pytest.approx(0.0)


def _described(name, configs, values, features):
    return PastStudy.from_arrays(
        f"s-{name}", name, SPACE, "minimize", configs, values, meta_features=features, meta_feature_set="toy-features"
    )


def test_weighted_portfolio_serves_the_tasks_like_the_new_one_first():
    p_config = {"learning_rate": 0.01, "depth": 3, "subsample": 0.5, "booster": "gbtree"}
    q_config = {"learning_rate": 0.3, "depth": 12, "subsample": 0.9, "booster": "dart"}
    configs = [p_config, q_config, {"learning_rate": 0.001, "depth": 8, "subsample": 0.2, "booster": "linear"}]
    # Two past tasks look like the new one and want P; five others, far away, want Q.
    like_new = [_described(f"near{i}", configs, [0.1, 0.6, 0.9], {"rows": 1.0 + 0.05 * i, "cols": 1.0}) for i in range(2)]
    unlike = [_described(f"far{i}", configs, [0.6, 0.1, 0.9], {"rows": 8.0 + 0.1 * i, "cols": 5.0}) for i in range(5)]
    new_task = TaskDescription("new", {"rows": 1.02, "cols": 1.0}, "toy-features")
    plain = GreedyPortfolio().propose(new_task, SPACE, like_new + unlike, 1)
    weighted = GreedyPortfolio(similarity_power=4).propose(new_task, SPACE, like_new + unlike, 1)
    assert dict(plain[0].config) == q_config  # the majority's choice
    assert dict(weighted[0].config) == p_config
    assert weighted[0].details["weighted_by_similarity"] and "most similar" in weighted[0].reason
    assert "normalised regret 0.00 on 'near0', the most similar" in weighted[0].reason
    assert dict(DefaultStrategy().propose(new_task, SPACE, like_new + unlike, 1)[0].config) == p_config
    # Without meta-features for the new task the weights are equal, whatever the power.
    undescribed = GreedyPortfolio(similarity_power=4).propose(TaskDescription("new"), SPACE, like_new + unlike, 1)
    assert dict(undescribed[0].config) == q_config and not undescribed[0].details["weighted_by_similarity"]
    with pytest.raises(ValueError, match="similarity_power"):
        GreedyPortfolio(similarity_power=-1)


def test_auto_power_weights_by_similarity_only_where_the_past_tasks_show_it_helps():
    p_config = {"learning_rate": 0.01, "depth": 3, "subsample": 0.5, "booster": "gbtree"}
    q_config = {"learning_rate": 0.3, "depth": 12, "subsample": 0.9, "booster": "dart"}
    configs = [p_config, q_config, {"learning_rate": 0.001, "depth": 8, "subsample": 0.2, "booster": "linear"}]
    new_task = TaskDescription("new", {"rows": 1.02, "cols": 1.0}, "toy-features")
    # Meta-features that tell the optima apart: left out, each 'near' task is served by its neighbour.
    like_new = [_described(f"near{i}", configs, [0.1, 0.6, 0.9], {"rows": 1.0 + 0.05 * i, "cols": 1.0}) for i in range(3)]
    unlike = [_described(f"far{i}", configs, [0.6, 0.1, 0.9], {"rows": 8.0 + 0.1 * i, "cols": 5.0}) for i in range(5)]
    auto = GreedyPortfolio(similarity_power="auto").propose(new_task, SPACE, like_new + unlike, 2)
    assert dict(auto[0].config) == p_config  # the plain portfolio would lead with the majority's Q
    assert auto[0].details["similarity_power"] > 0 and auto[0].details["weighted_by_similarity"]
    assert "the power that did best when each past task was left out" in auto[0].reason
    # Meta-features that tell nothing apart: every task wants P, every power ties, the smallest (0) wins.
    alike = [_described(f"t{i}", configs, [0.1, 0.6, 0.9], {"rows": float(i), "cols": float(i % 3)}) for i in range(6)]
    plain = GreedyPortfolio(similarity_power="auto").propose(new_task, SPACE, alike, 1)
    assert dict(plain[0].config) == p_config
    assert plain[0].details["similarity_power"] == 0.0 and not plain[0].details["weighted_by_similarity"]
    assert "weighted equally (weighting by meta-feature similarity did not help" in plain[0].reason
    for bad in ("fast", -1, True):
        with pytest.raises(ValueError, match="similarity_power"):
            GreedyPortfolio(similarity_power=bad)
    with pytest.raises(ValueError, match="auto_powers"):
        GreedyPortfolio(similarity_power="auto", auto_powers=[])


def test_choose_power_scores_each_power_by_the_left_out_tasks_regret():
    # Two groups of past tasks, told apart by their meta-features: tasks 0-1 want candidate 0,
    # tasks 2-4 candidate 1 (rows of `regret`: candidates; columns: tasks).
    regret = np.array([[0.0, 0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0, 0.0]])
    rows = [1.0, 1.1, 9.0, 9.1, 9.2]
    config = {"learning_rate": 0.01, "depth": 3, "subsample": 0.5, "booster": "gbtree"}
    studies = prepare(SPACE, [_described(f"t{i}", [config], [0.0], {"rows": r, "cols": r / 2}) for i, r in enumerate(rows)])
    task = TaskDescription("new", {"rows": 1.0, "cols": 0.5}, "toy-features")
    portfolio = GreedyPortfolio(similarity_power="auto", auto_powers=(0, 4), inner_k=1)
    power, scores = portfolio.choose_power(task, studies, regret, sources=np.array([-1, -1]))
    # Unweighted, each left-out task is outvoted (or tied, and the first candidate wins) by the
    # other group: regret 1 on every task. Weighted by similarity^4, its own group decides: 0.
    assert scores == {0.0: pytest.approx(1.0), 4.0: pytest.approx(0.0)}
    assert power == 4.0
    # A left-out task is never offered its own candidates (the new task's are unknown).
    _, own_only = GreedyPortfolio(similarity_power="auto", auto_powers=(4,), inner_k=1).choose_power(
        task, studies, regret, sources=np.array([0, 2])
    )
    assert own_only[4.0] == pytest.approx((1.0 + 0.0 + 1.0 + 0.0 + 0.0) / 5)


def test_update_path_a_new_finished_study_changes_what_is_proposed():
    new, past, description = _setup("related", 3)
    nearest = NearestTasks()
    before = nearest.propose(description, SPACE, past, 1)[0]
    twin = past_study(new, seed=7)
    after = nearest.propose(description, SPACE, [*past, twin], 1)[0]
    assert after.details["source_study"] == twin.study_id != before.details["source_study"]

    neural = NeuralMetaModel(epochs=150)
    neural.propose(description, SPACE, past, 1)
    first_model = neural.model_
    neural.propose(description, SPACE, past, 1)
    assert neural.model_ is first_model  # same past: the fitted model is reused
    neural.propose(description, SPACE, [*past, twin], 1)
    assert neural.model_ is not first_model  # a new study: refitted on it
    assert len(neural.model_.studies) == len(past) + 1
    assert neural.model_.fit_seconds > 0


def test_neural_without_enough_tasks_says_it_fell_back():
    new, past, description = _setup("related", 4, n_tasks=4)
    proposals = NeuralMetaModel(min_tasks=5).propose(description, SPACE, past, 2)
    assert proposals and all("neural model not fitted" in p.reason for p in proposals)


def test_no_compatible_past_means_no_proposals():
    other = PastStudy.from_arrays("x", "x", SearchSpace({"a": uniform(0, 1)}), "minimize", [{"a": 0.5}], [1.0])
    for strategy in (NearestTasks(), GreedyPortfolio(), DefaultStrategy()):
        assert strategy.propose(TaskDescription(), SPACE, [other], 3) == []


def test_unknown_strategy_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"one of \['default', 'meta-optimizer', 'nearest', 'neural', 'portfolio', 'none'\]"):
        make_strategy("closest")
