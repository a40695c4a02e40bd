"""A past study's scores predicted at the values a new objective fixes (meta/slicing.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.carry import carry_over
from jupyter_metahpo.meta.relatedness import StudyContext
from jupyter_metahpo.meta.slicing import FixedSlicer, fixed_slice
from jupyter_metahpo.meta.source import describe_objective
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform
from jupyter_metahpo.trial import Direction

SVC_SPACE = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0), "class_weight": choice(None, "balanced")}


def _past(space, configs, values, study_id, direction=Direction.MAXIMIZE, space_name="svc"):
    return PastStudy(
        study_id=study_id, task_name=study_id, space=SearchSpace(space), configs=tuple(configs),
        values=tuple(float(v) for v in values), direction=direction, meta_features={}, source="store",
        extra={"space_name": space_name},
    )


def _interaction_study(seed=0, n=64, direction=Direction.MAXIMIZE):
    """Its best x depends on z: score -(x - z)^2 (as a learning rate depends on the number of rounds)."""
    space = {"x": uniform(0.0, 1.0), "y": uniform(0.0, 1.0), "z": uniform(0.0, 1.0)}
    rng = np.random.default_rng(seed)
    configs = [SearchSpace(space).sample(rng) for _ in range(n)]
    scores = [-(c["x"] - c["z"]) ** 2 for c in configs]
    values = scores if direction is Direction.MAXIMIZE else [-s for s in scores]
    return _past(space, configs, values, f"interaction-{seed}", direction, space_name="toy")


def test_the_cut_is_placed_at_the_fixed_values_and_skips_what_the_past_cannot_express():
    space = SearchSpace({**SVC_SPACE, "max_iter": intrange(10, 1000, log=True)})
    cut = fixed_slice(space, {"class_weight": None, "max_iter": 100, "kernel": "rbf"})
    assert cut.columns == (2, 3)
    assert cut.units[0] == space["class_weight"].to_unit(None)
    assert math.isclose(cut.units[1], space["max_iter"].to_unit(100))
    assert cut.described == "class_weight=None, max_iter=100"
    # An option never offered, a string for a number, a value far outside: nothing to cut at.
    assert fixed_slice(space, {"class_weight": {0: 1.0}, "max_iter": "auto"}) is None
    assert fixed_slice(space, {"max_iter": 10**9}) is None
    # Within one range-width beyond the edge: cut at the edge.
    assert fixed_slice(space, {"max_iter": 2000}).units == (1.0,)
    # Zero on a log scale (sklearn's l2_regularization=0): the scale's low end, where the past ran "about none".
    l2 = SearchSpace({"l2_regularization": loguniform(1e-6, 10.0), "C": loguniform(1e-2, 1e3)})
    assert fixed_slice(l2, {"l2_regularization": 0.0}).units == (0.0,)
    assert fixed_slice(l2, {"l2_regularization": -1.0}) is None


def test_scores_are_predicted_where_the_fixed_parameter_is_set():
    study = _interaction_study()
    slicer = FixedSlicer([study])
    predicted, cut = slicer.scores(study, {"z": 0.8})
    assert cut.described == "z=0.8"
    truth = np.array([-(c["x"] - 0.8) ** 2 for c in study.configs])
    assert np.corrcoef(predicted, truth)[0, 1] > 0.9
    # The study's own best trials were best at their own z; at z = 0.8 the best lie near x = 0.8.
    assert abs(study.configs[int(np.argmax(predicted))]["x"] - 0.8) < 0.15
    assert np.corrcoef(study.scores(), truth)[0, 1] < 0.5


def test_a_long_study_is_modelled_on_a_spread_of_its_trials_and_every_trial_is_scored():
    from jupyter_metahpo.meta import slicing

    study = _interaction_study(n=3 * slicing.MODEL_POINTS)
    slicer = FixedSlicer([study])
    predicted, _ = slicer.scores(study, {"z": 0.8})
    assert len(predicted) == len(study.configs)
    truth = np.array([-(c["x"] - 0.8) ** 2 for c in study.configs])
    assert np.corrcoef(predicted, truth)[0, 1] > 0.9


def test_a_minimised_study_keeps_its_direction():
    study = _interaction_study(direction=Direction.MINIMIZE)
    slicer = FixedSlicer([study])
    predicted, _ = slicer.scores(study, {"z": 0.2})  # scores: higher is better
    assert abs(study.configs[int(np.argmax(predicted))]["x"] - 0.2) < 0.15


def test_too_few_trials_or_flat_scores_are_not_modelled():
    study = _interaction_study(n=6)
    assert FixedSlicer([study]).scores(study, {"z": 0.5}) is None
    flat = _past(study.space, study.configs, [1.0] * len(study.configs), "flat", space_name="toy")
    assert FixedSlicer([flat]).scores(flat, {"z": 0.5}) is None


def _svc_past(n=40, seed=0):
    rng = np.random.default_rng(seed)
    configs = [SearchSpace(SVC_SPACE).sample(rng) for _ in range(n)]
    values = [math.log(c["C"]) + (5.0 if c["class_weight"] == "balanced" else 0.0) for c in configs]
    return _past(SVC_SPACE, configs, values, "svc-past")


def _svc_context(fixing: str) -> StudyContext:
    cell = f"def train(C, gamma):\n    return cross_val_score(SVC(C=C, gamma=gamma{fixing}), X, y).mean()\n"
    return StudyContext(source=describe_objective(cell, ["C", "gamma"]))


def test_a_subset_carries_every_past_trial_scored_at_the_value_the_cell_fixes():
    past = _svc_past()
    space = SearchSpace({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]})
    (moved,), report = carry_over([past], space, _svc_context(", class_weight=None"))
    assert len(moved.configs) == len(past.configs) and moved.n_dropped == 0
    assert moved.predicted_at == "class_weight=None"
    assert report.sliced == {"class_weight=None": 1}
    assert "1 studies' scores predicted at the values your objective fixes (class_weight=None: 1)" in report.summary()
    # The "balanced" trials' +5 is gone: at class_weight=None they score about log(C).
    balanced = [i for i, c in enumerate(past.configs) if c["class_weight"] == "balanced"]
    errors = [abs(moved.values[i] - math.log(past.configs[i]["C"])) for i in balanced]
    assert np.median(errors) < 1.0
    assert "is predicted to score" in moved.scored(balanced[0]) and "with your class_weight=None" in moved.scored(0)
    # A prediction beyond what the study measured reads as that bound, never as a score it cannot have.
    high, low = max(past.values), min(past.values)
    above = f"is predicted to score above its highest measured value, {high:.4g}, with your class_weight=None"
    below = f"is predicted to score below its lowest measured value, {low:.4g}, with your class_weight=None"
    for i, value in enumerate(moved.values):
        inside = f"is predicted to score {value:.4g} with your class_weight=None"
        assert moved.scored(i) == (above if value > high else below if value < low else inside)
    beyond = dataclasses.replace(moved, values=np.array([high + 0.5, low - 0.5, (high + low) / 2]))
    middle = f"is predicted to score {(high + low) / 2:.4g} with your class_weight=None"
    assert [beyond.scored(i) for i in range(3)] == [above, below, middle]
    # Without a source to read (handed over by past=), nothing is fixed: the trials' own scores.
    (plain,), _ = carry_over([past], space, StudyContext(explicit=frozenset({"svc-past"})))
    assert plain.predicted_at == "" and plain.values.tolist() == list(past.values)


def test_the_warm_start_says_its_pick_was_predicted_at_the_fixed_value():
    from jupyter_metahpo.meta.strategies import TaskDescription, make_strategy

    past = _svc_past()
    space = SearchSpace({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]})
    usable, _ = carry_over([past], space, _svc_context(", class_weight=None"))
    (proposal, *_) = make_strategy("default", seed=0).propose_from(TaskDescription(None, None, None), space, usable, 2)
    assert "is predicted to score" in proposal.reason and "with your class_weight=None" in proposal.reason


def test_the_warm_start_summary_says_where_the_past_was_read():
    from jupyter_metahpo.pipeline import Experience
    from jupyter_metahpo.warm_report import WarmStartSummary

    space = SearchSpace({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]})
    experience = Experience.of(space, [_svc_past()], _svc_context(", class_weight=None"))
    summary = WarmStartSummary.from_info({"warm_start": experience.summary()})
    expected = ("their scores predicted at your class_weight=None (fixed in your objective or its estimator's "
                "default; they varied it)")
    assert expected in summary.headline()


def test_a_fixed_value_the_study_did_worse_with_is_costed_and_its_best_value_named():
    past = _svc_past()  # class_weight="balanced" adds 5 to every score; log(C) spans about 11.5
    slicer = FixedSlicer([past])
    (cost,) = slicer.costs(past, {"class_weight": None})
    assert cost.setting == "class_weight=None" and cost.best == "'balanced'"
    span = max(past.scores()) - min(past.scores())
    assert abs(cost.cost - 5.0 / span) < 0.1  # the +5 it loses, as a share of the study's range
    (free,) = slicer.costs(past, {"class_weight": "balanced"})
    assert free.cost < 0.05  # its own best value costs nothing


def test_an_interacting_fixed_value_costs_only_what_the_other_parameters_cannot_make_up():
    study = _interaction_study()  # -(x - z)^2: any z is as good once x follows it
    (cost,) = FixedSlicer([study]).costs(study, {"z": 0.8})
    assert cost.cost < 0.1


def _svc_study_of(name, imbalance, seed):
    """An SVC study on data whose minority share is ``imbalance``: "balanced" helps in proportion to how rare it is."""
    rng = np.random.default_rng(seed)
    configs = [SearchSpace(SVC_SPACE).sample(rng) for _ in range(40)]
    gain = 10.0 * (0.5 - imbalance)
    values = [math.log(c["C"]) + (gain if c["class_weight"] == "balanced" else 0.0) for c in configs]
    return PastStudy(
        study_id=name, task_name=name, space=SearchSpace(SVC_SPACE), configs=tuple(configs),
        values=tuple(values), direction=Direction.MAXIMIZE, source="store", extra={"space_name": "svc"},
        meta_features={"minority_share": imbalance, "log_n_rows": 6.0}, meta_feature_set="toy-features",
    )


def _toy_task(minority_share):
    from jupyter_metahpo.meta.base import TaskDescription

    return TaskDescription("new", {"minority_share": minority_share, "log_n_rows": 6.0}, "toy-features")


def test_the_summary_notes_a_fixed_value_that_costs_the_studies_of_data_like_the_users():
    import dataclasses

    from jupyter_metahpo.pipeline import Experience
    from jupyter_metahpo.warm_report import WarmStartSummary

    # Ten studies of imbalanced data (class_weight="balanced" helps much), ten of balanced data (it does nothing).
    past = [_svc_study_of(f"rare-{i}", 0.05 + 0.01 * i, i) for i in range(10)]
    past += [_svc_study_of(f"even-{i}", 0.5 - 0.002 * i, 100 + i) for i in range(10)]
    space = SearchSpace({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]})

    def notes(minority_share):
        context = dataclasses.replace(_svc_context(", class_weight=None"), task=_toy_task(minority_share),
                                      explicit=frozenset(s.study_id for s in past))
        experience = Experience.of(space, past, context)
        # Only the 8 sources nearest the task were asked (each study carries what it was told).
        assert sum(bool(moved.fixed_costs) for moved in experience.usable) == 8
        return WarmStartSummary.from_info({"warm_start": experience.summary()})

    summary = notes(0.06)
    (note,) = summary.notes()
    assert f"- note: {note}" in summary.lines() and "<b>note</b>: your fixed class_weight=None" in summary._repr_html_()  # imbalanced like the first ten: their 8 nearest lose much at None
    assert note.startswith("your fixed class_weight=None costs 8 of the 8 related past studies nearest your data")
    assert "their best trials ran class_weight='balanced' (8 of 8): add class_weight to your space" in note
    assert notes(0.5).notes() == []  # balanced data: the nearest studies lose nothing at None


def _subset_objective(C, gamma):
    """A subset cell: the SVC's class_weight is fixed (None) in the code; the score is a stand-in."""
    from sklearn.svm import SVC

    SVC(C=C, gamma=gamma, class_weight=None)
    return -abs(math.log10(C) - 1.0)


def test_the_text_progress_and_the_widget_show_the_note_too(monkeypatch):
    import io

    import jupyter_metahpo.pipeline

    from jupyter_metahpo import tune
    from jupyter_metahpo.progress import TextProgress
    from jupyter_metahpo.widgets.progress import ProgressWidget

    past = [_svc_study_of(f"rare-{i}", 0.05 + 0.01 * i, i) for i in range(4)]  # "balanced" helps each of them
    monkeypatch.setattr(jupyter_metahpo.pipeline, "load_prior", lambda *a, **k: [])  # these four are the whole past
    lines, widget = io.StringIO(), ProgressWidget()
    space = {"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]}
    result = tune(_subset_objective, space, 2, direction="maximize", seed=0, past=past, store=False,
                  callbacks=[TextProgress(lines), widget])
    (note,) = result.warm_start.notes()  # no data given: every source that varied it speaks
    assert note.startswith("your fixed class_weight=None costs 4 of 4 related past studies that varied it")
    assert f"note: {note}" in lines.getvalue().splitlines()
    assert "<b>note</b>: your fixed class_weight=None costs 4 of 4" in widget.static_html()
