"""Parameters an objective uses only in one branch of a choice: read from the source, honoured by the warm start."""

from __future__ import annotations

import textwrap

import pytest

from helpers.cells import run_cell
from jupyter_metahpo.meta.branches import Branch, branch_values
from jupyter_metahpo.meta.source import ObjectiveSource, describe_objective
from jupyter_metahpo.space import choice, intrange, loguniform, uniform

# Optuna's first example (its README and sklearn_simple.py), with the features scaled for the SVM.
OPTUNA_SKLEARN_EXAMPLE = '''
import sklearn.ensemble
import sklearn.model_selection
import sklearn.preprocessing
import sklearn.pipeline
import sklearn.svm


def objective(trial):
    classifier_name = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier_name == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-10, 1e10, log=True)
        classifier_obj = sklearn.pipeline.make_pipeline(
            sklearn.preprocessing.StandardScaler(), sklearn.svm.SVC(C=svc_c, gamma="auto"))
    else:
        rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
        classifier_obj = sklearn.ensemble.RandomForestClassifier(max_depth=rf_max_depth, n_estimators=10)
    score = sklearn.model_selection.cross_val_score(classifier_obj, X, y, n_jobs=1, cv=3)
    return score.mean()
'''


def branches_of(text: str, space) -> dict[str, tuple[str, tuple]]:
    source = describe_objective(textwrap.dedent(text), space)
    return {b.parameter: (b.chooser, b.values) for b in source.branches}


def test_optunas_sklearn_example_uses_each_models_parameter_in_its_branch_only():
    names = ["classifier", "svc_c", "rf_max_depth"]
    assert branches_of(OPTUNA_SKLEARN_EXAMPLE, names) == {
        "svc_c": ("classifier", ("SVC",)),
        "rf_max_depth": ("classifier", ("RandomForest",)),  # the else: the options come from the suggest call
    }


DICT_CELL = '''
def train(config):
    if config["model"] in ("svc", "nusvc"):
        model = SVC(C=config["C"], gamma=config["gamma"])
    elif config["model"] == "forest":
        model = RandomForestClassifier(max_depth=config["depth"] if config["limit"] else None)
    else:
        model = LogisticRegression(C=config["C"])
    if config["model"] != "forest" and X.shape[0] > 100:
        model.set_params(tol=config["tol"])
    return cross_val_score(model, X, y).mean()
'''

DICT_SPACE = {
    "model": choice("svc", "nusvc", "forest", "logistic"), "C": loguniform(1e-2, 1e2),
    "gamma": loguniform(1e-3, 1.0), "depth": intrange(2, 20), "limit": choice(True, False),
    "tol": loguniform(1e-5, 1e-2),
}


def test_ifs_elifs_elses_ins_and_conditional_expressions_on_a_config_lookup_give_branches():
    found = branches_of(DICT_CELL, DICT_SPACE)
    assert found["gamma"] == ("model", ("svc", "nusvc"))
    assert found["depth"] == ("model", ("forest",))
    # The elif's else: neither svc/nusvc (the if) nor forest (the elif), in the space's order.
    assert found["limit"] == ("model", ("forest",))
    # A test on data besides the chooser still puts tol under model != "forest" (the and's other part narrows it).
    assert found["tol"] == ("model", ("svc", "nusvc", "logistic"))
    # Read in the SVM branch and in the last else: every option but the forest.
    assert found["C"] == ("model", ("svc", "nusvc", "logistic"))
    assert "model" not in found


def test_a_parameter_read_outside_its_branch_or_under_a_test_on_data_has_none():
    text = '''
    def train(kind, alpha, beta, gamma):
        if kind == "a":
            model = make(alpha)
        print(alpha)                  # read outside the branch too
        if X.shape[0] > 10:           # a test on data, not on a choice
            beta = beta * 2
        if kind == "a" or X.shape[1]:  # an or with a test on data
            return gamma
        return model
    '''
    assert branches_of(text, {"kind": choice("a", "b"), "alpha": uniform(0, 1), "beta": uniform(0, 1),
                              "gamma": uniform(0, 1)}) == {}


