"""The pruners: Optuna's rules reproduced decision for decision, and the meta-learned pruner.

Median and successive halving are checked against Optuna's own pruners on the same
curves (ask/tell); the meta-learned pruner on synthetic curves whose finals follow
from their start by construction, so the right verdict is known.
"""

from __future__ import annotations

import gzip
import json
import math
import re

import numpy as np
import pytest

from jupyter_metahpo import Study, TrialPruned, TrialState, intrange, tune, uniform
from jupyter_metahpo.curve_sources import past_learning_curves
from jupyter_metahpo.prior.curves import config_curve, load_prior_curves, pack_curves, read_curve_run
from jupyter_metahpo.pruners import MedianPruner, MetaLearnedPruner, SuccessiveHalvingPruner
from jupyter_metahpo.pruners.curves import CurveLibrary, LastValue, LearningCurve, NearestCurves, StepRegression
from jupyter_metahpo.samplers.base import Sampler, Suggestion
from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.trial import Direction, Origin


def random_curves(seed: int, n: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(n):
        length = int(rng.integers(3, 20))
        final = rng.uniform(0.5, 0.95)
        speed = rng.uniform(0.1, 1.0)
        steps = np.arange(length)
        curves.append(final * (1 - np.exp(-speed * (steps + 1))) + rng.normal(0, 0.01, length))
    return curves


class InOrder(Sampler):
    name = "replay"

    def suggest(self, history, n=1):
        return [Suggestion({"i": history.n_taken + k}, Origin("manual")) for k in range(n)]


def ours(curves, pruner, direction="maximize"):
    """(epochs run, pruned?) of each curve replayed through our Study and the `trial` handle."""

    def train(i, trial):
        for step, value in enumerate(curves[i]):
            trial.report(float(value), step)
            if trial.should_prune():
                raise TrialPruned()
        return float(curves[i][-1])

    study = Study({"i": intrange(0, len(curves) - 1)}, direction=direction, sampler=InOrder(), pruner=pruner)
    for _ in curves:
        study.run_trial(train)
    return [(len(t.intermediate_values), t.state is TrialState.PRUNED) for t in study.trials]


def optunas(curves, pruner, direction="maximize"):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction=direction, pruner=pruner)
    out = []
    for curve in curves:
        trial = study.ask()
        pruned = False
        for step, value in enumerate(curve):
            trial.report(float(value), step)
            if trial.should_prune():
                pruned = True
                break
        study.tell(trial, state=optuna.trial.TrialState.PRUNED) if pruned else study.tell(trial, float(curve[-1]))
        out.append((step + 1, pruned))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_median_pruning_decides_as_optunas_median_pruner(seed, direction):
    optuna = pytest.importorskip("optuna")
    curves = random_curves(seed)
    if direction == "minimize":
        curves = [1 - c for c in curves]
    for settings in ({}, {"n_startup_trials": 2, "n_warmup_steps": 3, "interval_steps": 2}):
        mine = ours(curves, MedianPruner(**settings), direction)
        assert mine == optunas(curves, optuna.pruners.MedianPruner(**settings), direction)
        assert any(pruned for _, pruned in mine)  # the comparison means something


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_successive_halving_decides_as_optunas_in_a_sequential_study(seed):
    optuna = pytest.importorskip("optuna")
    curves = random_curves(seed)
    for eta, low in ((4, 1), (3, 2)):
        mine = ours(curves, SuccessiveHalvingPruner(min_resource=low, reduction_factor=eta))
        theirs = optunas(curves, optuna.pruners.SuccessiveHalvingPruner(min_resource=low, reduction_factor=eta))
        assert mine == theirs and any(pruned for _, pruned in mine)


def test_a_promotion_is_not_taken_back_when_later_trials_reach_the_rung():
    """Asynchronous: a trial promoted at a rung stays promoted while others catch up (parallel trials)."""
    pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    study = Study({"x": uniform(0, 1)}, direction="maximize", pruner=pruner)
    first = study.ask()
    study.report(first, 0.5, 0)
    study.report(first, 0.5, 1)
    assert study.should_prune(first) is False  # alone at rung 0 (step 1): promoted
    for value in (0.9, 0.8, 0.7):  # three better trials reach rung 0 while it runs
        other = study.ask()
        study.report(other, value, 0)
        study.report(other, value, 1)
    study.report(first, 0.55, 2)
    assert study.should_prune(first) is False  # rung 1 is at step 2 for it: still promoted at rung 0


