"""One contract, every sampler: what the study relies on from ``Sampler.suggest``.

Bounds kept, integers as ``int``, options taken from the choice, plain Python
scalars, exactly ``n`` suggestions, the same suggestions for the same seed, and an
origin that says where each came from. Run against each sampler on histories from
empty to a few finished, failed and pending trials.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from jupyter_metahpo import Study
from jupyter_metahpo.samplers import DefaultSampler, RandomSampler, SobolSampler
from jupyter_metahpo.samplers.base import History, Suggestion
from jupyter_metahpo.space import IntRange, LogUniform, SearchSpace, Uniform, choice, intrange, loguniform, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState

SPACE = SearchSpace(
    {
        "x": uniform(-2.0, 3.0),
        "lr": loguniform(1e-4, 1e-1),
        "depth": intrange(1, 6),
        "width": intrange(4, 1024, log=True),
        "kind": choice("a", "b", 3, None),
    }
)


def _gp(seed):
    from jupyter_metahpo.samplers.gp import GPSampler

    return GPSampler(seed=seed, n_raw_samples=256)


def _qlognei(seed):
    from jupyter_metahpo.samplers.batch import QLogNEISampler

    return QLogNEISampler(seed=seed, raw_samples=64, num_restarts=2, mc_samples=32)


FACTORIES = {
    "random": RandomSampler,
    "sobol": SobolSampler,
    "default": lambda seed: DefaultSampler(seed=seed, n_initial=4),
    "gp": _gp,
    "qlognei": _qlognei,  # the parallel trials' GP proposals (samplers/batch.py)
}


def _objective(config) -> float:
    return (config["x"] - 1.0) ** 2 + math.log10(config["lr"]) ** 2 / 10 + config["depth"] / 10 + (config["kind"] == "b")


def _history(n_complete: int, n_failed: int = 0, n_pending: int = 0, seed: int = 0) -> History:
    configs = SPACE.sample(seed, n_complete + n_failed + n_pending)
    trials = []
    for i, config in enumerate(configs[: n_complete + n_failed]):
        if i < n_complete:
            trials.append(FrozenTrial(i, config, TrialState.COMPLETE, Origin("test"), value=_objective(config)))
        else:
            trials.append(FrozenTrial(i, config, TrialState.FAILED, Origin("test"), error="boom"))
    return History(SPACE, Direction.MINIMIZE, tuple(trials), pending=tuple(configs[n_complete + n_failed :]))


HISTORIES = {
    "empty": _history(0),
    "one": _history(1),
    "some": _history(8),
    "failed+pending": _history(8, n_failed=2, n_pending=2),
}


def _check(suggestions: list[Suggestion], n: int) -> None:
    assert len(suggestions) == n
    for suggestion in suggestions:
        config = suggestion.config
        assert list(config) == SPACE.names
        SPACE.validate_config(config)  # raises when a value is outside its parameter
        for name, parameter in SPACE.items():
            value = config[name]
            if isinstance(parameter, IntRange):
                assert type(value) is int, (name, value)
            elif isinstance(parameter, (Uniform, LogUniform)):
                assert type(value) is float, (name, value)
            else:
                assert any(type(value) is type(o) and value == o for o in parameter.options), (name, value)
        assert isinstance(suggestion.origin, Origin)
        assert suggestion.origin.source and suggestion.origin.reason


@pytest.mark.parametrize("history_name", list(HISTORIES))
@pytest.mark.parametrize("sampler_name", list(FACTORIES))
@pytest.mark.parametrize("n", [1, 3])
def test_suggestions_keep_the_contract(sampler_name, history_name, n):
    sampler = FACTORIES[sampler_name](0)
    _check(sampler.suggest(HISTORIES[history_name], n), n)


@pytest.mark.parametrize("sampler_name", list(FACTORIES))
def test_same_seed_same_suggestions(sampler_name):
    history = HISTORIES["failed+pending"]
    first = [dict(s.config) for s in FACTORIES[sampler_name](7).suggest(history, 2)]
    second = [dict(s.config) for s in FACTORIES[sampler_name](7).suggest(history, 2)]
    assert first == second


@pytest.mark.parametrize("sampler_name", list(FACTORIES))
def test_batch_members_differ(sampler_name):
    suggestions = FACTORIES[sampler_name](1).suggest(HISTORIES["some"], 3)
    keys = {tuple(sorted(s.config.items(), key=lambda kv: kv[0])) for s in suggestions}
    assert len(keys) == 3


def test_importing_the_package_does_not_import_torch_or_botorch():
    code = (
        "import sys, jupyter_metahpo, jupyter_metahpo.samplers;"
        "bad = [m for m in ('torch', 'botorch', 'gpytorch') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_sobol_skips_a_point_already_tried_and_still_fills_a_tiny_space():
    # A warm start from a past study that used the same Sobol seed enqueues that study's
    # Sobol points; the initial design must not run them a second time.
    space = SearchSpace({"x": uniform(0.0, 1.0), "k": choice("a", "b")})
    first = [s.config for s in SobolSampler(seed=3).suggest(Study(space).history(), 4)]
    study = Study(space)
    study.tell(study.enqueue(dict(first[1])), 0.5)  # e.g. proposed by a warm start
    later = [dict(s.config) for s in SobolSampler(seed=3).suggest(study.history(), 4)]
    assert dict(first[1]) not in later and len(later) == 4
    tiny = Study(SearchSpace({"k": choice("a", "b")}))
    for option in ("a", "b"):
        tiny.tell(tiny.enqueue({"k": option}), 1.0)
    assert len(SobolSampler(seed=0).suggest(tiny.history(), 3)) == 3  # repeats rather than stalls