def test_an_else_after_a_test_that_cannot_be_read_whole_is_not_its_negation():
    text = '''
    def train(kind, alpha, beta):
        if kind == "a" and X.shape[0] > 10:
            return alpha
        else:
            return beta               # runs for kind "a" on small data too
    '''
    found = branches_of(text, {"kind": choice("a", "b", "c"), "alpha": uniform(0, 1), "beta": uniform(0, 1)})
    assert found == {"alpha": ("kind", ("a",))}


def test_truth_tests_not_and_inequalities_resolve_against_the_choices_options():
    text = '''
    def train(use_bn, momentum, opt, nesterov, wd):
        if use_bn:
            layer = BatchNorm(momentum=momentum)
        if not opt != "sgd":
            step = SGD(nesterov=nesterov)
        if opt is not None:
            return wd
    '''
    space = {"use_bn": choice(True, False), "momentum": uniform(0.1, 0.99), "opt": choice("sgd", "adam", None),
             "nesterov": choice(True, False), "wd": uniform(0, 1)}
    assert branches_of(text, space) == {
        "momentum": ("use_bn", (True,)), "nesterov": ("opt", ("sgd",)), "wd": ("opt", ("sgd", "adam")),
    }


# Optuna's example as many write it: each branch returns, and the model after the ``if`` is the other one.
EARLY_RETURN_EXAMPLE = '''
def objective(trial):
    classifier = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-10, 1e10, log=True)
        model = sklearn.pipeline.make_pipeline(sklearn.preprocessing.StandardScaler(), sklearn.svm.SVC(C=svc_c))
        return sklearn.model_selection.cross_val_score(model, X, y, cv=3).mean()
    rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
    model = sklearn.ensemble.RandomForestClassifier(max_depth=rf_max_depth, n_estimators=10)
    return sklearn.model_selection.cross_val_score(model, X, y, cv=3).mean()
'''


def test_what_follows_an_if_that_returns_is_the_other_branch():
    assert branches_of(EARLY_RETURN_EXAMPLE, ["classifier", "svc_c", "rf_max_depth"]) == {
        "svc_c": ("classifier", ("SVC",)),
        "rf_max_depth": ("classifier", ("RandomForest",)),
    }


def test_raise_continue_and_an_else_that_leaves_count_as_leaving_and_a_test_on_data_does_not():
    text = '''
    def train(kind, alpha, beta, gamma, delta):
        if kind not in ("a", "b"):
            raise ValueError(kind)
        for epoch in range(3):
            if kind == "a":
                continue
            step(beta)                # only kind "b" gets here
        if kind == "b":
            pass
        else:
            return alpha              # kind "a": the rest of the function is kind "b" only
        if X.shape[0] > 10:
            return delta              # a test on data: what follows is not conditioned by it
        return gamma + delta
    '''
    found = branches_of(text, {"kind": choice("a", "b", "c"), "alpha": uniform(0, 1), "beta": uniform(0, 1),
                               "gamma": uniform(0, 1), "delta": uniform(0, 1)})
    assert found == {"alpha": ("kind", ("a",)), "beta": ("kind", ("b",)), "gamma": ("kind", ("b",)),
                     "delta": ("kind", ("b",))}


def test_an_if_whose_body_does_not_always_leave_puts_nothing_after_it_in_a_branch():
    text = '''
    def train(kind, alpha, beta):
        if kind == "a":
            if X.shape[0] > 10:
                return alpha          # only on large data: small data goes on below with kind "a"
        return beta
    '''
    assert branches_of(text, {"kind": choice("a", "b"), "alpha": uniform(0, 1), "beta": uniform(0, 1)}) == {
        "alpha": ("kind", ("a",)),
    }