def test_pruner_settings_are_checked_with_the_rule():
    with pytest.raises(ValueError, match=r"`n_startup_trials` of MedianPruner must be an integer >= 0"):
        MedianPruner(n_startup_trials=-1)
    with pytest.raises(ValueError, match=r"`reduction_factor` of SuccessiveHalvingPruner must be an integer >= 2"):
        SuccessiveHalvingPruner(reduction_factor=1)
    with pytest.raises(ValueError, match=r"`p` of MetaLearnedPruner must be a probability in \(0.5, 1\)"):
        MetaLearnedPruner(p=1.5)
    with pytest.raises(ValueError, match="unknown curve model 'gbm'"):
        MetaLearnedPruner(model="gbm")
    with pytest.raises(ValueError, match="`schedule` of MetaLearnedPruner must be one of"):
        MetaLearnedPruner(schedule="sometimes")


# The meta-learned pruner --------------------------------------------------------------------
def saturating(final: float, speed: float, length: int = 12) -> np.ndarray:
    """A curve that rises to ``final``: its start says where it ends."""
    return final * (1 - np.exp(-speed * (np.arange(length) + 1)))


def past_tasks(n_tasks=6, per_task=30, seed=0) -> list[LearningCurve]:
    rng = np.random.default_rng(seed)
    curves = []
    for task in range(n_tasks):
        for _ in range(per_task):
            final = rng.uniform(0.5, 0.95)
            curve = saturating(final, 0.5) + rng.normal(0, 0.002, 12)
            curves.append(LearningCurve(tuple(range(12)), tuple(curve), float(curve[-1]), task=f"task{task}"))
    return curves


#: What each model's verdict says, for the trial of `test_the_meta_learned_pruner_stops_...` (it ends at 0.598, the best
#: at 0.898; 180 past curves and the study's own finished one).
REASONS = {
    "classifier": r"P\(beats best 0\.898\) < 0\.01, from 181 past curves at this step",
    "regression": r"predicted final 0\.59\d ± 0\.0\d+ < best 0\.898, from 181 past curves",
}


@pytest.mark.parametrize("model", sorted(REASONS))
def test_the_meta_learned_pruner_stops_a_trial_headed_below_the_best_and_says_why(model):
    pruner = MetaLearnedPruner(past=past_tasks(), model=model)
    curves = [saturating(0.9, 0.5), saturating(0.6, 0.5), saturating(0.92, 0.5), saturating(0.7, 0.5)]
    outcome = ours(curves, pruner)
    assert outcome == [(12, False), (2, True), (12, False), (2, True)]  # judged at its 2nd report
    study = Study({"i": intrange(0, 3)}, direction="maximize", sampler=InOrder(),
                  pruner=MetaLearnedPruner(past=past_tasks(), model=model))
    first = study.run_trial(lambda i, trial: float(curves[0][-1]) if [trial.report(v, s) for s, v in enumerate(curves[0])] else 0)
    assert first.state is TrialState.COMPLETE
    trial = study.ask()
    study.report(trial, float(curves[1][0]), 0)
    study.report(trial, float(curves[1][1]), 1)
    assert study.should_prune(trial)
    reason = study.trials[-1].prune_reason
    assert re.fullmatch(REASONS[model], reason), reason


def _tasks(n):
    return [LearningCurve((0, 1, 2), (0.1 * t, 0.2, 0.3), 0.3, task=f"t{t}") for t in range(n)]


def test_the_default_model_is_the_classifier_with_many_past_tasks_the_regression_with_few():
    from jupyter_metahpo.pruners.meta import MIN_CLASSIFIER_TASKS

    many = MetaLearnedPruner(past=_tasks(MIN_CLASSIFIER_TASKS))
    assert many.model == "auto" and many.resolved_model == "classifier" and many.p == 0.93
    # A user's own store often holds a few related studies: there the classifier pruned the best too often.
    few = MetaLearnedPruner(past=_tasks(MIN_CLASSIFIER_TASKS - 1))
    assert few.resolved_model == "regression" and few.p == 0.8
    assert "model='auto' (regression)" in repr(few)
    # Each copy with more past resolves again, at its model's own p unless one was given.
    grown = few.with_past(_tasks(MIN_CLASSIFIER_TASKS + 2)[MIN_CLASSIFIER_TASKS - 1:])
    assert grown.resolved_model == "classifier" and grown.p == 0.93
    assert MetaLearnedPruner(0.97).with_past(_tasks(20)).p == 0.97
    assert MetaLearnedPruner(model="classifier").p == 0.93 and MetaLearnedPruner(model="classifier").resolved_model == "classifier"
    assert MetaLearnedPruner(model="regression").p == 0.8 and MetaLearnedPruner(0.9, model="regression").p == 0.9
    with pytest.raises(ValueError, match=r"unknown curve model 'gbm'; choose one of \['auto', 'classifier', "):
        MetaLearnedPruner(model="gbm")


