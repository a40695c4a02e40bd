"""MetaSearchCV takes RandomizedSearchCV's param_distributions: frozen scipy.stats distributions and lists; every search
space (tune's too) takes the distributions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from jupyter_metahpo import MetaSearchCV
from jupyter_metahpo.param_distributions import from_param_distributions
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform


@pytest.mark.parametrize(("given", "ours"), [
    (stats.loguniform(1e-2, 1e3), loguniform(1e-2, 1e3)),
    (stats.reciprocal(1e-4, 1.0), loguniform(1e-4, 1.0)),
    (stats.uniform(0.1, 0.8), uniform(0.1, 0.9)),  # loc and scale, as scipy means them
    (stats.uniform(loc=0.5, scale=1.5), uniform(0.5, 2.0)),
    (stats.randint(10, 200), intrange(10, 199)),  # randint leaves its high out
    (["gini", "entropy"], choice("gini", "entropy")),
    ((1, 10, 100), choice(1, 10, 100)),
    (np.array([0.1, 0.5]), choice(0.1, 0.5)),
    ([None, "balanced"], choice(None, "balanced")),
    (loguniform(1e-3, 1.0), loguniform(1e-3, 1.0)),  # ours as it is
])
def test_each_kind_of_value_is_read_as_ours(given, ours):
    parameter = from_param_distributions({"p": given})["p"]
    assert parameter == ours
    assert all(type(o) in (str, int, float, type(None)) for o in getattr(parameter, "options", ()))


def test_a_distribution_without_bounds_or_a_list_of_objects_is_refused_naming_the_parameter():
    with pytest.raises(TypeError, match=r"space\['C'\] is scipy.stats.norm, which has no bounds or scale a search can "
                                        r"model; use scipy.stats.uniform, loguniform or randint, a list of values"):
        from_param_distributions({"C": stats.norm(0, 1)})
    with pytest.raises(TypeError, match=r"space\['model'\], a list of values, cannot be a choice: choice\(\) options"):
        from_param_distributions({"model": [SVC(), SVC(C=2.0)]})
    with pytest.raises(ValueError, match=r"space\['k'\], a list of values, cannot be a choice: choice\(\) needs"):
        from_param_distributions({"k": []})
    space = SearchSpace({"C": loguniform(1e-2, 1e3)})
    assert from_param_distributions(space) is space


def test_a_randomized_search_cv_space_searches_as_its_equivalent_of_ours_and_warms_from_the_prior():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)
    pipe = make_pipeline(StandardScaler(), SVC())
    scipy_space = {"svc__C": stats.loguniform(1e-2, 1e3), "svc__gamma": stats.loguniform(1e-4, 1.0),
                   "svc__class_weight": [None, "balanced"]}
    ours = {"svc__C": loguniform(1e-2, 1e3), "svc__gamma": loguniform(1e-4, 1.0),
            "svc__class_weight": choice(None, "balanced")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MetaSearchCV(pipe, scipy_space, n_iter=3, cv=2, random_state=0, store=False).fit(X, y)
        same = MetaSearchCV(pipe, ours, n_iter=3, cv=2, random_state=0, store=False).fit(X, y)
    assert theirs.search_space_ == SearchSpace(ours)
    assert list(theirs.cv_results_["params"]) == list(same.cv_results_["params"])
    assert not theirs.study_.warm_start.is_cold and theirs.cv_results_["origin"][0] == "warm-start"


def test_tune_and_every_search_space_take_scipy_distributions(tmp_path):
    from jupyter_metahpo import tune

    space = SearchSpace({"C": stats.loguniform(1e-2, 1e3), "k": stats.randint(1, 4), "u": stats.uniform(0.1, 0.5)})
    assert space == SearchSpace({"C": loguniform(1e-2, 1e3), "k": intrange(1, 3), "u": uniform(0.1, 0.6)})
    result = tune(lambda C, k: abs(np.log10(C) - 1) + k, {"C": stats.loguniform(1e-2, 1e3), "k": stats.randint(1, 4)},
                  n_trials=3, store=tmp_path / "store.json", seed=0, strategy="none", progress=False)
    assert [sorted(t.config) for t in result.trials] == [["C", "k"]] * 3
    assert all(1e-2 <= t.config["C"] <= 1e3 and t.config["k"] in (1, 2, 3) for t in result.trials)
    with pytest.raises(TypeError, match=r"space\['C'\] is scipy.stats.norm, which has no bounds or scale a search can "
                                        r"model; use scipy.stats.uniform, loguniform or randint, or jupyter_metahpo's"):
        SearchSpace({"C": stats.norm(0, 1)})


def test_a_list_or_a_pair_of_numbers_in_a_search_space_is_refused_saying_what_to_write():
    # A list could mean options, a pair of numbers a range as well: tune's spaces ask (MetaSearchCV's take lists).
    with pytest.raises(TypeError, match=r"but got \[0.1, 1, 10\] \(list\): for these values write choice\(0.1, 1, 10\)"):
        SearchSpace({"C": [0.1, 1, 10]})
    with pytest.raises(TypeError, match=r"\(tuple\): for a range write uniform\(2, 8\), loguniform\(2, 8\) or "
                                        r"intrange\(2, 8\); for these two values, choice\(2, 8\)\.$"):
        SearchSpace({"depth": (2, 8)})
    with pytest.raises(TypeError, match=r"for a range write uniform\(0.1, 10\), loguniform\(0.1, 10\); for these"):
        SearchSpace({"C": (0.1, 10)})
