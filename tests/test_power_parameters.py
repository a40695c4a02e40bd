"""A parameter the objective raises a base to (``SVC(C=10 ** log_c)``) warms from the past's values of the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.cells import run_cell
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.matching import match_spaces
from jupyter_metahpo.meta.powers import exponent, raised, scales
from jupyter_metahpo.meta.relatedness import StudyContext
from jupyter_metahpo.meta.source import ObjectiveSource, describe_objective
from jupyter_metahpo.pipeline import Experience
from jupyter_metahpo.space import IntRange, LogUniform, SearchSpace, choice, intrange, loguniform, uniform

SVC_CELL = '''
import math
import numpy as np
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC


def train(log_c, log_gamma):
    model = SVC(C=C_VALUE, gamma=GAMMA_VALUE)
    return cross_val_score(model, X, y, cv=3).mean()
'''


#: A cell that names the exponent as the argument it sets.
REBOUND = '''
def train(C, gamma):
    C = 10 ** C
    return score(SVC(C=C, gamma=gamma))
'''


def _svc_cell(c_value: str, gamma_value: str) -> str:
    return SVC_CELL.replace("C_VALUE", c_value).replace("GAMMA_VALUE", gamma_value)


def _bases(text: str, names) -> dict[str, float | None]:
    source = describe_objective(text, list(names))
    return {r.parameter: r.base for r in source.roles}


@pytest.mark.parametrize(("c_value", "base"), [
    ("10 ** log_c", 10.0),
    ("10.0 ** log_c", 10.0),
    ("np.power(10, log_c)", 10.0),
    ("math.pow(10, log_c)", 10.0),
    ("float(2 ** log_c)", 2.0),
    ("math.exp(log_c)", math.e),
    ("np.exp(log_c)", math.e),
    ("math.e ** log_c", math.e),
])
def test_a_power_of_the_parameter_is_read_with_its_base(c_value, base):
    roles = describe_objective(_svc_cell(c_value, "log_gamma"), ["log_c", "log_gamma"]).roles
    (c_role,) = [r for r in roles if r.parameter == "log_c"]
    assert (c_role.target, c_role.argument, c_role.direct) == ("SVC", "C", False)
    assert c_role.base == pytest.approx(base)
    assert [r.base for r in roles if r.parameter == "log_gamma"] == [None]  # passed as it is


@pytest.mark.parametrize("c_value", ["2 * log_c", "log_c ** 2", "0.5 ** log_c", "10 ** (log_c / 2)", "10 ** -log_c"])
def test_other_transforms_are_no_power_of_the_parameter(c_value):
    assert _bases(_svc_cell(c_value, "log_gamma"), ["log_c", "log_gamma"])["log_c"] is None


def test_a_power_held_by_a_local_a_rebinding_or_a_suggest_call_is_read():
    local = '''
def train(log_c, log_gamma):
    C = 10 ** log_c
    gamma = int(2 ** log_gamma)
    return score(SVC(C=C, gamma=gamma))
'''
    assert _bases(local, ["log_c", "log_gamma"]) == {"log_c": 10.0, "log_gamma": 2.0}
    assert _bases(REBOUND, ["C", "gamma"]) == {"C": 10.0, "gamma": None}
    optuna = '''
def objective(trial):
    C = 10 ** trial.suggest_float("log_c", -2, 3)
    return score(SVC(C=C, gamma=trial.suggest_float("gamma", 1e-4, 1.0, log=True)))
'''
    assert _bases(optuna, ["log_c", "gamma"]) == {"log_c": 10.0, "gamma": None}


def test_the_source_json_keeps_the_base_and_reads_roles_recorded_before_it():
    source = describe_objective(_svc_cell("10 ** log_c", "math.exp(log_gamma)"), ["log_c", "log_gamma"])
    assert ObjectiveSource.from_json(source.to_json()) == source
    old = source.to_json()
    old["roles"] = [role[:5] for role in old["roles"]]  # as written before powers were read
    assert [r.base for r in ObjectiveSource.from_json(old).roles] == [None, None]


def test_scales_pass_as_it_is_over_a_power_and_the_first_power_decides():
    roles = describe_objective('''
def train(k, lr):
    model = make(width=2 ** k, depth=k)
    return fit(model, lr=10 ** lr, momentum=math.exp(lr))
''', ["k", "lr"]).roles
    assert scales(roles, ["k", "lr"]) == {}  # make() and fit() set no known argument
    roles = describe_objective(_svc_cell("10 ** log_c", "log_gamma") + "\nSVC(C=log_c)\n", ["log_c"]).roles
    assert scales(roles, ["log_c"]) == {"log_c": 10.0}  # a call outside the objective is not read


def test_raised_parameters_are_the_arguments_ranges_and_exponent_takes_values_back():
    assert raised(uniform(-2, 3), 10.0) == loguniform(0.01, 1000.0)
    assert raised(intrange(4, 8), 2.0) == IntRange(16, 256, log=True)
    assert isinstance(raised(intrange(-3, 0), 10.0), LogUniform)  # 10 ** -3 is no integer
    assert raised(choice(-1, 0, 1), 10.0).options == (0.1, 1.0, 10.0)
    assert raised(choice("a", "b"), 10.0) is None
    assert raised(uniform(0, 5000), 10.0) is None  # past a float's range
    assert exponent(0.5, 10.0, uniform(-2, 3), loguniform(0.01, 1000.0)) == pytest.approx(math.log10(0.5))
    assert exponent(10.0, 10.0, choice(-1, 0, 1), raised(choice(-1, 0, 1), 10.0)) == 1


PRIOR_SVC = SearchSpace({"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0)})


def _svc_study(study_id: str, space: SearchSpace, configs, source: ObjectiveSource | None = None, **extra) -> PastStudy:
    values = [0.5 + 0.01 * i for i in range(len(configs))]
    extra = dict(extra, **({"objective_source": source.to_json()} if source is not None else {}))
    return PastStudy(study_id, "task", space, "maximize", configs, values, extra=extra)


def test_the_match_links_the_exponent_to_the_argument_and_says_the_scale():
    space = SearchSpace({"log_c": uniform(-2, 3), "log_gamma": uniform(-4, 0)})
    context = StudyContext(source=describe_objective(_svc_cell("10 ** log_c", "10 ** log_gamma"), space.names))
    assert context.scales(space) == {"log_c": 10.0, "log_gamma": 10.0}
    assert context.roles(space) == {"log_c": "C", "log_gamma": "gamma"}
    assert context.setters(space)["log_c"] == "SVC's C as 10 ** log_c"
    match = match_spaces(space, PRIOR_SVC, context.roles(space), setters=context.setters(space),
                         scales=context.scales(space), past_scales={"C": None, "gamma": None})
    link = match.link("log_c")
    assert (link.past, link.how, link.base, link.past_base) == ("C", "estimator", 10.0, None)
    assert link.describe() == "log_c (their C: it sets SVC's C as 10 ** log_c), log10 of their C"


def test_past_values_of_the_argument_arrive_as_their_exponents():
    space = SearchSpace({"log_c": uniform(-2, 3), "log_gamma": uniform(-4, 0)})
    context = StudyContext(source=describe_objective(_svc_cell("10 ** log_c", "10 ** log_gamma"), space.names),
                           explicit=frozenset({"svc"}))
    configs = [{"C": 0.5, "gamma": 0.001}, {"C": 100.0, "gamma": 0.1}, {"C": 1e-3, "gamma": 0.01},
               {"C": 1e-9, "gamma": 0.01}]
    (moved,) = Experience.of(space, [_svc_study("svc", PRIOR_SVC, configs)], context).usable
    assert [(round(c["log_c"], 6), round(c["log_gamma"], 6)) for c in moved.configs] == [
        (round(math.log10(0.5), 6), -3.0), (2.0, -1.0), (-2.0, -2.0)]  # 1e-3 clipped to 10 ** -2, 1e-9 too far
    assert moved.n_clipped == 1 and moved.n_dropped == 1
    np.testing.assert_allclose(moved.unit, space.encode(moved.configs))


def test_an_integer_exponent_takes_the_nearest_power():
    space = SearchSpace({"k": intrange(3, 8), "lr": loguniform(1e-4, 1e-1)})
    text = '''
def train(k, lr):
    return fit(SVC(C=2 ** k, gamma=lr))
'''
    context = StudyContext(source=describe_objective(text, space.names), explicit=frozenset({"svc"}))
    configs = [{"C": 100.0, "gamma": 0.01}, {"C": 8.0, "gamma": 0.01}, {"C": 2000.0, "gamma": 0.01}]
    (moved,) = Experience.of(space, [_svc_study("svc", PRIOR_SVC, configs)], context).usable
    assert [c["k"] for c in moved.configs] == [7, 3, 8]  # log2 100 = 6.6; 2000 clipped to 2 ** 8


def test_a_study_run_with_powers_informs_the_argument_itself_and_the_same_cell_as_it_ran():
    exponents = SearchSpace({"C": uniform(-2, 3), "gamma": loguniform(1e-4, 1.0)})  # C = 10 ** C in its objective
    theirs = describe_objective(REBOUND, exponents.names)
    past = _svc_study("past", exponents, [{"C": 1.0, "gamma": 0.01}, {"C": -1.0, "gamma": 0.1}], theirs)
    direct = describe_objective("def train(C, gamma):\n    return score(SVC(C=C, gamma=gamma))\n", PRIOR_SVC.names)
    (moved,) = Experience.of(PRIOR_SVC, [past], StudyContext(source=direct, explicit=frozenset({"past"}))).usable
    assert [c["C"] for c in moved.configs] == pytest.approx([10.0, 0.1])
    (again,) = Experience.of(exponents, [past], StudyContext(source=theirs, explicit=frozenset({"past"}))).usable
    assert [c["C"] for c in again.configs] == [1.0, -1.0]  # the same scale: as they ran
    unknown = _svc_study("unknown", exponents, past.configs)  # no source recorded: a name keeps its scale
    (kept,) = Experience.of(exponents, [unknown], StudyContext(source=theirs, explicit=frozenset({"unknown"}))).usable
    assert [c["C"] for c in kept.configs] == [1.0, -1.0]


def test_an_exponent_named_as_the_argument_reads_a_prior_studys_argument_as_its_exponent():
    # C = 10 ** C: matched to the prior's C by name, whose values are C itself (before: placed in [-2, 3] as they were)
    exponents = SearchSpace({"C": uniform(-2, 3), "gamma": loguniform(1e-4, 1.0)})
    prior = _svc_study("prior", PRIOR_SVC, [{"C": 100.0, "gamma": 0.01}, {"C": 0.1, "gamma": 0.1}], space_name="svc")
    context = StudyContext(source=describe_objective(REBOUND, exponents.names), explicit=frozenset({"prior"}))
    (moved,) = Experience.of(exponents, [prior], context).usable
    assert [c["C"] for c in moved.configs] == pytest.approx([2.0, -1.0])
    assert moved.match.link("C").describe() == "C, log10 of their C"


def test_a_parameter_the_past_never_saw_starts_at_the_exponent_of_its_default():
    pytest.importorskip("sklearn.svm")  # the library's defaults are read from its imported class
    space = SearchSpace({"log_c": uniform(-2, 3), "log_tol": uniform(-5, -1), "log_gamma": uniform(-4, 0)})
    text = _svc_cell("10 ** log_c", "10 ** log_gamma").replace("gamma=", "tol=10 ** log_tol, gamma=")
    context = StudyContext(source=describe_objective(text, space.names))
    assert context.filler_defaults(space) == {"log_c": 0, "log_tol": -3}  # C=1.0, tol=1e-3; gamma's is "scale"


def _wine_cell(c_value: str, gamma_value: str):
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    text = _svc_cell(c_value, gamma_value)
    return run_cell(text, f"<svc-cell {c_value}>", {"X": X, "y": y})["train"], (X, y)


def test_the_exponent_cell_warms_at_the_exponents_of_the_cell_that_tunes_the_arguments():
    from jupyter_metahpo import suggest

    powered, data = _wine_cell("10 ** log_c", "10 ** log_gamma")
    exponents = {"log_c": uniform(-2, 3), "log_gamma": uniform(-4, 0)}
    direct, _ = _wine_cell("log_c", "log_gamma")
    arguments = {"log_c": loguniform(1e-2, 1e3), "log_gamma": loguniform(1e-4, 1.0)}
    ours = suggest(exponents, data=data, k=4, objective=powered, store=False, seed=0)
    theirs = suggest(arguments, data=data, k=4, objective=direct, store=False, seed=0)
    assert len(ours.report.sources) == len(theirs.report.sources) > 0
    for mine, same in zip(ours, theirs):
        assert mine.config["log_c"] == pytest.approx(math.log10(same.config["log_c"]))
        assert mine.config["log_gamma"] == pytest.approx(math.log10(same.config["log_gamma"]))


def test_tune_says_how_the_exponent_is_read(tmp_path):
    from jupyter_metahpo import tune

    objective, data = _wine_cell("np.power(10, log_c)", "math.exp(log_gamma)")
    space = {"log_c": uniform(-2, 3), "log_gamma": uniform(-9, 0)}
    result = tune(objective, space, n_trials=2, data=data, direction="maximize", seed=0, store=tmp_path / "s.json")
    text = "\n".join(result.warm_start.lines())
    assert "log_c (their C: it sets SVC's C as 10 ** log_c), log10 of their C" in text
    assert "log_gamma (their gamma: it sets SVC's gamma as exp(log_gamma)), ln of their gamma" in text
    assert all(t.origin.source == "warm-start" for t in result.trials)


def test_a_cold_start_says_which_parameters_set_an_argument_through_a_transform_it_does_not_read():
    space = SearchSpace({"d": intrange(1, 10), "t": intrange(2, 30)})
    text = "def train(d, t):\n    return score(RandomForestClassifier(max_depth=2 * d, n_estimators=t * 10))\n"
    context = StudyContext(source=describe_objective(text, space.names))
    assert context.transformed(space) == {"d": "RandomForestClassifier's max_depth",
                                          "t": "RandomForestClassifier's n_estimators"}
    forest = SearchSpace({"max_depth": intrange(2, 32), "n_estimators": intrange(20, 200)})
    past = PastStudy("rf", "task", forest, "maximize", [{"max_depth": 4, "n_estimators": 50}], [0.5],
                     extra={"space_name": "random_forest_classifier"})
    cold = Experience.of(space, [past], context).summary()["cold"]
    assert cold.endswith(
        "(your d sets RandomForestClassifier's max_depth, your t sets RandomForestClassifier's n_estimators only "
        "through a transform, which matching does not read: a parameter is linked to what it sets when passed as "
        "it is or as a power such as 10 ** x; pass it so.)")
    powered = describe_objective(text.replace("2 * d", "2 ** d"), space.names)
    assert StudyContext(source=powered).transformed(space) == {"t": "RandomForestClassifier's n_estimators"}
