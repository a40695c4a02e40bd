"""MetaSearchCV: a scikit-learn drop-in for RandomizedSearchCV that warm-starts from the past.

Budgets stay within the initial design (no GP fit) except where refinement is
the point, so these tests are quick; every search runs real cross-validation.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import RandomizedSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError

from jupyter_metahpo import ExperienceStore, MetaSearchCV
from jupyter_metahpo.builtin_spaces import get_builtin_space
from jupyter_metahpo.search_cv import task_data
from jupyter_metahpo.space import choice, intrange, loguniform


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of tiny fits
        yield


@pytest.fixture(scope="module")
def classification():
    return make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)


def tree_search(**kwargs):
    settings = dict(n_iter=4, cv=3, random_state=0, store=False, strategy="none")
    settings.update(kwargs)
    return MetaSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": intrange(1, 8)}, **settings)


# ------------------------------------------------------------------ drop-in behaviour


def test_results_have_randomized_search_cv_keys_and_consistent_best(classification):
    X, y = classification
    ours = tree_search().fit(X, y)
    theirs = RandomizedSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": list(range(1, 9))}, n_iter=4, cv=3, random_state=0
    ).fit(X, y)
    assert set(theirs.cv_results_) <= set(ours.cv_results_)
    assert {"config", "origin"} <= set(ours.cv_results_)
    scores = ours.cv_results_["mean_test_score"]
    assert ours.best_score_ == pytest.approx(np.nanmax(scores))
    assert ours.best_params_ == ours.cv_results_["params"][ours.best_index_]
    assert ours.cv_results_["rank_test_score"][ours.best_index_] == 1
    assert ours.best_estimator_.get_params()["max_depth"] == ours.best_params_["max_depth"]
    np.testing.assert_array_equal(ours.predict(X), ours.best_estimator_.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), ours.best_estimator_.predict_proba(X))
    assert ours.score(X, y) == pytest.approx(ours.best_estimator_.score(X, y))
    np.testing.assert_array_equal(ours.classes_, np.unique(y))
    assert ours.n_features_in_ == X.shape[1]
    assert len(ours.study_.trials) == 4 and ours.search_space_.names == ["max_depth"]


def test_same_random_state_gives_the_same_candidates(classification):
    X, y = classification
    first = tree_search(random_state=3).fit(X, y).cv_results_["params"]
    again = tree_search(random_state=np.random.RandomState(3)).fit(X, y).cv_results_["params"]
    assert first == tree_search(random_state=3).fit(X, y).cv_results_["params"]
    assert len(again) == len(first)


def test_refit_false_keeps_no_estimator_and_multimetric_follows_the_refit_metric(classification):
    X, y = classification
    search = tree_search(refit=False).fit(X, y)
    assert not hasattr(search, "best_estimator_")
    with pytest.raises(AttributeError):
        search.predict(X)
    multi = tree_search(scoring={"acc": "accuracy", "bal": "balanced_accuracy"}, refit="bal").fit(X, y)
    assert {"mean_test_acc", "mean_test_bal", "rank_test_bal"} <= set(multi.cv_results_)
    assert multi.best_score_ == pytest.approx(np.nanmax(multi.cv_results_["mean_test_bal"]))


@pytest.mark.slow
def test_the_study_maximises_the_score_it_reports(classification):
    X, y = classification
    search = tree_search(n_iter=6).fit(X, y)  # the initial design, then a real GP step
    assert search.cv_results_["origin"][-1] == "gp"
    values = [t.value for t in search.study_.trials]
    np.testing.assert_allclose(values, search.cv_results_["mean_test_score"])
    assert search.study_.best_value == pytest.approx(search.best_score_)


# ------------------------------------------------------------------ spaces and pipelines


def test_builtin_space_is_used_when_none_is_given_and_fixed_settings_respect_the_user(classification):
    X, y = classification
    builtin = get_builtin_space("logistic_regression")
    search = MetaSearchCV(LogisticRegression(max_iter=50), n_iter=3, cv=2, random_state=0, store=False).fit(X, y)
    assert search.search_space_ == builtin.space
    params = search.best_params_
    assert {"C", "l1_ratio", "class_weight"} <= set(params)
    assert params["solver"] == builtin.fixed["solver"]  # the prior was measured with it
    assert "max_iter" not in params  # ... but the user's own max_iter=50 is kept
    assert search.best_estimator_.max_iter == 50
    assert search.best_config_ == {k: params[k] for k in builtin.space.names}


def test_builtin_space_applies_to_the_final_step_of_a_pipeline(classification):
    X, y = classification
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = MetaSearchCV(pipe, n_iter=3, cv=2, random_state=0, store=False).fit(X, y)
    assert all(name.startswith("clf__") for name in search.best_params_)
    assert search.best_estimator_.named_steps["clf"].C == search.best_params_["clf__C"]
    assert search.best_config_["C"] == search.best_params_["clf__C"]


def test_builtin_space_by_name_and_a_mapping_of_configs_to_params(classification):
    X, y = classification
    from sklearn.neural_network import MLPClassifier

    search = MetaSearchCV(
        MLPClassifier(max_iter=5), "mlp_classifier", n_iter=2, cv=2, random_state=0, store=False, strategy="none"
    )
    search.fit(X, y)
    config = search.best_config_
    assert search.best_params_["hidden_layer_sizes"] == (config["hidden_layer_width"],) * config["n_hidden_layers"]


def test_explicit_space_with_pipeline_step_names(classification):
    X, y = classification
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    space = {"logisticregression__C": loguniform(1e-2, 1e2), "standardscaler__with_mean": choice(True, False)}
    search = MetaSearchCV(pipe, space, n_iter=3, cv=2, random_state=0, store=False).fit(X, y)
    assert set(search.best_params_) == set(space)


def test_an_explicit_space_on_a_pipeline_warms_from_the_prior_of_the_step_it_tunes(classification):
    # The objective MetaSearchCV runs builds no estimator in its own code; the pipeline object
    # tells which estimator "svc__C" belongs to (before: a cold start, "nothing says their
    # tasks are related").
    X, y = classification
    space = {"svc__C": loguniform(1e-2, 1e3), "svc__gamma": loguniform(1e-4, 1.0)}
    search = MetaSearchCV(make_pipeline(StandardScaler(), SVC()), space, n_iter=2, cv=2, random_state=0,
                          store=False).fit(X, y)
    summary = search.study_.warm_start
    assert not summary.is_cold, summary
    assert search.cv_results_["origin"][0] == "warm-start"
    text = repr(summary)
    assert "the built-in svc prior" in text and "svc__C (their C: it sets SVC's C)" in text
    assert "the same estimator family (svm)" in text


def test_an_svm_with_another_kernel_than_the_priors_does_not_warm_from_it_in_either_kind_of_space(classification):
    X, y = classification
    poly = make_pipeline(StandardScaler(), SVC(kernel="poly"))
    explicit = {"svc__C": loguniform(1e-2, 1e3), "svc__gamma": loguniform(1e-4, 1.0)}
    for space in (None, explicit):  # the built-in svc space, or the user's
        search = MetaSearchCV(poly, space, n_iter=2, cv=2, random_state=0, store=False).fit(X, y)
        summary = search.study_.warm_start
        assert summary.is_cold and "SVC(kernel='poly')'s C" in repr(summary), summary
    rbf = MetaSearchCV(make_pipeline(StandardScaler(), SVC()), n_iter=2, cv=2, random_state=0, store=False).fit(X, y)
    assert "the same estimator family (svm)" in repr(rbf.study_.warm_start)


def test_search_works_as_a_step_inside_a_pipeline(classification):
    X, y = classification
    pipe = make_pipeline(StandardScaler(), tree_search()).fit(X, y)
    assert pipe.score(X, y) > 0.5
    assert pipe.predict(X).shape == y.shape


def test_regression_and_unknown_names_and_estimators_without_builtin_space():
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    search = MetaSearchCV(Ridge(), {"alpha": loguniform(1e-3, 10)}, n_iter=3, cv=2, store=False, strategy="none")
    assert search.fit(X, y).best_params_["alpha"] > 0
    with pytest.raises(ValueError, match=r"not parameters of Ridge.*get_params"):
        MetaSearchCV(Ridge(), {"alpah": loguniform(1e-3, 10)}, n_iter=2, cv=2, store=False).fit(X, y)
    with pytest.raises(KeyError, match="no built-in search space for Ridge"):
        MetaSearchCV(Ridge(), n_iter=2, cv=2, store=False).fit(X, y)
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        MetaSearchCV(Ridge(), {"alpha": loguniform(1e-3, 10)}, n_iter=2, cv=2, store=False, strategy="best").fit(X, y)
    assert MetaSearchCV(Ridge(), {"alpha": loguniform(1e-3, 10)}, n_iter=2, cv=2, store=False, strategy=None).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'n_iter' parameter of MetaSearchCV"):
        MetaSearchCV(Ridge(), {"alpha": loguniform(1e-3, 10)}, n_iter=0).fit(X, y)


# ------------------------------------------------------------------ failures


def test_failing_candidates_are_failed_trials_and_error_score_raise_raises(classification):
    X, y = classification
    space = {"max_features": choice("sqrt", "no-such-option"), "max_depth": intrange(1, 4)}
    search = MetaSearchCV(DecisionTreeClassifier(random_state=0), space, n_iter=5, cv=2, random_state=0, store=False)
    search.fit(X, y)
    states = [t.state.value for t in search.study_.trials]
    assert "failed" in states and "complete" in states
    assert search.best_params_["max_features"] == "sqrt"
    with pytest.raises(InvalidParameterError, match="max_features"):
        MetaSearchCV(
            DecisionTreeClassifier(), {"max_features": choice("no-such-option")}, n_iter=2, cv=2,
            store=False, error_score="raise",
        ).fit(X, y)


def test_task_data_leaves_out_what_meta_features_cannot_describe(classification):
    import scipy.sparse

    X, y = classification
    assert task_data(X, y) is not None
    assert task_data(scipy.sparse.csr_matrix(X), y) is None
    assert task_data(X[:1], y[:1]) is None
    assert task_data(X, None) is None


# ------------------------------------------------------------------ the store and warm starts


def test_search_is_recorded_and_the_next_search_warm_starts_from_it(classification, tmp_path):
    from jupyter_metahpo.store import ExperienceStore

    X, y = classification
    store = ExperienceStore(tmp_path / "store")
    first = MetaSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": intrange(1, 8), "min_samples_leaf": intrange(1, 20)},
        n_iter=6, cv=3, random_state=0, store=store, name="trees-a",
    ).fit(X, y)
    assert [s.name for s in store.studies()] == ["trees-a"]
    assert first.study_.study_id is not None

    second = MetaSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": intrange(1, 8), "min_samples_leaf": intrange(1, 20)},
        n_iter=3, cv=3, random_state=1, store=store, name="trees-b",
    ).fit(X, y)
    assert second.cv_results_["origin"][0] == "warm-start"
    assert second.cv_results_["config"][0] == first.best_config_
    assert len(store.studies()) == 2
    second.fit(X, y)  # a second fit under the same name is a new search of n_iter candidates
    assert len(second.cv_results_["params"]) == 3 and len(store.studies()) == 3


# ------------------------------------------------------------------ scikit-learn's estimator checks

# check_estimator() is not meaningful for a meta-estimator (it builds it without an
# estimator); these are the checks that apply to one, run on a configured instance.
RELEVANT_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimators_unfitted",
    "check_fit_check_is_fitted",
    "check_dont_overwrite_parameters",
    "check_estimators_overwrite_params",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_fit_score_takes_y",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_methods_subset_invariance",
    "check_estimators_empty_data_messages",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_estimator_sparse_array",
    "check_classifiers_train",
    "check_mixin_order",
]


@pytest.mark.parametrize("check_name", RELEVANT_CHECKS)
def test_scikit_learn_estimator_checks(check_name):
    # A nearest-neighbour classifier: quick to fit, and it rejects NaN as the checks
    # expect of an estimator whose tags do not allow it (a search copies its
    # estimator's tags, as scikit-learn's own searches do). No warm start: these
    # checks are about the estimator API.
    check = getattr(estimator_checks, check_name)
    search = MetaSearchCV(
        KNeighborsClassifier(), {"n_neighbors": intrange(1, 4)}, n_iter=3, cv=2, random_state=0, store=False,
        strategy="none",
    )
    check("MetaSearchCV", search)


def test_regressor_checks():
    search = MetaSearchCV(Ridge(), {"alpha": loguniform(1e-3, 10)}, n_iter=3, cv=2, random_state=0, store=False)
    estimator_checks.check_regressors_train("MetaSearchCV", search)
    estimator_checks.check_estimators_pickle("MetaSearchCV", search)


def test_clone_and_params_round_trip_with_nested_estimator():
    search = MetaSearchCV(make_pipeline(StandardScaler(), LogisticRegression()), n_iter=5, strategy="portfolio")
    params = search.get_params(deep=True)
    assert params["estimator__logisticregression__C"] == 1.0
    search.set_params(estimator__logisticregression__C=2.0, n_iter=7)
    copy = clone(search)
    assert copy.get_params()["estimator__logisticregression__C"] == 2.0
    assert copy.n_iter == 7 and copy.strategy == "portfolio" and copy.space is None
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 3)))


def test_fitted_search_pickles_with_its_study(classification):
    X, y = classification
    search = tree_search().fit(X, y)
    loaded = pickle.loads(pickle.dumps(search))
    assert loaded.study_.best_config == search.study_.best_config
    assert [t.origin for t in loaded.study_.trials] == [t.origin for t in search.study_.trials]
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))


def test_package_import_does_not_import_scikit_learn():
    code = "import sys, jupyter_metahpo; assert 'sklearn' not in sys.modules; jupyter_metahpo.MetaSearchCV; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


# ------------------------------------------------------------------ candidates in parallel (issue 21)


def _pid_score(estimator, X, y):
    """A scorer that reports which process fitted and scored the candidate."""
    import os

    return float(os.getpid())


@pytest.mark.slow
def test_n_jobs_runs_batches_of_candidates_on_dask_and_keeps_scikit_learns_results(classification, tmp_path):
    import os

    pytest.importorskip("distributed")
    X, y = classification
    search = tree_search(n_iter=5, n_jobs=2, scoring=_pid_score, store=tmp_path, name="par-cv").fit(X, y)
    results = search.cv_results_
    assert len(results["params"]) == 5 and len(search.study_.trials) == 5
    assert os.getpid() not in set(results["split0_test_score"])  # every fit ran in a Dask worker
    assert [t.config["max_depth"] for t in search.study_.trials] == [c["max_depth"] for c in results["config"]]
    assert search.study_.status == "finished"
    (record,) = ExperienceStore(tmp_path).studies("par-cv")
    assert record.settings["n_jobs"] == 2