@pytest.mark.parametrize("model", sorted(REASONS))
def test_minimising_the_pruner_reads_the_curves_the_other_way_round(model):
    past = [LearningCurve(c.steps, tuple(1 - v for v in c.values), 1 - c.final, Direction.MINIMIZE, c.task)
            for c in past_tasks()]
    curves = [1 - saturating(0.9, 0.5), 1 - saturating(0.6, 0.5)]
    assert ours(curves, MetaLearnedPruner(past=past, model=model), "minimize") == [(12, False), (2, True)]
    study = Study({"i": intrange(0, 1)}, direction="minimize", sampler=InOrder(),
                  pruner=MetaLearnedPruner(past=past, model=model))
    study.run_trial(lambda i, trial: [trial.report(float(v), s) for s, v in enumerate(curves[0])] and float(curves[0][-1]))
    trial = study.ask()
    for step in range(2):
        study.report(trial, float(curves[1][step]), step)
    assert study.should_prune(trial)
    assert {"classifier": "P(beats best 0.102)", "regression": "> best 0.1"}[model] in study.trials[-1].prune_reason


def test_without_past_curves_the_meta_learned_pruner_waits_for_its_own():
    curves = [saturating(0.9, 0.5)] + [saturating(0.5, 0.5)] * 3
    assert all(not pruned for _, pruned in ours(curves, MetaLearnedPruner()))  # nothing to learn from
    # With 40 of its own finished curves it prunes by itself.
    rng = np.random.default_rng(1)
    own = [saturating(f, 0.5) for f in rng.uniform(0.5, 0.95, 40)]
    for model in REASONS:
        epochs, pruned = ours([*own, saturating(0.5, 0.5)], MetaLearnedPruner(model=model))[-1]
        assert pruned and epochs <= 5, model  # judged at its 2nd, 3rd and 5th reports


def test_the_check_schedule_judges_at_the_doubling_reports():
    pruner = MetaLearnedPruner(past=past_tasks(), model="classifier")
    seen = []
    original = pruner._classify
    pruner._classify = lambda trial, *rest: seen.append(len(trial.intermediate_values)) or original(trial, *rest)
    assert ours([saturating(0.9, 0.5, 40), saturating(0.95, 0.5, 40)], pruner) == [(40, False), (40, False)]
    assert sorted(set(seen)) == [2, 3, 5, 9, 17, 33]
    every = MetaLearnedPruner(past=past_tasks(), schedule="every")
    assert ours([saturating(0.9, 0.5), saturating(0.6, 0.5)], every)[-1] == (2, True)


# The classifier of "beats the best" ------------------------------------------------------------------------
def _pools(n_pools=3, rates=np.linspace(0.02, 0.2, 40), task=""):
    """Pools of straight curves: a faster one ends higher, so a curve above the incumbent's beats it."""
    return [LearningCurve(tuple(range(6)), tuple(r * (e + 1) for e in range(6)), 6 * r, task=f"{task}t{i}")
            for i in range(n_pools) for r in rates]


def test_the_classifier_learns_that_a_curve_above_the_incumbent_beats_it():
    from jupyter_metahpo.pruners.beats import BeatsBestClassifier, Incumbent

    classifier = BeatsBestClassifier().fit(CurveLibrary(_pools()))
    incumbent = Incumbent(6 * 0.1, 0.1 * np.arange(1, 7))
    above = classifier.probability_beats([0, 1, 2], 0.15 * np.arange(1, 4), incumbent)
    below = classifier.probability_beats([0, 1, 2], 0.05 * np.arange(1, 4), incumbent)
    assert above.probability > 0.9 and below.probability < 0.1
    assert above.n_curves == 120  # every past curve reached step 2
    # The last step: no curve goes on past it, so there is nothing to learn there.
    assert classifier.probability_beats(list(range(6)), 0.15 * np.arange(1, 7), incumbent) is None
    assert classifier.probability_beats([0, 1, 2], [0.1, 0.2, float("nan")], incumbent) is None