def test_an_early_return_in_a_helper_leaves_the_helper_not_the_objective():
    text = '''
    def make(config):
        if config["kind"] == "svc":
            return SVC(C=config["c"])
        return LogisticRegression()

    def scaled(config):
        return Scaler(config["depth"])

    def train(config):
        model = make(config)
        return cross_val_score(scaled(config), model, X, y).mean()
    '''
    # The helpers' bodies are read after the objective's, one after another: make's return must not put
    # scaled's (the only place depth is read) under kind != "svc".
    found = branches_of(text, {"kind": choice("svc", "logreg"), "c": uniform(0, 1), "depth": intrange(1, 5)})
    assert found == {"c": ("kind", ("svc",))}


def test_match_cases_on_a_choice_give_branches_and_the_wildcard_takes_the_rest():
    text = '''
    def train(config):
        match config["model"]:
            case "svc" | "nusvc":
                model = SVC(C=config["C"])
            case "forest":
                model = RandomForestClassifier(max_depth=config["depth"])
            case _:
                model = LogisticRegression(tol=config["tol"])
        match config["scaler"]:
            case "standard" if X.shape[0] > 10:
                scale = config["with_mean"]
            case _:
                scale = config["quantiles"]   # after a guarded case: not read as "not standard"
        return cross_val_score(model, X, y).mean()
    '''
    space = {"model": choice("svc", "nusvc", "forest", "logistic"), "C": loguniform(1e-2, 1e2),
             "depth": intrange(2, 20), "tol": loguniform(1e-5, 1e-2), "scaler": choice("standard", "robust"),
             "with_mean": choice(True, False), "quantiles": intrange(10, 100)}
    assert branches_of(text, space) == {
        "C": ("model", ("svc", "nusvc")), "depth": ("model", ("forest",)), "tol": ("model", ("logistic",)),
        "with_mean": ("scaler", ("standard",)),
    }


def test_branches_survive_the_sources_json_and_older_json_has_none():
    source = describe_objective(OPTUNA_SKLEARN_EXAMPLE, ["classifier", "svc_c", "rf_max_depth"])
    again = ObjectiveSource.from_json(source.to_json())
    assert again.branches == source.branches
    older = source.to_json()
    del older["branches"]
    assert ObjectiveSource.from_json(older).branches == ()


def test_the_branch_values_are_those_every_informed_parameter_needs_and_no_others():
    branches = {
        "svc_c": [Branch("svc_c", "classifier", ("SVC", "LinearSVC"))],
        "kernel": [Branch("kernel", "classifier", ("SVC",))],
        "depth": [Branch("depth", "classifier", ("RandomForest",))],
    }
    options = {"classifier": ("RandomForest", "LinearSVC", "SVC")}
    assert branch_values(["svc_c"], branches, ["classifier"], options) == {"classifier": "LinearSVC"}
    assert branch_values(["svc_c", "kernel"], branches, ["classifier"], options) == {"classifier": "SVC"}
    # No value uses both: the choice is left to the space's design.
    assert branch_values(["svc_c", "depth"], branches, ["classifier"], options) == {}
    # A choice the past study informs itself is not free: its own value stands.
    assert branch_values(["svc_c"], branches, [], options) == {}


@pytest.fixture()
def sklearn_example():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    cell = run_cell(OPTUNA_SKLEARN_EXAMPLE.strip("\n"), "<optuna-sklearn-example>", {"X": X, "y": y})
    return cell["objective"], (X, y)


def test_the_warm_start_runs_the_svm_priors_configurations_in_the_branch_that_uses_svc_c(sklearn_example):
    from jupyter_metahpo import suggest

    objective, data = sklearn_example
    for seed in (0, 1, 2):
        proposals = suggest(data=data, k=4, objective=objective, store=False, seed=seed)
        assert len(proposals) == 4
        assert [p.config["classifier"] for p in proposals] == ["SVC"] * 4, (seed, [p.config for p in proposals])
    svm = [entry for entry in proposals.report.sources.values() if entry["space_name"] == "svc"]
    assert svm and svm[0]["branch"] == [["classifier", "SVC", ["svc_c"]]]
    assert svm[0]["unused_in_branch"] == ["rf_max_depth"]


