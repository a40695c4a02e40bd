"""The RGPE transfer surrogate: real GP fits (BoTorch's SingleTaskGP model, in NumPy), weights that follow the evidence."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo import Study, tune
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.strategies import TaskDescription
from jupyter_metahpo.meta.synthetic import SYNTHETIC_FEATURE_SET, make_family, past_study, synthetic_space
from jupyter_metahpo.pipeline import warm_start_size
from jupyter_metahpo.samplers.default import default_n_initial
from jupyter_metahpo.samplers._rgpe import StackedEnsemble, WeightedEnsemble, _misranked_pairs, ranking_weights
from jupyter_metahpo.samplers._singletask_gp import fit_singletask_gp as _fit_gp
from jupyter_metahpo.samplers.transfer import CURRENT, TransferSampler, _Target
from jupyter_metahpo.space import SearchSpace, choice, loguniform

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SPACE = synthetic_space()


def _study_with(task, configs):
    study = Study(SPACE, sampler=TransferSampler([], seed=0))
    for config in configs:
        study.tell(study.enqueue(config), task.objective(config))
    return study


def _flipped(past: PastStudy) -> PastStudy:
    """The same trials with the opposite direction: a past task whose best is this task's worst."""
    return PastStudy.from_arrays(
        past.study_id + "-flipped", past.task_name + "-flipped", past.space, "maximize", past.configs, past.values
    )


def test_misranked_pairs_counts_disagreements_with_the_observed_order():
    y = np.array([0.1, 0.5, 0.9, 1.3])
    samples = np.vstack([y, y[::-1], [0.1, 0.9, 0.5, 1.3]])
    assert list(_misranked_pairs(samples, y)) == [0, 12, 2]  # ordered pairs: a swap counts twice


def test_ranking_weights_favour_a_past_model_that_orders_the_new_points_right():
    rng = np.random.default_rng(0)
    x_past = rng.random((25, 2))
    truth = lambda x: -((x - 0.3) ** 2).sum(axis=1)  # noqa: E731
    helpful = _fit_gp(x_past, _z(truth(x_past)))
    misleading = _fit_gp(x_past, _z(-truth(x_past)))
    x_new = rng.random((8, 2))
    weights = ranking_weights([helpful, misleading], None, x_new, _z(truth(x_new)), 128, rng)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.9 and weights[1] < 0.05


def test_a_past_model_clearly_worse_than_the_current_gp_is_dropped_from_drop_worse_from_results_on():
    rng = np.random.default_rng(0)
    x_past = rng.random((25, 2))
    x_new = rng.random((8, 2))
    y_new = _z(-((x_new - 0.3) ** 2).sum(axis=1))
    off_centre = _fit_gp(x_past, _z(-((x_past - 0.45) ** 2).sum(axis=1)))  # right shape, optimum moved
    current = _fit_gp(x_new, y_new)

    def weights(drop_worse_from):
        return ranking_weights([off_centre], current, x_new, y_new, 256, np.random.default_rng(1), drop_worse_from)

    assert weights(8)[0] == 0.0  # 8 results: the guard applies and drops it
    assert weights(9)[0] > 0.0  # not yet: it wins a few of the ranking samples


def test_stacking_follows_the_current_observations_where_the_past_model_is_wrong():
    rng = np.random.default_rng(3)
    x_past = rng.random((30, 2))
    past = _fit_gp(x_past, _z(-((x_past - 0.7) ** 2).sum(axis=1)))  # optimum at (0.7, 0.7)
    x_new = rng.random((6, 2))
    y_new = _z(-((x_new - 0.2) ** 2).sum(axis=1))  # this task's optimum is at (0.2, 0.2)
    weights = np.array([0.8])
    stacked = StackedEnsemble.fit(WeightedEnsemble([past], weights), x_new, y_new).posterior_np(x_new)
    np.testing.assert_allclose(stacked.mean, y_new, atol=0.05)  # the observations, not the past model's view
    assert np.all(stacked.var > 0)
    plain = WeightedEnsemble([past], weights).posterior_np(x_new).mean
    assert np.abs(plain - y_new).max() > 0.5  # without stacking the past model's mean stands