def test_the_studys_own_curves_join_the_classifier_as_one_more_pool():
    from jupyter_metahpo.pruners.beats import BeatsBestClassifier, Incumbent

    # Alone, a past of 2 curves gives too few examples; the study's own 40 curves are enough.
    classifier = BeatsBestClassifier().fit(CurveLibrary(_pools(1, rates=np.array([0.05, 0.1]))))
    incumbent = Incumbent(0.6, 0.1 * np.arange(1, 7))
    assert classifier.probability_beats([0, 1], [0.01, 0.02], incumbent) is None
    classifier.with_own(CurveLibrary(_pools(1, task="own")))
    answer = classifier.probability_beats([0, 1], [0.01, 0.02], incumbent)
    assert answer.probability < 0.1 and answer.n_curves == 42


def test_the_models_predict_the_final_of_a_curve_like_the_past_ones():
    library = CurveLibrary(past_tasks())
    curve = saturating(0.8, 0.5)
    for model in (StepRegression(), NearestCurves()):
        prediction = model.fit(library).predict(range(3), curve[:3])
        assert prediction.mean == pytest.approx(0.8, abs=0.01)
        assert prediction.sd < 0.02 and prediction.probability_below(0.9) > 0.99
        assert prediction.probability_below(0.7) < 0.01
    last = LastValue().fit(library).predict(range(3), curve[:3])
    assert last.mean == pytest.approx(curve[2]) and last.sd > 0.02  # the gain to come is its uncertainty
    assert StepRegression().fit(library).predict([30], [0.5]) is None  # no past curve reached step 30
    assert library.n_tasks == 6 and len(library.without("task0")) == 150


# The prior's curves and where tune finds past curves -------------------------------------------------------------
def test_a_configurations_curve_is_the_folds_mean_with_stopped_folds_at_their_best():
    folds = [
        {"score": [0.5, 0.7, 0.6], "best_epoch": 1},  # stopped after 3 epochs, kept epoch 1
        {"score": [0.4, 0.6, 0.8, 0.9], "best_epoch": 3},
    ]
    assert config_curve(folds).tolist() == pytest.approx([0.45, 0.65, 0.75, 0.8])
    assert config_curve([{"score": [0.5, None], "best_epoch": 0}]) is not None  # a NaN before the end is left
    assert config_curve([{"score": [], "best_epoch": 0}]) is None


