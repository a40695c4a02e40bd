"""A stored study informs a new cell through the arguments both objectives set, whatever either names them."""

from __future__ import annotations

import pytest

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.relatedness import StudyContext
from jupyter_metahpo.meta.source import describe_objective
from jupyter_metahpo.pipeline import Experience
from jupyter_metahpo.space import SearchSpace, loguniform, uniform

PAST_CELL = "def first(reg, width):\n    return score(SVC(C=reg, gamma=width))\n"
PAST_SPACE = SearchSpace({"reg": loguniform(1e-2, 1e3), "width": loguniform(1e-4, 1.0)})
PAST_CONFIGS = [{"reg": 0.5, "width": 0.01}, {"reg": 100.0, "width": 0.1}]


def _stored(cell: str = PAST_CELL, space: SearchSpace = PAST_SPACE, configs=PAST_CONFIGS) -> PastStudy:
    source = describe_objective(cell, space.names)
    return PastStudy("first", "wine", space, "maximize", configs, [0.9, 0.8],
                     extra={"objective_source": source.to_json()})


def _carried(cell: str, space: SearchSpace, past: PastStudy):
    context = StudyContext(source=describe_objective(cell, space.names), explicit=frozenset({past.study_id}))
    return Experience.of(space, [past], context)


def test_a_past_study_of_other_names_informs_the_new_cell_by_the_arguments_both_set():
    space = SearchSpace({"c_value": loguniform(1e-2, 1e3), "g_value": loguniform(1e-4, 1.0)})
    cell = "def second(c_value, g_value):\n    return score(SVC(C=c_value, gamma=g_value))\n"
    (moved,) = _carried(cell, space, _stored()).usable
    assert [link.describe() for link in moved.match.links] == [
        "c_value (their reg: it sets SVC's C)", "g_value (their width: it sets SVC's gamma)"]
    assert [dict(c) for c in moved.configs] == [{"c_value": 0.5, "g_value": 0.01}, {"c_value": 100.0, "g_value": 0.1}]


def test_a_past_studys_exponent_informs_a_cell_that_tunes_the_argument_itself():
    past = _stored("def first(log_c, width):\n    return score(SVC(C=10 ** log_c, gamma=width))\n",
                   SearchSpace({"log_c": uniform(-2, 3), "width": loguniform(1e-4, 1.0)}),
                   [{"log_c": -1.0, "width": 0.01}, {"log_c": 2.0, "width": 0.1}])
    space = SearchSpace({"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0)})
    (moved,) = _carried("def second(C, gamma):\n    return score(SVC(C=C, gamma=gamma))\n", space, past).usable
    assert [c["C"] for c in moved.configs] == pytest.approx([0.1, 100.0])
    assert moved.match.link("C").describe() == "C (their log_c: it sets SVC's C), their log_c as 10 ** it"


def test_the_same_argument_of_another_kind_of_estimator_is_not_linked():
    space = SearchSpace({"c_value": loguniform(1e-2, 1e3), "tol": loguniform(1e-5, 1e-2)})
    cell = "def second(c_value, tol):\n    return score(LogisticRegression(C=c_value, tol=tol))\n"
    experience = _carried(cell, space, _stored())
    assert not experience.usable
    assert "your c_value is LogisticRegression's C, their reg SVC's C: not the same hyperparameter" in (
        experience.report.incompatible["first"])


def test_a_past_study_without_a_source_still_needs_the_names():
    space = SearchSpace({"c_value": loguniform(1e-2, 1e3), "g_value": loguniform(1e-4, 1.0)})
    cell = "def second(c_value, g_value):\n    return score(SVC(C=c_value, gamma=g_value))\n"
    unknown = PastStudy("first", "wine", PAST_SPACE, "maximize", PAST_CONFIGS, [0.9, 0.8])
    assert not _carried(cell, space, unknown).usable  # nothing says what its reg and width set


def test_tune_warms_a_renamed_cell_from_the_stored_study_of_the_same_data(tmp_path):
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    from helpers.cells import run_cell
    from jupyter_metahpo import tune

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    text = ("from sklearn.model_selection import cross_val_score\nfrom sklearn.svm import SVC\n\n\n"
            "def NAME(A, B):\n    return cross_val_score(SVC(C=A, gamma=B), X, y, cv=3).mean()\n")
    store, data = tmp_path / "store.json", (X, y)
    first = run_cell(text.replace("NAME", "first").replace("A", "reg").replace("B", "width"), "<first>",
                     {"X": X, "y": y})["first"]
    second = run_cell(text.replace("NAME", "second").replace("A", "c_value").replace("B", "g_value"), "<second>",
                      {"X": X, "y": y})["second"]
    earlier = tune(first, {"reg": loguniform(1e-2, 1e3), "width": loguniform(1e-4, 1.0)}, n_trials=6, data=data,
                   direction="maximize", seed=0, store=store, name="first")
    later = tune(second, {"c_value": loguniform(1e-2, 1e3), "g_value": loguniform(1e-4, 1.0)}, n_trials=1,
                 data=data, direction="maximize", seed=0, store=store, name="second")
    text = "\n".join(later.warm_start.lines())
    assert "c_value (their reg: it sets SVC's C), g_value (their width: it sets SVC's gamma)" in text
    assert "the same data" in text
    best = earlier.best_config  # the later study's first trial, under its own names
    assert later.trials[0].config == {"c_value": best["reg"], "g_value": best["width"]}
    assert "from 'first', where it scored" in later.trials[0].origin.reason