def test_stacking_with_no_weight_on_the_past_is_the_current_studys_own_gp():
    rng = np.random.default_rng(4)
    x_new, x = rng.random((7, 3)), rng.random((20, 3))
    y_new = _z(np.sin(3 * x_new).sum(axis=1))
    past = _fit_gp(rng.random((15, 3)), _z(rng.random(15)))
    stacked = StackedEnsemble.fit(WeightedEnsemble([past], np.array([0.0])), x_new, y_new).posterior_np(x)
    own = _fit_gp(x_new, y_new).posterior_np(x)
    np.testing.assert_allclose(stacked.mean, own.mean, atol=1e-6)
    np.testing.assert_allclose(stacked.var, own.var, atol=1e-6)


def _z(values):
    return (values - values.mean()) / values.std(ddof=1)


def test_suggestions_show_weights_and_exploit_a_twin_past_task():
    task = make_family("related", 1, seed=5)[0]
    twin = past_study(task, seed=1)
    study = _study_with(task, SPACE.sample(3, 4))
    sampler = TransferSampler([twin], TaskDescription(task.name, task.meta_features, SYNTHETIC_FEATURE_SET), seed=0)
    (suggestion,) = sampler.suggest(study.history(), 1)
    weights = suggestion.origin.details["weights"]
    assert suggestion.origin.source == "transfer"
    assert set(weights) == {task.name, CURRENT}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights == sampler.weights_
    assert weights[task.name] > 0.5  # the twin orders the new observations right
    assert "weights:" in suggestion.origin.reason
    assert task.regret(task.objective(dict(suggestion.config))) < 0.05


def test_a_misleading_past_task_loses_its_weight_as_evidence_accumulates():
    task = make_family("related", 1, seed=6)[0]
    liar = _flipped(past_study(task, seed=2))
    sampler = TransferSampler([liar], seed=0)
    study = _study_with(task, SPACE.sample(4, 10))
    sampler.suggest(study.history(), 1)
    assert sampler.weights_[CURRENT] > 0.9
    assert sampler.weights_[liar.task_name] < 0.1


def test_past_best_points_offers_the_weighted_past_tasks_best_configurations_unperturbed():
    task = make_family("related", 1, seed=5)[0]
    twin = past_study(task, seed=1)
    history = _study_with(task, SPACE.sample(3, 4)).history()
    description = TaskDescription(task.name, task.meta_features, SYNTHETIC_FEATURE_SET)
    no_target = _Target(np.empty((0, len(SPACE))), np.empty(0))
    for n, offered in ((0, False), (2, True)):
        sampler = TransferSampler([twin], description, seed=0, n_candidates=256, past_best_points=n)
        base = sampler._base_models(SPACE)
        t = base[0][1]
        candidates = sampler._candidates(SPACE, history, no_target, base, np.array([1.0]))
        for best in t.unit[t.ranked()[:2]]:
            assert bool(np.any(np.all(np.abs(candidates - best) < 1e-9, axis=1))) is offered
    with pytest.raises(ValueError, match="past_best_points"):
        TransferSampler([twin], past_best_points=-1)


def test_a_batch_is_distinct_and_avoids_what_is_running():
    task = make_family("related", 1, seed=7)[0]
    study = _study_with(task, SPACE.sample(5, 5))
    running = study.ask()  # pending
    sampler = TransferSampler([past_study(task)], seed=0, n_candidates=256)
    batch = sampler.suggest(study.history(), 3)
    configs = [dict(s.config) for s in batch]
    assert len({tuple(sorted(c.items())) for c in configs}) == 3
    assert dict(running.config) not in configs