def test_curve_files_pack_and_load_back(tmp_path):
    runs = tmp_path / "runs" / "torch_mlp_classifier"
    (runs / "curves").mkdir(parents=True)
    (runs / "_pool.json").write_text(json.dumps({"pool": [{}, {}]}))
    header = {"kind": "header", "space": "torch_mlp_classifier", "metric": "balanced_accuracy",
              "dataset": {"name": "toy", "task": "classification"}}
    lines = [header] + [
        {"kind": "eval", "index": i, "config": {"lr": 0.1 * (i + 1)}, "error": None, "score": 0.6 + 0.1 * i,
         "curves": [{"score": [0.5, 0.6 + 0.1 * i], "best_epoch": 1}]}
        for i in range(2)
    ]
    (runs / "curves" / "toy.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    task = read_curve_run(runs / "curves" / "toy.jsonl")
    assert task.finals == (0.6, 0.7) and [c.tolist() for c in task.curves] == [[0.5, 0.6], [0.5, pytest.approx(0.7)]]
    path, n = pack_curves(tmp_path / "runs", "torch_mlp_classifier", tmp_path / "data")
    assert n == 1 and path == tmp_path / "data" / "curves" / "torch_mlp_classifier.json.gz"
    (loaded,) = load_prior_curves("torch_mlp_classifier", data_dir=tmp_path / "data")
    assert loaded.task == "toy" and loaded.finals == (0.6, 0.7)
    with gzip.open(path, "wt") as handle:
        json.dump({"format": "something else"}, handle)
    with pytest.raises(ValueError, match="has format 'something else'"):
        load_prior_curves("torch_mlp_classifier", data_dir=tmp_path / "data")


def test_the_bundled_prior_has_curves_for_the_torch_mlp_spaces():
    for space in ("torch_mlp_classifier", "torch_mlp_regressor"):
        tasks = load_prior_curves(space)
        assert len(tasks) >= 10
        assert all(abs(c[-1] - f) < 1e-3 for t in tasks for c, f in zip(t.curves, t.finals))


class _Usable:
    def __init__(self, study):
        self.study = study


class _Past:
    def __init__(self, study_id, source, direction="maximize", task_name="t"):
        self.study_id, self.source, self.direction, self.task_name = study_id, source, Direction.parse(direction), task_name


def test_past_curves_come_from_related_store_studies_and_the_priors_curve_files(tmp_path):
    store = ExperienceStore(tmp_path / "store")

    def train(x, trial):
        for epoch in range(4):
            trial.report(x * (epoch + 1), epoch)
        return 4 * x

    first = tune(train, {"x": uniform(0, 1)}, 3, store=store, name="first", seed=0, direction="maximize")
    usable = [_Usable(_Past(first.study_id, "store")), _Usable(_Past("prior/torch_mlp_classifier/keel_bupa", "prior"))]
    curves = past_learning_curves(usable, store, Direction.MAXIMIZE)
    from_store = [c for c in curves if c.task == "t"]
    assert len(from_store) == 3 and all(len(c.steps) == 4 for c in from_store)
    assert {c.task for c in curves} == {"t", "keel_bupa"} and len(curves) == 3 + 64
    # A study optimised the other way is not on the same scale, nor is the prior when minimising.
    assert past_learning_curves(usable, store, Direction.MINIMIZE) == []


def test_tune_gives_the_meta_learned_pruner_the_curves_of_related_studies(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    rng = np.random.default_rng(0)
    finals = iter(rng.uniform(0.5, 0.95, 200))

    def train(x, trial):
        curve = saturating(next(finals), 0.5)
        for epoch, value in enumerate(curve):
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise TrialPruned()
        return float(curve[-1])

    tune(train, {"x": uniform(0, 1)}, 25, store=store, name="before", seed=0, direction="maximize")
    later = tune(train, {"x": uniform(0, 1)}, 12, store=store, name="after", seed=1, direction="maximize", pruner="meta")
    reasons = [t.prune_reason for t in later.trials if t.state is TrialState.PRUNED]
    assert reasons  # the earlier study's 25 curves let it prune from the first trials on
    assert all(int(r.rsplit("from ", 1)[1].split()[0]) >= 25 for r in reasons)
    assert math.isfinite(later.best_value)


# The meta-learned pruner's calibration to the task ----------------------------------------------


class _OffByConstant:
    """Predicts the final as the current value plus 0.1, with sd 0.1 (a fake model)."""

    def predict(self, steps, values):
        from jupyter_metahpo.pruners.curves import FinalPrediction

        return FinalPrediction(values[-1] + 0.1, 0.1, 50)


def test_task_calibration_corrects_the_bias_and_spread_the_own_curves_show():
    from jupyter_metahpo.pruners.curves import LearningCurve
    from jupyter_metahpo.pruners.meta import task_calibration
    from jupyter_metahpo.trial import Direction

    # Each own curve gains 0.3 after step 1 (the model says 0.1): errors 0.2, standardised 2.
    own = [LearningCurve((0, 1, 2), (x, x, x + 0.3), x + 0.3) for x in (0.1, 0.2, 0.3, 0.4)]
    bias, scale = task_calibration(_OffByConstant(), own, 1, Direction.MAXIMIZE, weight=4.0)
    assert bias == pytest.approx(4 * 0.2 / 8) and scale == pytest.approx(((4 * 4 + 4) / 8) ** 0.5)
    assert task_calibration(_OffByConstant(), own, 2, Direction.MAXIMIZE, 4.0) == (0.0, 1.0)  # nothing left after step 2
    # Curves the model predicts exactly: narrower than the past says, by the weight of the evidence.
    exact = [LearningCurve((0, 1, 2), (x, x, x + 0.1), x + 0.1) for x in (0.1, 0.2, 0.3, 0.4)]
    bias, scale = task_calibration(_OffByConstant(), exact, 1, Direction.MAXIMIZE, weight=4.0)
    assert bias == pytest.approx(0.0, abs=1e-12) and scale == pytest.approx(0.5**0.5)
    # Minimising: values and finals are turned so that higher is better before the model sees them.
    losses = [LearningCurve((0, 1, 2), (-x, -x, -x - 0.3), -x - 0.3, Direction.MINIMIZE) for x in (0.1, 0.2)]
    bias, _ = task_calibration(_OffByConstant(), losses, 1, Direction.MINIMIZE, weight=0.0)
    assert bias == pytest.approx(0.2)


def test_calibration_is_checked_and_kept_by_with_past():
    from jupyter_metahpo.pruners import MetaLearnedPruner

    with pytest.raises(ValueError, match="calibration"):
        MetaLearnedPruner(calibration=-1)
    assert MetaLearnedPruner(calibration=3).with_past([]).calibration == 3.0
