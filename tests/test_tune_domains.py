"""A Ray Tune or FLAML ``config`` of search-space domains is a search space here (space.from_tune_domain): each
domain read as the distribution it samples, checked against FLAML's own sampler, and a cell written for those
libraries tuned as the same cell written with this package's distributions."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo import tune
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform

flaml_tune = pytest.importorskip("flaml.tune")


def test_each_domain_is_the_distribution_it_samples():
    space = SearchSpace({
        "lr": flaml_tune.loguniform(1e-4, 1e-1), "p": flaml_tune.uniform(0.0, 0.5),
        "n": flaml_tune.randint(1, 5), "width": flaml_tune.lograndint(8, 256),
        "batch": flaml_tune.choice([16, 32, 64]), "q": flaml_tune.quniform(0.0, 1.0, 0.25),
        "trees": flaml_tune.qrandint(10, 100, 10), "grid": {"grid_search": ["a", "b"]},
    })
    assert space == SearchSpace({
        "lr": loguniform(1e-4, 1e-1), "p": uniform(0.0, 0.5),
        "n": intrange(1, 4), "width": intrange(8, 255, log=True),  # randint leaves its upper bound out
        "batch": choice(16, 32, 64), "q": choice(0.0, 0.25, 0.5, 0.75, 1.0),
        "trees": choice(10, 20, 30, 40, 50, 60, 70, 80, 90, 100),  # qrandint keeps it
        "grid": choice("a", "b"),
    })


def test_every_value_flaml_samples_is_in_the_space_and_every_grid_value_is_sampled():
    domains = {"lr": flaml_tune.loguniform(1e-4, 1e-1), "n": flaml_tune.randint(1, 5),
               "width": flaml_tune.lograndint(8, 256), "q": flaml_tune.quniform(0.0, 1.0, 0.25),
               "trees": flaml_tune.qrandint(10, 100, 10), "log_grid": flaml_tune.qlograndint(8, 64, 8)}
    space = SearchSpace(domains)
    rng = np.random.RandomState(0)
    for name, domain in domains.items():
        sampled = set(np.atleast_1d(domain.sample(size=3000, random_state=rng)).tolist())
        assert all(space[name].contains(value) for value in sampled), name
        options = getattr(space[name], "options", None)
        if options is not None:
            assert sorted(sampled) == sorted(options), name
        else:
            assert min(sampled) >= space[name].low and max(sampled) <= space[name].high


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (lambda: flaml_tune.randn(0.0, 1.0), r"space\['x'\] is a flaml.tune.sample Float domain sampled by Normal, "
                                             r"which has no bounds"),
        (lambda: flaml_tune.quniform(0.0, 1.0, 0.001), r"space\['x'\] is quantized into 1001 values, more than 100"),
    ],
)
def test_a_domain_without_bounds_or_with_too_fine_a_grid_is_refused_naming_it(domain, message):
    with pytest.raises(TypeError, match=message):
        SearchSpace({"x": domain()})


def test_a_cell_written_for_ray_tune_or_flaml_tunes_as_the_same_cell_with_our_distributions(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y = load_breast_cancer(return_X_y=True)

    def train(config):  # Ray Tune's and FLAML's form: one config dict
        model = SVC(C=config["C"], gamma=config["gamma"])
        return cross_val_score(model, X[:200], y[:200], cv=3).mean()

    theirs = {"C": flaml_tune.loguniform(1e-2, 1e3), "gamma": flaml_tune.loguniform(1e-4, 1.0)}
    ours = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0)}
    runs = [tune(train, space, n_trials=3, direction="maximize", seed=0, data=(X, y), store=tmp_path / f"{i}.json",
                 progress=False) for i, space in enumerate((theirs, ours))]
    assert [t.config for t in runs[0].trials] == [t.config for t in runs[1].trials]
    assert "the built-in svc prior" in "\n".join(runs[0].warm_start.lines())