def test_a_seed_makes_suggestions_repeat_and_leaves_torch_global_generator_alone():
    # Posterior samples for the ranking weights once came from torch's global generator:
    # the same seeded study then proposed other configurations on a second run.
    import torch

    tasks = make_family("related", 3, seed=9)
    past = [past_study(t, seed=i) for i, t in enumerate(tasks[1:])]
    study = _study_with(tasks[0], SPACE.sample(6, 6))
    runs = []
    for _ in range(3):
        torch.manual_seed(len(runs))  # whatever the caller did to the global generator
        sampler = TransferSampler(past, seed=0)
        before = torch.get_rng_state()
        configs = [dict(s.config) for s in sampler.suggest(study.history(), 2)]
        assert torch.equal(torch.get_rng_state(), before)
        runs.append((configs, sampler.weights_))
    assert runs[0] == runs[1] == runs[2]


def test_without_past_or_results_it_explains_what_it_needs():
    study = Study(SPACE, sampler=TransferSampler([], seed=0))
    with pytest.raises(RuntimeError, match="after an initial design"):
        TransferSampler([], seed=0).suggest(study.history(), 1)


@pytest.mark.slow
def test_tune_refines_with_the_transfer_surrogate_and_beats_a_cold_start():
    tasks = make_family("related", 9, seed=8)
    new, past = tasks[0], [past_study(t, seed=8) for t in tasks[1:]]
    task = {"name": new.name, "meta_features": new.meta_features, "meta_feature_set": SYNTHETIC_FEATURE_SET}
    n_initial = default_n_initial(len(SPACE))
    warm = tune(new.objective, SPACE, n_initial + 2, seed=0, past=past, task=task, store=False)
    cold = tune(new.objective, SPACE, n_initial + 2, seed=0, strategy="none", store=False)
    frame = warm.dataframe
    k = warm_start_size(SPACE)
    assert list(frame["origin"]) == ["warm-start"] * k + ["transfer"] * (n_initial + 2 - k)
    weights = warm.trials[-1].origin.details["weights"]
    assert sum(weights.values()) == pytest.approx(1.0) and CURRENT in weights
    assert new.regret(warm.best_value) < new.regret(cold.best_value)


@pytest.mark.parametrize(
    "setting, value",
    [("max_past", -1), ("past_best_points", 1.5), ("max_points_per_task", 1), ("n_candidates", 8),
     ("n_samples", True), ("drop_worse_from", 1)],
)
def test_settings_out_of_range_are_refused_with_their_name(setting, value):
    with pytest.raises(ValueError, match=f"`{setting}` must be an integer >= "):
        TransferSampler([], **{setting: value})


def test_stacking_is_the_default_and_must_be_a_bool():
    assert TransferSampler([]).stacking is True
    with pytest.raises(ValueError, match="`stacking` must be True or False"):
        TransferSampler([], stacking="yes")


def test_the_acquisition_is_chosen_by_name_from_the_shared_set():
    task = make_family("related", 1, seed=5)[0]
    history = _study_with(task, SPACE.sample(3, 5)).history()
    past = [past_study(task, seed=1)]
    (ucb,) = TransferSampler(past, seed=0, n_candidates=256, acquisition="ucb").suggest(history, 1)
    (logei,) = TransferSampler(past, seed=0, n_candidates=256).suggest(history, 1)
    assert "maximised upper confidence bound" in ucb.origin.reason
    assert "maximised log expected improvement" in logei.origin.reason
    with pytest.raises(ValueError, match=r"`acquisition` must be one of \('logei', 'ucb'\)"):
        TransferSampler(past, acquisition="ei")