def test_the_warm_start_runs_the_forest_priors_configurations_after_the_svms_early_return():
    from sklearn.datasets import load_breast_cancer

    from jupyter_metahpo import suggest

    X, y = load_breast_cancer(return_X_y=True)
    header = OPTUNA_SKLEARN_EXAMPLE.split("def objective")[0]
    cell = header + EARLY_RETURN_EXAMPLE.replace(
        'rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)',
        'rf_leaf = trial.suggest_int("rf_leaf", 1, 32, log=True)',
    ).replace("max_depth=rf_max_depth, n_estimators=10", "min_samples_leaf=rf_leaf, n_estimators=100")
    objective = run_cell(cell.strip("\n"), "<early-return>", {"X": X, "y": y})["objective"]
    proposals = suggest(data=(X, y), k=6, objective=objective, store=False)
    forest = [e for e in proposals.report.sources.values() if e["space_name"] == "random_forest_classifier"]
    assert forest and forest[0]["branch"] == [["classifier", "RandomForest", ["rf_leaf"]]]
    runs = {p.config["classifier"]: p for p in proposals}
    assert set(runs) == {"SVC", "RandomForest"}, [dict(p.config) for p in proposals]
    assert "svc_c not used in that branch" in runs["RandomForest"].reason


def test_tune_says_which_branch_the_warm_start_ran_and_what_it_leaves_unused(sklearn_example, tmp_path):
    from jupyter_metahpo import tune

    objective, data = sklearn_example
    result = tune(objective, n_trials=4, data=data, direction="maximize", seed=0, store=tmp_path / "store.json")
    warm = [t for t in result.trials if t.origin.source == "warm-start"]
    assert warm and all(t.config["classifier"] == "SVC" for t in warm)
    assert all("classifier='SVC': the branch of your objective that uses what the past study informs"
               in t.origin.reason for t in warm)
    text = "\n".join(result.warm_start.lines())
    assert "their configurations in your classifier='SVC' (where your svc_c is used)" in text
    assert "your rf_max_depth not used there" in text
    assert "classifier, rf_max_depth from the space's own design" not in text


BOTH_BRANCHES = OPTUNA_SKLEARN_EXAMPLE.replace(
    'rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)',
    'rf_leaf = trial.suggest_int("rf_leaf", 1, 32, log=True)',
).replace("max_depth=rf_max_depth, n_estimators=10", "min_samples_leaf=rf_leaf, n_estimators=100")


def test_with_both_branches_informed_each_past_study_runs_in_its_own_and_leaves_the_others_parameter_unused():
    from sklearn.datasets import load_breast_cancer

    from jupyter_metahpo import suggest

    X, y = load_breast_cancer(return_X_y=True)
    objective = run_cell(BOTH_BRANCHES.strip("\n"), "<optuna-sklearn-both>", {"X": X, "y": y})["objective"]
    proposals = suggest(data=(X, y), k=6, objective=objective, store=False)
    chosen = {p.config["classifier"] for p in proposals}
    assert chosen == {"SVC", "RandomForest"}, [dict(p.config) for p in proposals]
    for proposal in proposals:
        other = "rf_leaf" if proposal.config["classifier"] == "SVC" else "svc_c"
        assert f"{other} not used in that branch" in proposal.reason, proposal.reason
        # the other estimator's default is not what these past studies ran
        assert f"{other}=" not in proposal.reason, proposal.reason
    forest = [e for e in proposals.report.sources.values() if e["space_name"] == "random_forest_classifier"]
    assert forest and forest[0]["branch"] == [["classifier", "RandomForest", ["rf_leaf"]]]
    assert forest[0]["unused_in_branch"] == ["svc_c"]
