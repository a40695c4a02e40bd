"""Warm start for the spaces people write: matching by name, alias and estimator argument, kind
conversions, the relatedness guard, parameters the past never saw, and saying what happened."""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import pytest

from helpers.cells import run_cell
from jupyter_metahpo import tune
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.carry import carry_over, explain_cold
from jupyter_metahpo.meta.compat import TransferReport, transfer_study
from jupyter_metahpo.meta.matching import NO_VALUE, canonical_name, convert_value, match_spaces, nearest_layer_sizes
from jupyter_metahpo.meta.relatedness import StudyContext, past_source
from jupyter_metahpo.meta.source import describe_objective
from jupyter_metahpo.meta.strategies import TaskDescription
from jupyter_metahpo.pipeline import Experience
from jupyter_metahpo.progress import TextProgress
from jupyter_metahpo.samplers.warm_start import WarmStartSampler
from jupyter_metahpo.warm_report import WarmStartSummary
from jupyter_metahpo.samplers._singletask_gp import fit_singletask_gp
from jupyter_metahpo.samplers.models import SubspaceModel
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform
from jupyter_metahpo.trial import Direction

TORCH_PRIOR_SPACE = SearchSpace(
    {"learning_rate": loguniform(1e-4, 3e-2), "hidden_width": intrange(16, 256, log=True), "dropout": uniform(0.0, 0.5)}
)


def _past(space, configs, values, study_id="p", task="t", **kwargs):
    return PastStudy.from_arrays(study_id, task, SearchSpace(space), "maximize", configs, values, **kwargs)


def _torch_history(study_id="torch-past", n=12, seed=0, **kwargs):
    """A past study of the torch MLP space whose best learning rate is 3e-3 and best width 128."""
    rng = np.random.default_rng(seed)
    configs = [TORCH_PRIOR_SPACE.sample(rng) for _ in range(n)]
    values = [-abs(math.log10(c["learning_rate"] / 3e-3)) - abs(math.log2(c["hidden_width"] / 128)) for c in configs]
    return _past(TORCH_PRIOR_SPACE, configs, values, study_id, **kwargs)


# Matching -------------------------------------------------------------------------------------


