"""Search spaces: validation messages, encoding, JSON, signatures, sampling."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jupyter_metahpo.space import (
    Choice,
    IntRange,
    LogUniform,
    SearchSpace,
    Uniform,
    choice,
    intrange,
    loguniform,
    parameter_from_json,
    uniform,
)


# Validation: every message names the rule and the value ------------------------------


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: uniform(1.0, 0.5), ValueError, "`low` must be < `high`, but got low=1.0, high=0.5."),
        (lambda: uniform(1.0, 1.0), ValueError, "`low` must be < `high`, but got low=1.0, high=1.0."),
        (lambda: uniform("a", 1.0), TypeError, "`low` must be a number, but got low='a' (str)."),
        (lambda: uniform(0.0, math.inf), ValueError, "`high` must be finite, but got high=inf."),
        (lambda: uniform(True, 2), TypeError, "`low` must be a number, but got low=True (bool)."),
        (lambda: loguniform(0.0, 1.0), ValueError, "`low` must be > 0 on a log scale, but got low=0.0."),
        (lambda: loguniform(-1.0, 1.0), ValueError, "`low` must be > 0 on a log scale, but got low=-1.0."),
        (lambda: loguniform(1e-2, 1e-3), ValueError, "`low` must be < `high`, but got low=0.01, high=0.001."),
        (lambda: intrange(1.5, 4), TypeError, "`low` must be an integer, but got low=1.5 (float)."),
        (lambda: intrange(1, "9"), TypeError, "`high` must be an integer, but got high='9' (str)."),
        (lambda: intrange(5, 2), ValueError, "`low` must be < `high`, but got low=5, high=2."),
        (lambda: intrange(0, 10, log=True), ValueError,
         "`low` must be >= 1 for an integer range on a log scale, but got low=0."),
        (lambda: intrange(1, 10, log="yes"), TypeError, "`log` must be True or False, but got log='yes'."),
        (lambda: choice(), ValueError, "choice() needs at least one option, but got none."),
        (lambda: choice("a", "a"), ValueError, "choice() options must be distinct, but got 'a' twice."),
        (lambda: choice(1.0, math.nan), ValueError, "choice() options must be finite, but got nan."),
        (lambda: choice("a", [1, [2]]), TypeError,
         "choice() options must be str, int, float, bool or None, or a tuple of those (such as a layer sizes "
         "tuple), so that they can be stored as JSON, but got [1, [2]] (list)."),
        (lambda: choice("a", {"b": 1}), TypeError,
         "choice() options must be str, int, float, bool or None, or a tuple of those (such as a layer sizes "
         "tuple), so that they can be stored as JSON, but got {'b': 1} (dict)."),
        (lambda: choice((64,), (1.0, math.inf)), ValueError, "choice() options must be finite, but got (1.0, inf)."),
        (lambda: choice(1.0, np.float64(2.0)), TypeError,
         "choice() options must be str, int, float, bool or None, or a tuple of those (such as a layer sizes "
         "tuple), so that they can be stored as JSON, but got np.float64(2.0) (float64)."),
        (lambda: choice((64, 64), [64, 64]), ValueError, "choice() options must be distinct, but got (64, 64) twice."),
        (lambda: choice(math.sqrt, math.log), TypeError,
         "choice() options must be str, int, float, bool or None, or a tuple of those (such as a layer sizes "
         "tuple), so that they can be stored as JSON, but got <built-in function sqrt> (builtin_function_or_method). "
         "Offer its name instead, choice('sqrt', ...), and look it up in your objective: getattr(math, name), or a "
         "table, {'sqrt': sqrt, ...}[name]."),
    ],
)
def test_parameter_validation_messages(build, error, message):
    with pytest.raises(error) as info:
        build()
    assert str(info.value) == message


def test_space_validation_messages():
    with pytest.raises(ValueError, match="needs at least one parameter"):
        SearchSpace({})
    with pytest.raises(TypeError, match=r"space\['lr'\] must be a distribution such as .* but got 0.1 \(float\)"):
        SearchSpace({"lr": 0.1})
    with pytest.raises(TypeError, match="parameter names must be non-empty strings, but got ''"):
        SearchSpace({"": uniform(0, 1)})
    with pytest.raises(TypeError, match="must be a dict of name -> distribution"):
        SearchSpace([("a", uniform(0, 1))])


def test_parameters_are_immutable():
    p = uniform(0, 1)
    with pytest.raises(AttributeError, match="immutable"):
        p.low = 0.5


def test_choice_accepts_bool_and_int_as_distinct_options():
    c = choice(True, 1, None)
    assert c.index(True) == 0 and c.index(1) == 1 and c.index(None) == 2


# Encoding ------------------------------------------------------------------------------


def test_cube_faces_decode_to_the_exact_bounds():
    # An optimiser stopping on a face of the cube must give the bound a user wrote,
    # not 0.49999999999999994 (exp(log(...)) arithmetic), which a result table would show.
    space = SearchSpace({"lr": loguniform(1e-3, 0.5), "l2": loguniform(1e-6, 10.0), "x": uniform(0.1, 0.7)})
    low, high = space.decode([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert low == {"lr": 1e-3, "l2": 1e-6, "x": 0.1}
    assert high == {"lr": 0.5, "l2": 10.0, "x": 0.7}


def test_unit_cube_round_trip_for_every_kind():
    space = SearchSpace(
        {
            "x": uniform(-2.0, 3.0),
            "lr": loguniform(1e-5, 1e-1),
            "n": intrange(1, 9),
            "width": intrange(8, 512, log=True),
            "kind": choice("a", "b", "c"),
        }
    )
    configs = space.sample(np.random.default_rng(0), n=200)
    unit = space.encode(configs)
    assert unit.shape == (200, 5)
    assert np.all((unit >= 0) & (unit <= 1))
    decoded = space.decode(unit)
    for before, after in zip(configs, decoded):
        assert after["n"] == before["n"] and after["width"] == before["width"] and after["kind"] == before["kind"]
        assert after["x"] == pytest.approx(before["x"]) and after["lr"] == pytest.approx(before["lr"])


def test_decode_returns_plain_python_values_within_bounds():
    space = SearchSpace({"x": uniform(0, 1), "n": intrange(2, 5), "c": choice("u", "v")})
    for config in space.decode(np.random.default_rng(1).random((50, 3))):
        assert type(config["x"]) is float and 0 <= config["x"] <= 1
        assert type(config["n"]) is int and 2 <= config["n"] <= 5
        assert config["c"] in ("u", "v")


def test_integers_get_equal_bins_so_uniform_draws_are_uniform():
    counts = np.bincount([c["n"] for c in SearchSpace({"n": intrange(0, 3)}).sample(0, n=8000)], minlength=4)
    assert counts.min() > 1800  # each of 4 values near 2000


def test_log_integer_favours_small_values():
    values = [c["w"] for c in SearchSpace({"w": intrange(1, 1000, log=True)}).sample(0, n=4000)]
    assert np.median(values) < 100  # log-uniform median is about sqrt(1000) ~ 32


def test_decode_clips_out_of_cube_points():
    space = SearchSpace({"x": uniform(0, 1), "n": intrange(1, 3)})
    assert space.decode([[-0.5, 1.7]]) == [{"x": 0.0, "n": 3}]


def test_decode_rejects_wrong_width():
    with pytest.raises(ValueError, match="expected points with 2 columns"):
        SearchSpace({"x": uniform(0, 1), "y": uniform(0, 1)}).decode([[0.5]])


# JSON, equality, signature ---------------------------------------------------------------


def test_json_round_trip_and_equality():
    space = SearchSpace(
        {"x": uniform(0, 1), "lr": loguniform(1e-4, 1), "n": intrange(1, 64, log=True), "c": choice("a", 2, None)}
    )
    text = json.dumps(space.to_json())
    again = SearchSpace.from_json(text)
    assert again == space
    assert hash(again) == hash(space)
    assert again.names == space.names
    assert isinstance(again["n"], IntRange) and again["n"].log
    assert isinstance(again["c"], Choice) and again["c"].options == ("a", 2, None)


def test_from_json_rejects_bad_input_clearly():
    with pytest.raises(ValueError, match="unknown parameter type 'gaussian'"):
        parameter_from_json({"type": "gaussian", "low": 0, "high": 1})
    with pytest.raises(ValueError, match="`low` must be < `high`"):
        parameter_from_json({"type": "uniform", "low": 2, "high": 1})
    with pytest.raises(ValueError, match="bad uniform parameter"):
        parameter_from_json({"type": "uniform", "low": 0})
    with pytest.raises(ValueError, match="unsupported search space JSON version 99"):
        SearchSpace.from_json({"version": 99, "parameters": {}})


def test_signature_depends_on_names_and_kinds_only():
    a = SearchSpace({"lr": loguniform(1e-4, 1e-1), "depth": intrange(2, 8)})
    b = SearchSpace({"depth": intrange(1, 20), "lr": loguniform(1e-5, 1.0)})  # other bounds, other order
    c = SearchSpace({"lr": uniform(0.0, 1.0), "depth": uniform(2, 8)})  # depth is now a float
    assert a.signature == b.signature
    assert a.signature != c.signature
    assert a.signature == SearchSpace.from_json(a.to_json()).signature  # stable across processes
    assert len(a.signature) == 16


def test_parameter_equality_and_repr():
    assert uniform(0, 1) == Uniform(0.0, 1.0)
    assert uniform(0, 1) != loguniform(0.1, 1)
    assert repr(intrange(1, 8, log=True)) == "intrange(1, 8, log=True)"
    assert repr(choice("a", "b")) == "choice('a', 'b')"
    assert isinstance(loguniform(1e-3, 1), LogUniform)


# Configurations ------------------------------------------------------------------------------


def test_validate_config_names_the_problem():
    space = SearchSpace({"x": uniform(0, 1), "c": choice("a", "b")})
    assert space.validate_config({"x": 1, "c": "a"}) == {"x": 1.0, "c": "a"}
    with pytest.raises(ValueError, match=r"missing \['c'\], unknown \['z'\]"):
        space.validate_config({"x": 0.5, "z": 1})
    with pytest.raises(ValueError, match=r"x=2.0 is outside uniform\(0.0, 1.0\)"):
        space.validate_config({"x": 2.0, "c": "a"})
    with pytest.raises(ValueError, match=r"c='q' is outside choice\('a', 'b'\)"):
        space.validate_config({"x": 0.5, "c": "q"})


def test_sampling_is_reproducible():
    space = SearchSpace({"x": uniform(0, 1), "n": intrange(0, 100)})
    assert space.sample(42, n=5) == space.sample(42, n=5)
    assert space.sample(1, n=5) != space.sample(2, n=5)


def test_choice_of_tuples_round_trips_through_json_as_tuples():
    """scikit-learn's layer sizes as a choice: stored as JSON lists, read back (space and configs) as tuples."""
    layers = choice((64,), (128,), (64, 64))
    space = SearchSpace({"hidden_layer_sizes": layers, "alpha": loguniform(1e-5, 1e-1)})
    again = SearchSpace.from_json(json.loads(space.to_json_string()))
    assert again == space and again["hidden_layer_sizes"].options == ((64,), (128,), (64, 64))
    stored = json.loads(json.dumps({"hidden_layer_sizes": (64, 64), "alpha": 0.01}))
    assert stored["hidden_layer_sizes"] == [64, 64]
    assert again.validate_config(stored) == {"hidden_layer_sizes": (64, 64), "alpha": 0.01}
    assert layers.index([64.0, 64.0]) == 2 and layers.contains([64]) and not layers.contains([64, 128])
    assert not layers.contains(64) and not choice(64, 128).contains([64])
    assert choice((1,), (True,)).index((True,)) == 1  # a bool is not a number inside a tuple either
    decoded = space.decode(space.encode([{"hidden_layer_sizes": (128,), "alpha": 0.01}]))
    assert decoded[0]["hidden_layer_sizes"] == (128,)
    assert repr(layers) == "choice((64,), (128,), (64, 64))" and not layers.ordinal