def test_the_transfer_sampler_is_numpy_only_and_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from jupyter_metahpo.meta.synthetic import make_family, past_study, synthetic_space\n"
        "from jupyter_metahpo.samplers.base import History\n"
        "from jupyter_metahpo.samplers.transfer import TransferSampler\n"
        "from jupyter_metahpo.trial import Direction\n"
        "task = make_family('related', 1, seed=1)[0]\n"
        "history = History(synthetic_space(), Direction.MINIMIZE)\n"
        "TransferSampler([past_study(task)], seed=0, n_candidates=64).suggest(history, 1)\n"
        "print(sorted(m for m in ('torch', 'botorch', 'gpytorch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_residual_scale_floor_keeps_uncertainty_where_the_past_fits_the_first_results():
    rng = np.random.default_rng(6)
    x_past = rng.random((30, 2))
    past = _fit_gp(x_past, _z(-((x_past - 0.7) ** 2).sum(axis=1)))
    x_new = rng.random((5, 2))
    ensemble = WeightedEnsemble([past], np.array([1.0]))
    # The current results are the past's own mean, up to a tiny wobble: the fitted residual scale is tiny.
    y_new = ensemble.posterior_np(x_new).mean + 1e-3 * rng.standard_normal(5)
    far = np.array([[0.05, 0.05], [0.95, 0.1]])
    plain = StackedEnsemble.fit(ensemble, x_new, y_new)
    floored = StackedEnsemble.fit(ensemble, x_new, y_new, min_scale=0.5)
    assert plain.scale < 0.01 and floored.scale == 0.5
    past_var = ensemble.posterior_np(far).var
    own_var = floored.residual.posterior_np(far).var
    np.testing.assert_allclose(floored.posterior_np(far).var, past_var + 0.25 * own_var, rtol=1e-6)
    assert np.all(floored.posterior_np(far).var > plain.posterior_np(far).var + 0.01)
    # A floor below the fitted scale changes nothing.
    same = StackedEnsemble.fit(ensemble, x_new, y_new, min_scale=plain.scale / 2)
    np.testing.assert_allclose(same.posterior_np(far).mean, plain.posterior_np(far).mean)
    with pytest.raises(ValueError, match="min_scale"):
        StackedEnsemble.fit(ensemble, x_new, y_new, min_scale=-1.0)


def test_the_floor_applies_only_when_the_past_scores_were_predicted_at_fixed_values(monkeypatch):
    import dataclasses

    from jupyter_metahpo.meta.compat import transfer_studies
    from jupyter_metahpo.samplers import transfer as transfer_module

    task = make_family("related", 1, seed=5)[0]
    (moved,), _ = transfer_studies([past_study(task, seed=1)], SPACE)
    floors = []
    real_fit = StackedEnsemble.fit

    def spy(past, x, y, min_scale=0.0):
        floors.append(min_scale)
        return real_fit(past, x, y, min_scale=min_scale)

    monkeypatch.setattr(transfer_module.StackedEnsemble, "fit", spy)
    for study, expected in ((moved, 0.0), (dataclasses.replace(moved, predicted_at="z=0.8"), 0.5)):
        floors.clear()
        TransferSampler([study], seed=0, n_candidates=256).suggest(_study_with(task, SPACE.sample(4, 2)).history(), 1)
        assert floors == [expected] and expected in (0.0, transfer_module.SLICED_MIN_RESIDUAL_SCALE)


def test_a_configuration_that_failed_here_is_not_proposed_again_and_again_where_the_past_recommends_it():
    """A solver the new data does not allow (liblinear on multiclass) fails every trial; the past task found it best.
    Failed trials count as the worst score seen, as in the GP sampler: before, the transfer refinement modelled the
    complete trials only, and proposed the failing solver at every step."""
    space = SearchSpace({"C": loguniform(1e-3, 1e2), "solver": choice("lbfgs", "liblinear")})

    def score(config):
        return 0.9 - 0.05 * np.log10(config["C"]) ** 2 + (0.02 if config["solver"] == "liblinear" else 0.0)

    configs = space.sample(0, 40)
    past = PastStudy.from_arrays("past", "past-task", space, "maximize", configs, [score(c) for c in configs])
    study = Study(space, direction="maximize", sampler=TransferSampler([past], seed=0))
    for c in (0.01, 0.1, 10.0):
        study.tell(study.enqueue({"C": c, "solver": "lbfgs"}), score({"C": c, "solver": "lbfgs"}))
    for c in (0.5, 1.0, 2.0):
        study.tell(study.enqueue({"C": c, "solver": "liblinear"}), error="liblinear does not do multiclass")
    solvers = []
    for _ in range(5):
        trial = study.ask()
        solvers.append(trial.config["solver"])
        if trial.config["solver"] == "liblinear":
            study.tell(trial, error="liblinear does not do multiclass")
        else:
            study.tell(trial, score(trial.config))
    assert solvers.count("liblinear") <= 1, solvers