def test_aliases_match_the_names_people_write():
    user = SearchSpace({"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True), "wd": loguniform(1e-6, 1e-2)})
    match = match_spaces(user, SearchSpace({**TORCH_PRIOR_SPACE, "weight_decay": loguniform(1e-6, 1e-2)}))
    assert [(link.new, link.past, link.how) for link in match.links] == [
        ("lr", "learning_rate", "alias"), ("hidden", "hidden_width", "alias"), ("wd", "weight_decay", "alias")
    ]
    assert match.ignored == ("dropout",)
    assert canonical_name("ETA") == canonical_name("learning-rate") == "learning_rate"


def test_the_estimator_argument_ties_a_parameter_no_alias_covers():
    cell = "def train(d, leaves):\n    return RandomForestClassifier(max_depth=d, min_samples_leaf=leaves).fit(X, y)\n"
    user = SearchSpace({"d": intrange(2, 20), "leaves": intrange(1, 30)})
    past = SearchSpace({"max_depth": intrange(1, 32), "min_samples_leaf": intrange(1, 32, log=True)})
    assert match_spaces(user, past).links == ()  # neither name nor alias says it
    roles = StudyContext(source=describe_objective(cell, user.names)).roles(user)
    match = match_spaces(user, past, roles)
    assert [(link.new, link.past, link.how) for link in match.links] == [
        ("d", "max_depth", "estimator"), ("leaves", "min_samples_leaf", "estimator")
    ]


def test_a_name_match_is_never_taken_by_an_alias():
    user = SearchSpace({"lr": loguniform(1e-4, 1e-1), "learning_rate": loguniform(1e-4, 1e-1)})
    match = match_spaces(user, SearchSpace({"learning_rate": loguniform(1e-4, 1e-1), "lr": loguniform(1e-4, 1e-1)}))
    assert {(link.new, link.past, link.how) for link in match.links} == {
        ("lr", "lr", "name"), ("learning_rate", "learning_rate", "name")
    }


# Kind conversions -----------------------------------------------------------------------------


def test_numbers_convert_between_integer_and_float_ranges_and_choices_of_numbers():
    assert convert_value(37, intrange(1, 100), loguniform(1.0, 100.0)) == 37.0
    assert convert_value(0.0123, loguniform(1e-4, 1.0), intrange(1, 10)) == pytest.approx(0.0123)
    assert convert_value(100, intrange(16, 256, log=True), choice(16, 32, 64, 128)) == 128  # nearest on a log scale
    assert convert_value(64, choice(16, 32, 64), intrange(8, 512)) == 64.0
    match = match_spaces(SearchSpace({"bs": choice(16, 32, 64), "lr": loguniform(1e-4, 1.0)}),
                         SearchSpace({"batch_size": intrange(16, 256), "learning_rate": uniform(1e-4, 1.0)}))
    assert [link.conversion for link in match.links] == ["their values rounded to your nearest option", None]


def test_feature_shares_convert_to_and_from_sqrt_and_log2_with_the_number_of_features():
    fraction, options = uniform(0.05, 1.0), choice("sqrt", "log2", None)
    assert convert_value("sqrt", options, fraction, n_features_past=16) == pytest.approx(0.25)
    assert convert_value(None, options, fraction, n_features_past=16) == 1.0
    assert convert_value("log2", options, fraction, n_features_past=None) is NO_VALUE  # unknown width: no value
    assert convert_value(0.3, fraction, options, n_features_new=16) == "sqrt"
    assert convert_value(0.9, fraction, options, n_features_new=16) is None  # the option None: all features
    user = SearchSpace({"max_features": options, "n_estimators": intrange(10, 100)})
    link = match_spaces(user, SearchSpace({"max_features": fraction, "n_estimators": intrange(10, 100)})).links[0]
    assert link.conversion == "their shares of the features as your options"


def test_a_share_far_from_every_option_has_no_counterpart_and_its_trial_is_dropped():
    fraction, options = uniform(0.05, 1.0), choice("sqrt", "log2", None)
    # 57 columns: "sqrt" is 0.132 of them, "log2" 0.102, None all of them.
    assert convert_value(0.12, fraction, options, n_features_new=57) == "sqrt"
    assert convert_value(0.7, fraction, options, n_features_new=57) is None  # within 1.5 of all of them
    assert convert_value(0.4, fraction, options, n_features_new=57) is NO_VALUE  # 3x "sqrt", 0.4x None
    # 1,000 columns: "sqrt" is 0.03, below what the past could run (0.05): its trials at 0.05-0.07 stand for it.
    assert convert_value(0.05, fraction, options, n_features_new=1000) == "sqrt"
    assert convert_value(0.07, fraction, options, n_features_new=1000) == "sqrt"
    assert convert_value(0.1, fraction, options, n_features_new=1000) is NO_VALUE
    past = PastStudy(
        study_id="forest", task_name="forest",
        space=SearchSpace({"max_features": fraction, "n_estimators": intrange(10, 100)}),
        configs=({"max_features": 0.12, "n_estimators": 50}, {"max_features": 0.4, "n_estimators": 60},
                 {"max_features": 0.9, "n_estimators": 70}),
        values=(0.8, 0.9, 0.7), direction=Direction.MAXIMIZE, meta_features={"log_n_columns": math.log(57)},
        source="store", extra={},
    )
    user = SearchSpace({"max_features": options, "n_estimators": intrange(10, 100)})
    report = TransferReport()
    moved = transfer_study(past, user, report, match=match_spaces(user, past.space), n_features=57)
    assert [c["max_features"] for c in moved.configs] == ["sqrt", None] and list(moved.values) == [0.8, 0.7]
    assert report.dropped == {"max_features far from every option's share of the features": 1}


LOGISTIC_PENALTY_CELL = ("def train(C, penalty):\n    return score(LogisticRegression(C=C, penalty=penalty, "
                         "solver='liblinear'))\n")


def test_a_penalty_choice_converts_to_and_from_the_elastic_net_mixing_ratio():
    ratio, penalties = uniform(0.0, 1.0), choice("l1", "l2")
    assert convert_value(0.97, ratio, penalties) == "l1" and convert_value(0.04, ratio, penalties) == "l2"
    assert convert_value(0.5, ratio, penalties) is NO_VALUE  # a mix of both: no counterpart
    assert convert_value(0.5, ratio, choice("l1", "l2", "elasticnet")) == "elasticnet"
    assert convert_value(0.95, ratio, choice("l2", None)) is NO_VALUE  # near l1, which the user does not offer
    assert convert_value("l1", penalties, ratio) == 1.0 and convert_value("l2", penalties, ratio) == 0.0
    # The user's penalty is the prior's l1_ratio by what it sets in the estimator (not by name or alias).
    space = SearchSpace({"C": loguniform(1e-3, 1e3), "penalty": penalties})
    prior = SearchSpace({"C": loguniform(1e-4, 1e3), "l1_ratio": ratio, "class_weight": choice(None, "balanced")})
    assert match_spaces(space, prior).shared == ("C",)
    source = describe_objective(LOGISTIC_PENALTY_CELL, space.names)
    match = match_spaces(space, prior, StudyContext(source=source).roles(space))
    assert [(link.new, link.past, link.how, link.conversion) for link in match.links] == [
        ("C", "C", "name", None), ("penalty", "l1_ratio", "estimator", "their l1_ratio near 1 / 0 as your 'l1' / 'l2'")
    ]
    # A penalty the objective fixes keeps its own role: "l2" is no value of l1_ratio.
    fixed = describe_objective("def train(C):\n    return score(LogisticRegression(C=C, penalty='l2'))\n", ["C"])
    settings = {f.role: f.value for f in fixed.settings}  # (with scikit-learn imported, its left-out defaults too)
    assert settings["penalty"] == "l2" and settings.get("l1_ratio") in (None, 0.0)


def test_a_logistic_regression_cell_tuning_penalty_warms_from_the_prior_on_both_parameters():
    # Before, the penalty choice matched nothing in the prior (its l1_ratio), one shared parameter of two: cold.
    from jupyter_metahpo.prior.load import load_prior

    prior = [s for s in load_prior() if s.extra.get("space_name") == "logistic_regression"]
    space = SearchSpace({"C": loguniform(1e-3, 1e3), "penalty": choice("l1", "l2")})
    context = StudyContext(task=TaskDescription("new", dict(prior[0].meta_features), prior[0].meta_feature_set),
                           source=describe_objective(LOGISTIC_PENALTY_CELL, space.names), task_type="classification")
    experience = Experience.of(space, prior, context)
    assert len(experience.usable) == len(prior)
    moved = experience.usable[0]
    assert {c["penalty"] for c in moved.configs} == {"l1", "l2"}
    assert set(experience.report.dropped) == {"penalty: their l1_ratio mixes the penalties"}
    kept = [c for c in moved.study.configs if min(c["l1_ratio"], 1 - c["l1_ratio"]) <= 0.1]
    assert len(moved.configs) == len(kept) > 0


MLP_LAYERS_CELL = ("def train(hidden_layer_sizes, alpha):\n    return score(MLPClassifier("
                   "hidden_layer_sizes=hidden_layer_sizes, alpha=alpha))\n")
LAYER_OPTIONS = choice((32,), (64,), (128,), (64, 64), (128, 128))


def test_a_choice_of_layer_sizes_is_the_past_width_and_number_of_layers_together():
    prior = SearchSpace({"hidden_layer_width": intrange(16, 256, log=True), "n_hidden_layers": intrange(1, 3),
                         "alpha": loguniform(1e-6, 1e-1)})
    space = SearchSpace({"hidden_layer_sizes": LAYER_OPTIONS, "alpha": loguniform(1e-6, 1e-1)})
    roles = StudyContext(source=describe_objective(MLP_LAYERS_CELL, space.names)).roles(space)
    assert roles["hidden_layer_sizes"] == "hidden_layer_sizes"
    match = match_spaces(space, prior, roles)
    layers = match.link("hidden_layer_sizes")
    assert (layers.past, layers.also, layers.how) == ("hidden_layer_width", ("n_hidden_layers",), "estimator")
    assert match.ignored == () and match.unmatched == ()
    assert layers.describe() == ("hidden_layer_sizes (their hidden_layer_width and n_hidden_layers, by what it sets "
                                 "in your objective), their width and number of layers as your nearest layer sizes")
    # Without the objective, a name that says layers does it too; a choice of numbers named so does not.
    assert match_spaces(SearchSpace({"layers": LAYER_OPTIONS}), prior).link("layers").also == ("n_hidden_layers",)
    assert match_spaces(SearchSpace({"layers": choice(1, 2)}), prior).link("layers").past == "n_hidden_layers"
    # Nearest: doublings of the (geometric mean) width plus layers more or fewer, within one of them.
    assert nearest_layer_sizes(70, 2, LAYER_OPTIONS) == (64, 64)
    assert nearest_layer_sizes(100, 1, LAYER_OPTIONS) == (128,)  # log2: 0.36 from 128, 0.64 from 64
    assert nearest_layer_sizes(128, 3, LAYER_OPTIONS) == (128, 128)  # one layer fewer, the same width
    assert nearest_layer_sizes(40, 3, LAYER_OPTIONS) is NO_VALUE  # one layer and 0.68 doublings from (64, 64)
    assert nearest_layer_sizes(16, 1, LAYER_OPTIONS) == (32,)  # one doubling below it
    assert nearest_layer_sizes(16, 2, LAYER_OPTIONS) is NO_VALUE  # a layer and a doubling from (32,), 2 from (64, 64)
    assert nearest_layer_sizes(90, 2, choice((128, 64), (32,))) == (128, 64)  # an uneven tuple: its mean width


def test_past_trials_move_to_the_nearest_layer_sizes_and_the_far_ones_are_dropped():
    prior = SearchSpace({"hidden_layer_width": intrange(16, 256, log=True), "n_hidden_layers": intrange(1, 3),
                         "alpha": loguniform(1e-6, 1e-1)})
    past = _past(prior, [{"hidden_layer_width": 60, "n_hidden_layers": 2, "alpha": 1e-4},
                         {"hidden_layer_width": 140, "n_hidden_layers": 1, "alpha": 1e-3},
                         {"hidden_layer_width": 20, "n_hidden_layers": 3, "alpha": 1e-2}], [0.9, 0.8, 0.7])
    space = SearchSpace({"hidden_layer_sizes": LAYER_OPTIONS, "alpha": loguniform(1e-6, 1e-1)})
    report = TransferReport()
    moved = transfer_study(past, space, report, match=match_spaces(space, prior))
    assert moved.configs == ({"hidden_layer_sizes": (64, 64), "alpha": 1e-4},
                             {"hidden_layer_sizes": (128,), "alpha": 1e-3})
    assert list(moved.values) == [0.9, 0.8]
    assert report.dropped == {"hidden_layer_sizes far from every option's width and number of layers": 1}


def test_an_mlp_cell_tuning_layer_sizes_as_a_choice_warms_from_the_prior_on_them():
    # Before, tuples were no choice() options at all; with them, the layer sizes matched nothing in the prior.
    from jupyter_metahpo.prior.load import load_prior

    prior = [s for s in load_prior() if s.extra.get("space_name") == "mlp_classifier"]
    space = SearchSpace({"hidden_layer_sizes": LAYER_OPTIONS, "alpha": loguniform(1e-6, 1e-1)})
    context = StudyContext(task=TaskDescription("new", dict(prior[0].meta_features), prior[0].meta_feature_set),
                           source=describe_objective(MLP_LAYERS_CELL, space.names), task_type="classification")
    experience = Experience.of(space, prior, context)
    assert len(experience.usable) == len(prior)
    moved = experience.usable[0]
    assert moved.match.link("hidden_layer_sizes") is not None
    assert {c["hidden_layer_sizes"] for c in moved.configs} == set(LAYER_OPTIONS.options)


def test_fixed_layer_sizes_are_the_width_and_number_of_layers_the_prior_is_predicted_at():
    from jupyter_metahpo.prior.load import load_prior

    def settings(layers):
        cell = f"def train(alpha, w):\n    return score(MLPClassifier(hidden_layer_sizes={layers}, alpha=alpha))\n"
        return {f.describe() for f in describe_objective(cell, ["alpha", "w"]).settings if "hidden" in f.role}

    assert settings("(64, 64)") == settings("[64] * 2") == {"hidden_layer_width=64", "n_hidden_layers=2"}
    assert settings("(w,) * 2") == {"n_hidden_layers=2"}  # before: shown as hidden_layer_sizes=2
    # Layers of two widths are read at their geometric mean width, as a choice's option (64, 32) is matched.
    assert settings("(64, 32)") == {"hidden_layer_width=45", "n_hidden_layers=2"}
    prior = [s for s in load_prior() if s.extra.get("space_name") == "mlp_classifier"]
    space = SearchSpace({"alpha": loguniform(1e-6, 1e-1), "lr": loguniform(1e-4, 1e-1)})
    cell = ("def train(alpha, lr):\n    return score(MLPClassifier(hidden_layer_sizes=(64, 64), alpha=alpha, "
            "learning_rate_init=lr))\n")
    context = StudyContext(task=TaskDescription("new", dict(prior[0].meta_features), prior[0].meta_feature_set),
                           source=describe_objective(cell, space.names), task_type="classification")
    experience = Experience.of(space, prior, context)
    assert "hidden_layer_width=64, n_hidden_layers=2" in experience.usable[0].predicted_at


def test_left_out_layer_sizes_are_scikit_learns_one_layer_of_100_the_prior_is_predicted_at():
    import sklearn.neural_network  # noqa: F401 - the cell imported it (defaults are read only then)

    from jupyter_metahpo.prior.load import load_prior

    prior = [s for s in load_prior() if s.extra.get("space_name") == "mlp_classifier"]
    space = SearchSpace({"alpha": loguniform(1e-6, 1e-1), "lr": loguniform(1e-4, 1e-1)})
    cell = "def train(alpha, lr):\n    return score(MLPClassifier(alpha=alpha, learning_rate_init=lr))\n"
    context = StudyContext(task=TaskDescription("new", dict(prior[0].meta_features), prior[0].meta_feature_set),
                           source=describe_objective(cell, space.names), task_type="classification")
    experience = Experience.of(space, prior, context)
    assert "hidden_layer_width=100, n_hidden_layers=1" in experience.usable[0].predicted_at


def test_kinds_that_mean_different_things_are_refused_with_the_reason():
    match = match_spaces(SearchSpace({"activation": choice("relu", "tanh"), "lr": loguniform(1e-3, 1.0)}),
                         SearchSpace({"activation": uniform(0, 1), "lr": loguniform(1e-3, 1.0)}))
    assert match.shared == ("lr",)
    assert match.refused == {"activation": "your activation is a choice, their activation is a float range"}


def test_other_ranges_are_converted_by_value_and_the_report_says_how_much_fell_outside():
    past = _torch_history(n=40)
    user = SearchSpace({"lr": loguniform(1e-3, 1e-1), "hidden": intrange(64, 512, log=True)})
    (carried,), report = carry_over([past], user, StudyContext(explicit=frozenset({past.study_id})))
    moved = [c for c in carried.configs]
    assert all(1e-3 <= c["lr"] <= 1e-1 and 64 <= c["hidden"] <= 512 for c in moved)
    outside = report.sources[past.study_id]["outside"]
    assert 0 < outside == pytest.approx((carried.n_clipped + carried.n_dropped) / 40)
    assert report.clipped_trials + report.dropped_trials > 0


# Relatedness ----------------------------------------------------------------------------------


def _squares(x, y):
    return x**2 + y**2


def test_a_study_sharing_names_is_not_a_source_without_evidence_and_the_user_hears_why(tmp_path):
    space = {"x": uniform(-3, 3), "y": uniform(-3, 3)}

    def ridge(x, y, z):  # a different function that happens to use the same names, maximised
        return -abs(x - 2.5) - abs(y + 2.5) - z

    tune(ridge, {"x": uniform(-3, 3), "y": uniform(-3, 3), "z": uniform(0, 1)}, 6, direction="maximize", seed=0,
         store=tmp_path, name="ridge", strategy="none")
    result = tune(_squares, space, 4, seed=0, store=tmp_path, name="squares")
    assert {t.origin.source for t in result.trials} == {"sobol"}  # cold: not warm-started from the ridge
    warm = result.warm_start
    assert warm.is_cold and "ridge" in warm.cold and "nothing says their tasks are related" in warm.cold
    assert "give data=(X, y)" in warm.cold
    assert "cold:" in repr(result)


def test_the_same_objective_code_under_other_names_warms_a_new_study(tmp_path):
    def first(learning_rate, hidden_width):
        return -abs(math.log10(learning_rate / 3e-3)) - abs(math.log2(hidden_width / 128))

    def second(lr, hidden):
        return -abs(math.log10(lr / 3e-3)) - abs(math.log2(hidden / 128))

    tune(first, {"learning_rate": loguniform(1e-4, 3e-2), "hidden_width": intrange(16, 256, log=True)}, 10,
         direction="maximize", seed=0, store=tmp_path, name="first", strategy="none")
    result = tune(second, {"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True)}, 3,
                  direction="maximize", seed=1, store=tmp_path, name="second")
    assert result.trials[0].origin.source == "warm-start"
    (group,) = result.warm_start.groups
    assert group["name"] == "first" and "the same objective code" in group["evidence"]
    assert group["shared"] == ["lr (their learning_rate)", "hidden (their hidden_width)"]


def test_explicit_past_studies_are_sources_even_on_a_partial_match():
    past = _torch_history()
    user = SearchSpace({"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True), "epochs": intrange(5, 50)})
    unrelated = Experience.of(user, [past], StudyContext())
    given = Experience.of(user, [past])  # handed over (past=): the caller vouches for them
    assert unrelated.usable == () and past.study_id in unrelated.report.unrelated
    assert [t.study.study_id for t in given.usable] == [past.study_id]
    assert given.usable[0].filled == ("epochs",)


def test_data_alike_is_enough_for_the_same_space_but_not_for_a_partial_match():
    features = {"log_n_rows": 5.0, "log_n_columns": 2.0}
    task = TaskDescription("new", features, "mhpo-v1")
    same = _torch_history("same", meta_features=features, meta_feature_set="mhpo-v1")
    context = StudyContext(task=task)
    assert [t.study.study_id for t in Experience.of(TORCH_PRIOR_SPACE, [same], context).usable] == ["same"]
    partial = SearchSpace({"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True)})
    assert Experience.of(partial, [same], context).usable == ()
    loop = ("def train(lr, hidden):\n    net = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 2))\n"
            "    opt = torch.optim.Adam(net.parameters(), lr=lr)\n    return fit(net, opt)\n")
    prior_like = _torch_history("prior", meta_features=features, meta_feature_set="mhpo-v1",
                                extra={"space_name": "torch_mlp_classifier", "task_type": "classification"})
    builds_mlp = StudyContext(task=task, source=describe_objective(loop, partial.names), task_type="classification")
    assert [t.study.study_id for t in Experience.of(partial, [prior_like], builds_mlp).usable] == ["prior"]


def test_the_cold_explanation_names_the_closest_built_in_space_and_the_fix():
    prior = _torch_history("prior/torch_mlp_classifier/d1", source="prior", extra={"space_name": "torch_mlp_classifier"})
    user = SearchSpace({"lr": loguniform(1e-4, 1e-1), "momentum": uniform(0.5, 0.99)})
    experience = Experience.of(user, [prior], StudyContext())
    text = explain_cold(experience.report, 1)
    assert text.startswith("cold: none of 1 past studies shares 2 or more of your parameters")
    assert "built-in torch_mlp_classifier" in text and "shares lr" in text
    # What renaming could reach: what they tuned besides the shared parameter (momentum is none of it).
    assert "their other parameters are hidden_width, dropout: rename yours where one means the same" in text
    assert "builtin_spaces.get_builtin_space('torch_mlp_classifier')" in text
    assert explain_cold(experience.report, 0).startswith("cold: there is no past study yet")


# Parameters the past never saw --------------------------------------------------------------------


def test_parameters_the_past_never_saw_get_the_spaces_own_design_not_a_placeholder(tmp_path):
    past = _torch_history(n=20)
    space = {"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True), "momentum": uniform(0.5, 0.99)}

    def objective(lr, hidden, momentum):
        return -abs(math.log10(lr / 3e-3)) - abs(math.log2(hidden / 128))

    result = tune(objective, space, 3, direction="maximize", seed=0, past=[past], store=False)
    warm = [t for t in result.trials if t.origin.source == "warm-start"]
    assert len(warm) == 3
    momenta = {t.config["momentum"] for t in warm}
    assert len(momenta) == 3 and SearchSpace(space)["momentum"].from_unit(0.5) not in momenta
    assert all(t.origin.details["filled"] == ["momentum"] for t in warm)
    assert all("momentum from the space's Sobol design" in t.origin.reason for t in warm)


def test_an_estimator_argument_the_past_never_saw_starts_at_the_estimators_default():
    import sklearn.svm  # noqa: F401 - the user's cell imported it; defaults are read from its signature

    past = _svc_past()
    space = SearchSpace({**SVC_SPACE, "tol": loguniform(1e-5, 1e-1), "degree": intrange(2, 5)})
    cell = ("def train(C, gamma, class_weight, tol, degree):\n    return cross_val_score(SVC(C=C, gamma=gamma, "
            "class_weight=class_weight, tol=tol, degree=degree), X, y).mean()\n")
    experience = Experience.of(space, [past], StudyContext(source=describe_objective(cell, space.names)))
    assert experience.defaults == {"tol": 1e-3, "degree": 3}  # SVC's own defaults, both inside the ranges
    sampler = WarmStartSampler("nearest", experience.usable, k=3, seed=0, defaults=experience.defaults)
    proposals = sampler.plan(space)
    assert len(proposals) == 3
    assert all(p.config["tol"] == 1e-3 and p.config["degree"] == 3 for p in proposals)
    assert all("tol=0.001, degree=3: the estimator's default, as the past study ran it" in p.reason
               for p in proposals)
    summary = WarmStartSummary.from_info({"warm_start": experience.summary()})
    assert ("their configurations at your tol=0.001, degree=3 (the estimator's default, as they ran)"
            in summary.headline())

    # A default outside the user's range is not used: the space's design fills in.
    narrow = SearchSpace({**space, "tol": loguniform(1e-2, 1e-1)})
    experience = Experience.of(narrow, [past], StudyContext(source=describe_objective(cell, narrow.names)))
    assert experience.defaults == {"degree": 3}


def test_a_past_model_on_some_columns_is_constant_along_the_others():
    rng = np.random.default_rng(0)
    x = rng.random((12, 2))
    model = SubspaceModel(fit_singletask_gp(x, np.sin(3 * x[:, 0]) + x[:, 1]), np.array([0, 2]), 3)
    points = rng.random((5, 3))
    moved = points.copy()
    moved[:, 1] = rng.random(5)  # only the column the past never saw changes
    a, b = model.posterior_np(points, with_grad=True), model.posterior_np(moved)
    np.testing.assert_allclose(a.mean, b.mean)
    np.testing.assert_allclose(a.var, b.var)
    grad = a.backward(np.ones(5), np.zeros(5))
    assert np.all(grad[:, 1] == 0) and np.any(grad[:, [0, 2]] != 0)


# Saying what happened ---------------------------------------------------------------------------


def test_the_result_progress_and_widget_say_which_studies_were_used_and_on_which_parameters():
    from jupyter_metahpo.widgets.progress import ProgressWidget

    past = _torch_history(n=20)
    space = {"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True)}
    lines = io.StringIO()
    widget = ProgressWidget()

    def objective(lr, hidden):
        return -abs(math.log10(lr / 3e-3))

    result = tune(objective, space, 3, direction="maximize", seed=0, past=[past], store=False,
                  callbacks=[TextProgress(lines), widget])
    headline = result.warm_start.headline()
    assert headline.startswith("warm start from 1 of ")
    assert "lr (their learning_rate), hidden (their hidden_width)" in headline and "given by you (past=)" in headline
    assert headline in lines.getvalue().splitlines()[1]
    assert headline.replace("(", "").split(":")[0] in widget.static_html()
    assert "warm start" in result._repr_html_()


def test_a_study_whose_objective_is_unknown_counts_when_it_has_the_very_same_parameters(tmp_path):
    # An imported or older study has no recorded source: the same names and kinds (two or more)
    # are then the evidence, as before; a one-parameter overlap never is.
    imported = _torch_history("imported", n=12)
    context = StudyContext(source=describe_objective(_squares, ["x", "y"]))
    assert [t.study.study_id for t in Experience.of(TORCH_PRIOR_SPACE, [imported], context).usable] == ["imported"]
    one = SearchSpace({"learning_rate": loguniform(1e-4, 3e-2)})
    assert Experience.of(one, [imported], context).usable == ()


def test_a_race_says_where_each_racer_starts_from(tmp_path):
    from jupyter_metahpo import race
    from jupyter_metahpo.racing import race_starts
    from jupyter_metahpo.study import Study

    space = {"x": uniform(-3, 3), "y": uniform(-3, 3)}
    results = race(_squares, space, ("default", "random"), n_trials=2, store=tmp_path, display=False)
    # With nothing related in the past, "default" starts cold: the race says so and why, instead of
    # leaving two identical curves unexplained.
    assert results["default"].warm_start.is_cold
    studies = {label: Study(space, sampler=None, context=dict(r.info)) for label, r in results.items()}
    starts = race_starts(studies)
    assert starts["default"].startswith("cold:") and starts["random"].startswith("warm start off")


def test_a_pipeline_steps_parameters_match_the_estimators_own():
    user = SearchSpace({"svc__C": loguniform(1e-2, 1e2), "svc__gamma": loguniform(1e-4, 1.0)})
    match = match_spaces(user, SearchSpace({"C": loguniform(1e-3, 1e4), "gamma": loguniform(1e-5, 10.0)}))
    assert [(link.new, link.past, link.how) for link in match.links] == [
        ("svc__C", "C", "alias"), ("svc__gamma", "gamma", "alias")
    ]


def test_a_toy_function_with_a_built_in_spaces_names_does_not_warm_from_that_prior():
    # Its source is known and builds no estimator; the prior's studies are of a known family: nothing to
    # compare but names, which are no evidence.
    from jupyter_metahpo.prior.load import load_prior

    space = SearchSpace({"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0)})
    cell = "import math\ndef objective(C, gamma):\n    return -(math.log(C) - 1) ** 2 - (math.log(gamma) + 5) ** 2\n"
    experience = Experience.of(space, load_prior(), StudyContext(source=describe_objective(cell, space.names)))
    assert experience.usable == ()
    assert "nothing says their tasks are related" in experience.summary()["cold"]


def _stored(space, cell, study_id, values_of, n=12, seed=0, **kwargs):
    """A stored study of ``space`` whose objective was ``cell`` (its source recorded, as tune records it)."""
    space = SearchSpace(space)
    rng = np.random.default_rng(seed)
    configs = [space.sample(rng) for _ in range(n)]
    extra = {"objective_source": describe_objective(cell, space.names).to_json(), **kwargs.pop("extra", {})}
    return _past(space, configs, [values_of(c) for c in configs], study_id, extra=extra, **kwargs)


FOREST_CELL = ("def train(n_trees, depth, leaf):\n"
               "    return score(RandomForestClassifier(n_estimators=n_trees, max_depth=depth, min_samples_leaf=leaf))\n")
FOREST_SPACE = SearchSpace({"n_trees": intrange(10, 300, log=True), "depth": intrange(2, 20), "leaf": intrange(1, 20)})


def test_the_same_names_set_in_another_estimator_are_not_the_same_hyperparameters():
    # A gradient-boosting study on the same data (strong evidence of a related task) shares n_estimators and
    # max_depth with a forest cell by alias and estimator argument; in a forest they mean other things.
    boosting = _stored(
        {"learning_rate": loguniform(0.01, 0.5), "n_estimators": intrange(20, 200), "max_depth": intrange(1, 6)},
        "def train(learning_rate, n_estimators, max_depth):\n    return score(GradientBoostingClassifier("
        "learning_rate=learning_rate, n_estimators=n_estimators, max_depth=max_depth))\n",
        "boosting", lambda c: -c["max_depth"], data_fingerprint="same-data",
    )
    context = StudyContext(task=TaskDescription("new", data_fingerprint="same-data"),
                           source=describe_objective(FOREST_CELL, FOREST_SPACE.names))
    experience = Experience.of(FOREST_SPACE, [boosting], context)
    assert experience.usable == ()
    why = experience.report.incompatible["boosting"]
    assert "it shares 0 of your parameters" in why
    assert ("your depth is RandomForestClassifier's max_depth, their max_depth GradientBoostingClassifier's "
            "max_depth: not the same hyperparameter") in why
    # The same study with a forest's objective is a source: names are refused only across estimators.
    forest = _stored({"n_estimators": intrange(10, 300, log=True), "max_depth": intrange(2, 20)},
                     "def train(n_estimators, max_depth):\n    return score(RandomForestRegressor("
                     "n_estimators=n_estimators, max_depth=max_depth))\n",
                     "forest", lambda c: -c["max_depth"], data_fingerprint="same-data")
    assert [t.study.study_id for t in Experience.of(FOREST_SPACE, [boosting, forest], context).usable] == ["forest"]


def test_a_cell_of_a_built_in_estimator_under_its_own_names_still_matches_the_prior():
    # The prior's studies set their built-in estimator's arguments: the same kind as the user's cell.
    from jupyter_metahpo.prior.load import load_prior

    prior = [s for s in load_prior() if s.extra.get("space_name") in ("hgb_classifier", "random_forest_classifier")]
    features = dict(prior[0].meta_features)
    context = StudyContext(task=TaskDescription("new", features, prior[0].meta_feature_set),
                           source=describe_objective(FOREST_CELL, FOREST_SPACE.names), task_type="classification")
    experience = Experience.of(FOREST_SPACE, prior, context)
    spaces = {t.study.extra["space_name"] for t in experience.usable}
    assert spaces == {"random_forest_classifier"}
    assert {link.new for link in experience.usable[0].match.links} == {"n_trees", "leaf"}
    boosting = SearchSpace({"eta": loguniform(0.01, 0.5), "leaves": intrange(8, 128, log=True)})
    cell = "def train(eta, leaves):\n    return score(HistGradientBoostingClassifier(learning_rate=eta, max_leaf_nodes=leaves))\n"
    context = dataclasses.replace(context, source=describe_objective(cell, boosting.names))
    assert {t.study.extra["space_name"] for t in Experience.of(boosting, prior, context).usable} == {"hgb_classifier"}


def test_estimator_kinds_join_a_familys_classes_and_tell_other_libraries_apart():
    from jupyter_metahpo.meta.source import estimator_kind

    assert estimator_kind("RandomForestClassifier") == estimator_kind("RandomForestRegressor")
    assert estimator_kind("SVC") == estimator_kind("SVR") == "svm"
    # Boosted trees of every library are one kind, forests and extremely randomised trees another.
    boosting = {estimator_kind(name) for name in ("GradientBoostingClassifier", "HistGradientBoostingRegressor",
                                                  "XGBClassifier", "LGBMRegressor", "CatBoostClassifier")}
    forests = {estimator_kind(name) for name in ("RandomForestClassifier", "ExtraTreesRegressor", "XGBRFClassifier")}
    assert len(boosting) == len(forests) == 1 and boosting != forests
    assert len({estimator_kind(name) for name in ("SVC", "LogisticRegression", "KNeighborsClassifier", "Ridge",
                                                  "DecisionTreeClassifier")}) == 5
    assert estimator_kind("torch.optim.AdamW") is None and estimator_kind("training loop") is None


GRADIENT_BOOSTING_CELL = (
    "def train(learning_rate, n_estimators, max_depth, subsample):\n"
    "    return score(GradientBoostingClassifier(learning_rate=learning_rate, n_estimators=n_estimators,\n"
    "                                            max_depth=max_depth, subsample=subsample))\n"
)
GRADIENT_BOOSTING_SPACE = SearchSpace({"learning_rate": loguniform(0.01, 0.5), "n_estimators": intrange(20, 300),
                                       "max_depth": intrange(1, 6), "subsample": uniform(0.5, 1.0)})


def test_a_boosting_librarys_rounds_are_the_hgb_spaces_max_iter_and_a_forests_trees_are_not():
    roles = {
        cell: dict((r.parameter, r.role) for r in describe_objective(cell, ["n", "lr"]).roles)
        for cell in (
            "def f(n, lr):\n    return score(GradientBoostingClassifier(n_estimators=n, learning_rate=lr))\n",
            "def f(n, lr):\n    return score(XGBClassifier(n_estimators=n, eta=lr))\n",
            "def f(n, lr):\n    return score(CatBoostRegressor(iterations=n, learning_rate=lr))\n",
            "def f(n, lr):\n    return score(XGBRFClassifier(n_estimators=n, learning_rate=lr))\n",
            "def f(n, lr):\n    return score(ExtraTreesClassifier(n_estimators=n))\n",
        )
    }
    assert [r["n"] for r in roles.values()] == ["max_iter", "max_iter", "max_iter", "n_estimators", "n_estimators"]
    assert all(r.get("lr", "learning_rate") == "learning_rate" for r in roles.values())


def test_a_gradient_boosting_cell_of_another_class_shares_its_rounds_with_the_hgb_prior_but_needs_more_than_data():
    # scikit-learn's GradientBoostingClassifier is not a built-in family. Its n_estimators are HGB's max_iter
    # (before, it shared only learning_rate with the HGB prior); data alike is still not enough for the partial
    # match (warmed from the prior, it lost to its own cold start by trial 5: user_spaces_findings.md).
    from jupyter_metahpo.prior.load import load_prior

    prior = [s for s in load_prior() if s.extra.get("space_name") in ("hgb_classifier", "random_forest_classifier",
                                                                      "svc")]
    features = dict(prior[0].meta_features)
    context = StudyContext(task=TaskDescription("new", features, prior[0].meta_feature_set),
                           source=describe_objective(GRADIENT_BOOSTING_CELL, GRADIENT_BOOSTING_SPACE.names),
                           task_type="classification")
    experience = Experience.of(GRADIENT_BOOSTING_SPACE, prior, context)
    assert experience.usable == ()
    cold = experience.summary()["cold"]
    assert "(built-in hgb_classifier) (shares learning_rate, n_estimators)" in cold
    # It names what the objective builds, so that "the same estimator" does not read as a missing one.
    assert ("your objective builds GradientBoostingClassifier; a partial match needs the same estimator in your "
            "objective") in cold
    assert ("(the prior's is HistGradientBoostingClassifier: builtin_spaces.get_builtin_space('hgb_classifier')"
            ".space tunes it)") in cold
    # An HGB study on the same data (strong evidence) informs the cell's rounds through max_iter.
    same_data = _stored({"learning_rate": loguniform(0.01, 0.5), "max_iter": intrange(20, 200, log=True)},
                        "def train(learning_rate, max_iter):\n    return score(HistGradientBoostingClassifier("
                        "learning_rate=learning_rate, max_iter=max_iter))\n", "hgb", lambda c: -c["max_iter"],
                        data_fingerprint="same-data")
    context = dataclasses.replace(context, task=TaskDescription("new", data_fingerprint="same-data"))
    usable = Experience.of(GRADIENT_BOOSTING_SPACE, [same_data], context).usable
    assert [(link.new, link.past, link.how) for link in usable[0].match.links] == [
        ("learning_rate", "learning_rate", "name"), ("n_estimators", "max_iter", "estimator")
    ]


def test_data_alike_is_no_evidence_against_another_kind_of_estimator_outside_the_built_in_families():
    # Two cells of estimators outside the built-in families tune the same preprocessing on data described
    # alike: what suits a k-nearest-neighbours model says nothing about a ridge regression's, as between
    # two built-in families (before, neither had a family, so data alike made the study a source, and the
    # two-line cells, the same but for the estimator, counted as similar objective code: 0.79).
    features = {"log_n_rows": 5.0, "log_n_columns": 2.0}
    space = SearchSpace({"n_components": intrange(2, 30), "degree": intrange(1, 3)})
    preprocessing = "make_pipeline(PolynomialFeatures(degree), PCA(n_components=n_components), {})"
    knn = _stored(space, "def train(n_components, degree):\n    return score("
                  + preprocessing.format("KNeighborsRegressor()") + ")\n", "knn", lambda c: -c["n_components"],
                  meta_features=features, meta_feature_set="mhpo-v1")
    ridge = "def train(n_components, degree):\n    return score(" + preprocessing.format("Ridge()") + ")\n"
    context = StudyContext(task=TaskDescription("new", features, "mhpo-v1"),
                           source=describe_objective(ridge, space.names))
    experience = Experience.of(space, [knn], context)
    assert experience.usable == () and "knn" in experience.report.unrelated
    same = _stored(space, ridge, "ridge", lambda c: -c["n_components"], meta_features=features,
                   meta_feature_set="mhpo-v1")
    assert [t.study.study_id for t in Experience.of(space, [knn, same], context).usable] == ["ridge"]


def test_one_shared_name_needs_the_same_estimator_not_only_data_alike():
    # A one-parameter logistic regression cell and a stored SVC study whose objective hides its estimator
    # (built through a helper): both tune C, their data look alike, and that is all.
    features = {"log_n_rows": 5.0, "log_n_columns": 2.0}
    rng = np.random.default_rng(0)
    svc_configs = [{"C": float(c)} for c in np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 12))]
    hidden = _past({"C": loguniform(1e-3, 1e3)}, svc_configs, [-abs(math.log(c["C"])) for c in svc_configs],
                   "svc-demo", meta_features=features, meta_feature_set="mhpo-v1",
                   extra={"objective_source": describe_objective(
                       "def f(**config):\n    return score(make_model(config))\n", ["C"]).to_json()})
    space = SearchSpace({"C": loguniform(1e-3, 1e3)})
    cell = "def train(C):\n    return score(LogisticRegression(C=C))\n"
    context = StudyContext(task=TaskDescription("new", features, "mhpo-v1"), source=describe_objective(cell, ["C"]))
    experience = Experience.of(space, [hidden], context)
    assert experience.usable == ()
    assert "data alike is not enough for one shared name" in experience.report.unrelated["svc-demo"]
    # A study of the same estimator is a source on that one name.
    same = _stored({"C": loguniform(1e-3, 1e3)}, cell, "logreg", lambda c: -abs(math.log(c["C"])),
                   meta_features=features, meta_feature_set="mhpo-v1")
    assert [t.study.study_id for t in Experience.of(space, [hidden, same], context).usable] == ["logreg"]


def test_one_shared_c_is_the_estimators_the_cell_builds_and_the_cold_explanation_names_a_refused_meaning():
    from jupyter_metahpo.prior.load import load_prior

    prior = load_prior()
    # LogisticRegression(C=C, tol=tol): C is shared by the SVM and the logistic regression priors alike
    # (tol by neither); only the logistic regression's, the estimator the cell builds, informs it.
    space = SearchSpace({"C": loguniform(1e-3, 1e3), "tol": loguniform(1e-6, 1e-2)})
    cell = "def train(C, tol):\n    return score(LogisticRegression(C=C, tol=tol, solver='liblinear'))\n"
    svc_first = sorted(prior, key=lambda study: study.extra.get("space_name") != "svc")
    experience = Experience.of(space, svc_first, StudyContext(source=describe_objective(cell, space.names)))
    assert experience.summary()["cold"] is None
    assert {t.study.extra["space_name"] for t in experience.usable} == {"logistic_regression"}
    assert all(t.filled == ("tol",) for t in experience.usable)
    # A decision tree's cell shares max_depth and min_samples_leaf with the forest's prior only by name.
    tree = SearchSpace({"max_depth": intrange(2, 20), "min_samples_leaf": intrange(1, 20)})
    cell = ("def train(max_depth, min_samples_leaf):\n    return score(DecisionTreeClassifier("
            "max_depth=max_depth, min_samples_leaf=min_samples_leaf))\n")
    text = Experience.of(tree, prior, StudyContext(source=describe_objective(cell, tree.names))).summary()["cold"]
    assert text.startswith("cold: none of")
    assert "shares a parameter that means the same as yours" in text
    assert "your min_samples_leaf is DecisionTreeClassifier's min_samples_leaf, their min_samples_leaf " in text
    assert "not the same hyperparameter" in text


def test_the_other_kind_of_task_counts_unless_it_lacks_a_parameter_of_the_users_kind():
    features = {"log_n_rows": 5.0, "log_n_columns": 2.0}
    loop = ("def train(lr, hidden):\n    net = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 2))\n"
            "    opt = torch.optim.Adam(net.parameters(), lr=lr)\n    return fit(net, opt)\n")
    regression = _torch_history("regression", meta_features=features, meta_feature_set="mhpo-v1",
                                extra={"space_name": "torch_mlp_regressor", "task_type": "regression"})
    task = TaskDescription("new", features, "mhpo-v1")
    every = SearchSpace({"lr": loguniform(1e-4, 1e-1), "hidden": intrange(8, 512, log=True)})
    # momentum: no built-in torch MLP space has it, so a classifier's past would not know it either.
    more = SearchSpace({**every, "momentum": uniform(0.5, 0.99)})
    for space in (every, more):
        context = StudyContext(task=task, source=describe_objective(loop, space.names), task_type="classification")
        experience = Experience.of(space, [regression], context)
        assert [t.study.study_id for t in experience.usable] == ["regression"]

    # class_weight is a classifier's parameter (the built-in svc space has it, svr does not): an SVR's past
    # is refused for an SVC cell that tunes it, and used for one that does not.
    svr_space = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0), "epsilon": loguniform(1e-3, 1.0)}
    rng = np.random.default_rng(0)
    configs = [SearchSpace(svr_space).sample(rng) for _ in range(12)]
    svr = _past(svr_space, configs, [-abs(math.log(c["C"])) for c in configs], "svr-past",
                meta_features=features, meta_feature_set="mhpo-v1",
                extra={"space_name": "svr", "task_type": "regression"})
    cell = "def train(C, gamma{extra}):\n    return score(SVC(C=C, gamma=gamma{arg}))\n"
    weighted = SearchSpace({"C": svr_space["C"], "gamma": svr_space["gamma"],
                            "class_weight": choice(None, "balanced")})
    shrinking = SearchSpace({"C": svr_space["C"], "gamma": svr_space["gamma"], "shrinking": choice(True, False)})
    for space, extra, used in ((weighted, "class_weight", []), (shrinking, "shrinking", ["svr-past"])):
        source = describe_objective(cell.format(extra=f", {extra}", arg=f", {extra}={extra}"), space.names)
        context = StudyContext(task=task, source=source, task_type="classification")
        experience = Experience.of(space, [svr], context)
        assert [t.study.study_id for t in experience.usable] == used
    context = StudyContext(task=task, source=describe_objective(
        cell.format(extra=", class_weight", arg=", class_weight=class_weight"), weighted.names),
        task_type="classification")
    report = Experience.of(weighted, [svr], context).report
    assert "is a regression task where yours is classification" in report.unrelated["svr-past"]


# Values the new objective fixes --------------------------------------------------------

SVC_SPACE = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0), "class_weight": choice(None, "balanced")}


def _svc_past(n=40, seed=0):
    rng = np.random.default_rng(seed)
    configs = [SearchSpace(SVC_SPACE).sample(rng) for _ in range(n)]
    values = [math.log(c["C"]) + (5.0 if c["class_weight"] == "balanced" else 0.0) for c in configs]
    return _past(SVC_SPACE, configs, values, "svc-past", extra={"space_name": "svc"})


def _svc_context(fixing: str) -> StudyContext:
    cell = f"def train(C, gamma):\n    return cross_val_score(SVC(C=C, gamma=gamma{fixing}), X, y).mean()\n"
    return StudyContext(source=describe_objective(cell, ["C", "gamma"]))


def _without_a_model(past, space, context):
    """The pass's fallback where a past study cannot be modelled (:mod:`.slicing`): the trials near the fixed values."""
    match = match_spaces(space, past.space, context.roles(space))
    report = TransferReport()
    return transfer_study(past, space, report, match=match, fixed=context.fixed_settings()), report


def test_without_a_model_a_subset_keeps_only_the_past_trials_run_with_the_value_the_cell_fixes():
    past = _svc_past()
    space = SearchSpace({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]})
    moved, report = _without_a_model(past, space, _svc_context(", class_weight=None"))
    n_none = sum(1 for c in past.configs if c["class_weight"] is None)
    assert len(moved.configs) == n_none < len(past.configs)
    balanced_best = max(v for c, v in zip(past.configs, past.values) if c["class_weight"] == "balanced")
    assert balanced_best not in set(moved.values.tolist())
    assert report.dropped["far from class_weight=None fixed in your objective"] == len(past.configs) - n_none
    # Without a source to read (handed over by past=), every trial is carried, as before.
    usable, _ = carry_over([past], space, StudyContext(explicit=frozenset({"svc-past"})))
    assert len(usable[0].configs) == len(past.configs)


def test_a_fixed_value_the_past_never_tried_keeps_every_trial():
    past = _svc_past()
    space = SearchSpace({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"]})
    (moved,), _ = carry_over([past], space, _svc_context(", class_weight={0: 1.0, 1: 3.0}"))  # not a scalar
    assert len(moved.configs) == len(past.configs)
    # (Not the kernel: an SVM with a kernel other than the prior's is another model, refused by matching.)
    shapes = choice("ovr", "ovo")
    past_two = _past({"C": SVC_SPACE["C"], "gamma": SVC_SPACE["gamma"], "decision_function_shape": shapes},
                     [{"C": 1.0, "gamma": 0.1, "decision_function_shape": "ovr"}] * 3, [0.1, 0.2, 0.3], "k",
                     extra={"space_name": "svc"})
    (moved,), _ = carry_over([past_two], space, _svc_context(', decision_function_shape="other"'))
    assert len(moved.configs) == 3


def test_without_a_model_a_fixed_number_keeps_the_nearest_trials_when_few_match_it_exactly():
    space_past = {"learning_rate": loguniform(1e-3, 1.0), "max_leaf_nodes": intrange(4, 256, log=True),
                  "max_iter": intrange(10, 1000, log=True)}
    rng = np.random.default_rng(1)
    configs = [SearchSpace(space_past).sample(rng) for _ in range(60)]
    past = _past(space_past, configs, [-c["learning_rate"] for c in configs], "hgb-past",
                 extra={"space_name": "hgb_classifier"})
    cell = ("def train(learning_rate, max_leaf_nodes):\n    return HistGradientBoostingClassifier("
            "learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes, max_iter=100)\n")
    context = StudyContext(source=describe_objective(cell, ["learning_rate", "max_leaf_nodes"]))
    space = SearchSpace({k: space_past[k] for k in ("learning_rate", "max_leaf_nodes")})
    moved, _ = _without_a_model(past, space, context)
    assert len(moved.configs) == 30  # half the study, nearest max_iter=100
    unit = SearchSpace(space_past)["max_iter"]
    distance = sorted(abs(unit.to_unit(c["max_iter"]) - unit.to_unit(100)) for c in configs)
    kept = {(c["learning_rate"], c["max_leaf_nodes"]) for c in moved.configs}
    far = [c for c in configs if abs(unit.to_unit(c["max_iter"]) - unit.to_unit(100)) > distance[29]]
    assert far and all((c["learning_rate"], c["max_leaf_nodes"]) not in kept for c in far)


def test_an_svm_with_another_kernel_is_another_model_than_the_rbf_prior():
    from jupyter_metahpo.prior.load import load_prior
    from jupyter_metahpo.meta.source import estimator_kind

    # The kind names a kernel other than the prior's RBF; written or left out, "rbf" is the prior's own.
    def kinds(call):
        return describe_objective(f"def train(C, gamma):\n    return score({call})\n", ["C", "gamma"]).kinds()

    assert kinds("SVC(kernel='poly', C=C, gamma=gamma)") == {"svm (kernel='poly')"}
    assert kinds("SVR(kernel='rbf', C=C, gamma=gamma)") == kinds("SVC(C=C, gamma=gamma)") == {"svm"}
    assert estimator_kind("SVC") == "svm"
    prior = [s for s in load_prior() if s.extra.get("space_name") in ("svc", "svr")]
    space = SearchSpace({"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 10.0)})
    task = TaskDescription("new", dict(prior[0].meta_features), prior[0].meta_feature_set)

    def experience(cell):
        return Experience.of(space, prior, StudyContext(task=task, source=describe_objective(cell, space.names)))

    rbf = experience("def train(C, gamma):\n    return score(SVC(C=C, gamma=gamma))\n")
    assert len(rbf.usable) == len(prior)
    poly = experience("def train(C, gamma):\n    return score(SVC(kernel='poly', C=C, gamma=gamma))\n")
    assert poly.usable == ()
    assert ("your C is SVC(kernel='poly')'s C, their C SVC's C: not the same hyperparameter"
            in poly.summary()["cold"])


def test_a_stored_rbf_svm_is_no_evidence_for_a_poly_kernel_cell_even_when_its_parameters_are_not_read():
    # The stored study built an SVC, but hands C and gamma on through a helper this reading cannot follow
    # (``fit`` is not in its text): nothing refuses its parameters, so the evidence decides. The same estimator
    # family was evidence before; an SVC with another kernel is another kind of estimator.
    space = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 10.0)}
    features = {"n_rows": 500.0, "n_features": 10.0}
    rbf = _stored(space, "def train(C, gamma):\n    return fit(SVC(), C, gamma)\n", "rbf",
                  lambda c: -abs(math.log(c["C"])), meta_features=features, meta_feature_set="mhpo-v1")
    assert past_source(rbf).roles == () and past_source(rbf).families == ("svm",)
    poly_cell = "def train(C, gamma):\n    return score(SVC(kernel='poly', C=C, gamma=gamma))\n"
    context = StudyContext(task=TaskDescription("new", dict(features), "mhpo-v1"),
                           source=describe_objective(poly_cell, list(space)))
    assert Experience.of(SearchSpace(space), [rbf], context).usable == ()
    rbf_cell = "def train(C, gamma):\n    return score(SVC(C=C, gamma=gamma))\n"
    context = StudyContext(task=TaskDescription("new", dict(features), "mhpo-v1"),
                           source=describe_objective(rbf_cell, list(space)))
    assert [t.study.study_id for t in Experience.of(SearchSpace(space), [rbf], context).usable] == ["rbf"]


# One shared parameter of the same estimator -------------------------------------------------------


def _logreg_history(study_id: str, estimator: str, **kwargs) -> PastStudy:
    """A stored study of C and class_weight whose objective built ``estimator`` (read as a recorded source)."""
    space = SearchSpace({"C": loguniform(1e-3, 1e2), "class_weight": choice(None, "balanced")})
    code = f"def train(C, class_weight):\n    return fit({estimator}(C=C, class_weight=class_weight))\n"
    source = describe_objective(code, space.names)
    rng = np.random.default_rng(0)
    configs = [{"C": float(c), "class_weight": None} for c in np.exp(rng.uniform(np.log(1e-3), np.log(1e2), 12))]
    values = [-abs(math.log10(c["C"])) for c in configs]
    extra = {"objective_source": source.to_json(), "task_type": "classification"}
    return _past(space, configs, values, study_id, extra=extra, **kwargs)


def test_one_shared_parameter_is_enough_when_the_past_built_an_estimator_of_the_same_family():
    """LogisticRegression(C=C, solver=solver): the past logistic regression's C informs C; the solver (which it never
    tuned) gets the space's own design. A past SVC's C does not (another estimator), nor does a study whose C is tied
    to the cell by nothing but data alike."""
    user = SearchSpace({"C": loguniform(1e-4, 1e2), "solver": choice("lbfgs", "liblinear")})
    cell = "def train(C, solver):\n    return fit(LogisticRegression(C=C, solver=solver))\n"
    features = {"log_n_rows": 5.0, "log_n_columns": 2.0}
    task = TaskDescription("new", features, "mhpo-v1")
    context = StudyContext(task=task, source=describe_objective(cell, user.names), task_type="classification")
    same = _logreg_history("logreg", "LogisticRegression")
    other = _logreg_history("svc", "SVC")
    experience = Experience.of(user, [same, other], context)
    assert [t.study.study_id for t in experience.usable] == ["logreg"]
    assert experience.usable[0].filled == ("solver",)
    assert "svc" in experience.report.incompatible  # another kind of estimator: its C is not this C
    # Without the estimator (a toy function of the same names, data alike), one shared name is still too thin.
    toy = StudyContext(task=task, source=describe_objective("def f(C, solver):\n    return C\n", user.names))
    alike = _logreg_history("alike", "LogisticRegression", meta_features=features, meta_feature_set="mhpo-v1")
    cold = Experience.of(user, [alike], toy)
    assert cold.usable == ()
    assert "is not enough for a partial match" in cold.report.unrelated["alike"]


def test_a_logistic_regression_cell_of_c_and_the_solver_warms_from_the_prior_on_c():
    from sklearn.datasets import load_breast_cancer

    from jupyter_metahpo import suggest

    X, y = load_breast_cancer(return_X_y=True)
    cell = ("from sklearn.linear_model import LogisticRegression\n\n"
            "def train(C, solver):\n    return LogisticRegression(C=C, solver=solver).fit(X, y).score(X, y)\n")
    train = run_cell(cell, "<logistic-regression-cell>", {"X": X, "y": y})["train"]
    space = SearchSpace({"C": loguniform(1e-4, 1e2), "solver": choice("lbfgs", "liblinear")})
    proposals = suggest(space, data=(X, y), k=2, objective=train, store=False)
    shared = {entry["space_name"]: entry["shared"] for entry in proposals.report.sources.values()}
    assert shared.get("logistic_regression") == ["C"], proposals.report.summary()
    assert len(proposals) == 2


def _one_parameter_history(study_id: str, estimator: str, parameter: str, task_type: str) -> PastStudy:
    """A stored study of ``parameter`` and class_weight whose objective built ``estimator``, on a ``task_type`` task."""
    space = SearchSpace({parameter: loguniform(1e-3, 1e2), "class_weight": choice(None, "balanced")})
    code = f"def train({parameter}, class_weight):\n    return fit({estimator}({parameter}={parameter}))\n"
    rng = np.random.default_rng(0)
    configs = [{parameter: float(c), "class_weight": None} for c in np.exp(rng.uniform(np.log(1e-3), np.log(1e2), 12))]
    values = [-abs(math.log10(c[parameter])) for c in configs]
    extra = {"objective_source": describe_objective(code, space.names).to_json(), "task_type": task_type}
    return _past(space, configs, values, study_id, extra=extra)


def test_one_shared_parameter_that_scales_the_loss_needs_the_same_kind_of_task():
    """An SVR cell's C and an SVC study's C scale different losses (epsilon-insensitive on the target, hinge on the
    labels): with C all they share, the SVC study is left out of a regression study, saying why; an SVR study is a
    source. A shared learning rate carries across the kinds of task as before."""
    user = SearchSpace({"C": loguniform(1e-3, 1e3), "kernel": choice("rbf", "poly")})
    cell = "def train(C, kernel):\n    return fit(SVR(C=C, kernel=kernel))\n"
    task = TaskDescription("new", {"log_n_rows": 5.0}, "mhpo-v1")
    regression = StudyContext(task=task, source=describe_objective(cell, user.names), task_type="regression")
    svc = _one_parameter_history("svc", "SVC", "C", "classification")
    svr = _one_parameter_history("svr", "SVR", "C", "regression")
    experience = Experience.of(user, [svc, svr], regression)
    assert [t.study.study_id for t in experience.usable] == ["svr"]
    assert experience.report.unrelated["svc"] == (
        "shares only C, which scales the loss, and is a classification task where yours is regression")
    lines = WarmStartSummary.from_info({"warm_start": experience.summary()}).lines()
    assert lines[-1] == ("- left out: 1 that share parameters, without the evidence a transfer needs (each: shares "
                         "only C, which scales the loss, and is a classification task where yours is regression)")
    # the task type unknown (no data): the SVC study informs C as before
    unknown = StudyContext(task=task, source=describe_objective(cell, user.names))
    assert {t.study.study_id for t in Experience.of(user, [svc, svr], unknown).usable} == {"svc", "svr"}
    # a learning rate means the same for both kinds of task
    hgb_user = SearchSpace({"learning_rate": loguniform(1e-3, 1.0), "max_depth": intrange(2, 12)})
    hgb_cell = ("def train(learning_rate, max_depth):\n"
                "    return fit(HistGradientBoostingRegressor(learning_rate=learning_rate, max_depth=max_depth))\n")
    hgb_context = StudyContext(task=task, source=describe_objective(hgb_cell, hgb_user.names), task_type="regression")
    classifier = _one_parameter_history("hgb", "HistGradientBoostingClassifier", "learning_rate", "classification")
    assert [t.study.study_id for t in Experience.of(hgb_user, [classifier], hgb_context).usable] == ["hgb"]
