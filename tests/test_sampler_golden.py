"""Golden proposals: the model-based samplers propose exactly what they proposed before.

The expected configurations below were recorded by running the samplers as they were
before the samplers were split into model, acquisition and optimiser (commit bb4e7ae),
on fixed seeds and fixed histories. A refactor must leave them unchanged; a deliberate
change of results re-records them (``python tests/test_sampler_golden.py`` prints the
current values) and says why in its commit message.

Floats are compared to a relative 1e-5 rather than bit for bit: a BLAS that rounds the
last bit differently, or a new SciPy whose L-BFGS-B ends a few ulps elsewhere, must not
fail the test (SciPy 1.17.1 with NumPy 2.4.6 moved recorded proposals by 1e-12 to 5e-7
relative, the most in the last of a batch of pending-aware proposals, where each step
starts from the one before); anything that changes the search (a different random draw, a
different candidate, another L-BFGS-B path) moves the proposals by far more than that.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState

MIXED = SearchSpace(
    {
        "x": uniform(-2.0, 3.0),
        "lr": loguniform(1e-4, 1e-1),
        "depth": intrange(1, 6),
        "width": intrange(4, 1024, log=True),  # more than 256 values: searched as continuous
        "kind": choice("a", "b", 3, None),
    }
)
CONTINUOUS = SearchSpace({"a": uniform(0.0, 1.0), "b": uniform(-1.0, 1.0), "c": loguniform(1e-3, 10.0)})
SMALL_DISCRETE = SearchSpace({"n": intrange(0, 9), "k": choice("p", "q", "r")})  # 30 points: scored exhaustively
LARGE_DISCRETE = SearchSpace({"i": intrange(0, 99), "j": intrange(0, 99), "k": choice("p", "q")})  # 20,000 points
TRANSFER_SPACE = SearchSpace(
    {"lr": loguniform(1e-4, 1.0), "depth": intrange(1, 16), "frac": uniform(0.1, 1.0), "kind": choice("u", "v", "w")}
)


def _objective(space: SearchSpace, config: dict[str, Any], shift: float = 0.0) -> float:
    """A smooth bowl in the unit cube (with a step on the last column) whose optimum moves with ``shift``."""
    unit = space.encode([config])[0]
    centre = np.linspace(0.3, 0.7, len(unit)) + shift
    return float(((unit - centre) ** 2).sum() + 0.2 * np.sin(7.0 * unit[0]))


def _history(
    space: SearchSpace, n_complete: int, n_failed: int = 0, n_pending: int = 0, seed: int = 0, shift: float = 0.0
) -> History:
    configs = space.sample(seed, n_complete + n_failed + n_pending)
    trials = []
    for i, config in enumerate(configs[: n_complete + n_failed]):
        if i < n_complete:
            trials.append(FrozenTrial(i, config, TrialState.COMPLETE, Origin("test"), value=_objective(space, config, shift)))
        else:
            trials.append(FrozenTrial(i, config, TrialState.FAILED, Origin("test"), error="boom"))
    return History(space, Direction.MINIMIZE, tuple(trials), pending=tuple(configs[n_complete + n_failed :]))


def _extended(history: History, configs: list[dict[str, Any]]) -> History:
    """``history`` with ``configs`` evaluated and appended (pending ones dropped)."""
    start = len(history.trials)
    new = [
        FrozenTrial(start + i, c, TrialState.COMPLETE, Origin("test"), value=_objective(history.space, c))
        for i, c in enumerate(configs)
    ]
    return History(history.space, history.direction, history.trials + tuple(new))


def _past(space: SearchSpace, seed: int, shift: float, n: int = 25) -> PastStudy:
    configs = space.sample(100 + seed, n)
    values = [_objective(space, c, shift) for c in configs]
    return PastStudy.from_arrays(f"study-{seed}", f"task-{seed}", space, "minimize", configs, values)


def _gp_sampler(**kwargs: Any):
    from jupyter_metahpo.samplers.gp import GPSampler  # recorded as BoTorchSampler, its name then

    return GPSampler(**kwargs)


def _gp_run(sampler, history: History, n: int) -> list[dict[str, Any]]:
    out = []
    for s in sampler.suggest(history, n):
        details = s.origin.details
        value = details.get("log_ei", details.get("ucb"))
        out.append({"config": dict(s.config), "acquisition": value, "predicted": details.get("predicted_value")})
    return out


def _gp_twice(space: SearchSpace, history: History, n: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Two calls on one sampler: the second fit starts warm from the first one's hyperparameters."""
    sampler = _gp_sampler(seed=3, **kwargs)
    first = _gp_run(sampler, history, n)
    return first + _gp_run(sampler, _extended(history, [r["config"] for r in first]), n)


def _transfer_run(
    history: History, n: int, stacking: bool, n_past: int = 3, n_candidates: int = 256, n_samples: int = 64
) -> list[dict[str, Any]]:
    from jupyter_metahpo.samplers.transfer import TransferSampler

    past = [_past(history.space, seed, shift=0.1 * seed - 0.1) for seed in range(n_past)]
    sampler = TransferSampler(past, seed=5, n_candidates=n_candidates, n_samples=n_samples, stacking=stacking)
    out = [{"config": dict(s.config), "predicted": s.origin.details["predicted"]} for s in sampler.suggest(history, n)]
    return out + [{"weights": dict(sampler.weights_)}]


def _default_study(space: SearchSpace, n_trials: int) -> list[dict[str, Any]]:
    """A whole study driven by DefaultSampler: Sobol design, then GP refinement warm-started call to call."""
    from jupyter_metahpo.samplers import DefaultSampler

    sampler = DefaultSampler(seed=0, n_initial=4)
    history = History(space, Direction.MINIMIZE)
    for _ in range(n_trials):
        (suggestion,) = sampler.suggest(history, 1)
        history = _extended(history, [dict(suggestion.config)])
    return [dict(t.config) for t in history.trials]


CASES = {
    "gp mixed, failed and pending, batch of 3": lambda: _gp_twice(MIXED, _history(MIXED, 8, 2, 2), 3),
    "gp continuous": lambda: _gp_twice(CONTINUOUS, _history(CONTINUOUS, 9, seed=1), 1),
    "gp continuous, fixed mean": lambda: _gp_twice(CONTINUOUS, _history(CONTINUOUS, 9, seed=1), 1, learn_mean=False),
    "gp continuous, ucb": lambda: _gp_twice(CONTINUOUS, _history(CONTINUOUS, 9, seed=1), 2, acquisition="ucb"),
    "gp small discrete": lambda: _gp_twice(SMALL_DISCRETE, _history(SMALL_DISCRETE, 6, 1, seed=2), 2),
    "gp large discrete": lambda: _gp_twice(LARGE_DISCRETE, _history(LARGE_DISCRETE, 7, seed=3), 1),
    "gp too few trials": lambda: _gp_run(_gp_sampler(seed=4), _history(MIXED, 1), 2),
    "transfer stacked": lambda: _transfer_run(_history(TRANSFER_SPACE, 6, seed=4), 1, stacking=True),
    "transfer stacked, pending, batch of 2": lambda: _transfer_run(
        _history(TRANSFER_SPACE, 7, 1, 1, seed=5), 2, stacking=True
    ),
    "transfer plain RGPE": lambda: _transfer_run(_history(TRANSFER_SPACE, 6, seed=4), 1, stacking=False),
    "transfer plain RGPE, batch of 3": lambda: _transfer_run(_history(TRANSFER_SPACE, 8, seed=6), 3, stacking=False),
    "transfer without own results": lambda: _transfer_run(_history(TRANSFER_SPACE, 0), 2, stacking=True),
    # Over 1,024 candidates: the ensemble scores them in chunks.
    "transfer stacked, default candidates": lambda: _transfer_run(
        _history(TRANSFER_SPACE, 9, seed=7), 2, stacking=True, n_candidates=2048, n_samples=256
    ),
    "transfer plain RGPE, default candidates": lambda: _transfer_run(
        _history(TRANSFER_SPACE, 9, seed=7), 2, stacking=False, n_candidates=2048, n_samples=256
    ),
    "default sampler, a whole study": lambda: _default_study(MIXED, 9),
}

# Recorded from the samplers at commit bb4e7ae (before the split into model, acquisition, optimiser).
GOLDEN: dict[str, list[dict[str, Any]]] = {'gp mixed, failed and pending, batch of 3': [{'config': {'x': -0.10752286629934948,
                                                          'lr': 0.00026900972474516147,
                                                          'depth': 1,
                                                          'width': 897,
                                                          'kind': 3},
                                               'acquisition': -1.4403149856433202,
                                               'predicted': 0.1828573503915611},
                                              {'config': {'x': 2.2045971150082275,
                                                          'lr': 0.0019720847122567248,
                                                          'depth': 1,
                                                          'width': 1024,
                                                          'kind': 3},
                                               'acquisition': -1.6242745497556186,
                                               'predicted': 0.17309072301022027},
                                              {'config': {'x': 0.7263536395342514,
                                                          'lr': 0.026597269596691224,
                                                          'depth': 1,
                                                          'width': 558,
                                                          'kind': 3},
                                               'acquisition': -1.855926407082308,
                                               'predicted': 0.18990110870809224},
                                              {'config': {'x': -1.994355220745059,
                                                          'lr': 0.0009084234443507136,
                                                          'depth': 1,
                                                          'width': 163,
                                                          'kind': 3},
                                               'acquisition': -1.7097245806036834,
                                               'predicted': 0.1647403873519963},
                                              {'config': {'x': 0.07414711888614312,
                                                          'lr': 0.00022946666394248506,
                                                          'depth': 2,
                                                          'width': 184,
                                                          'kind': 3},
                                               'acquisition': -2.019895929412434,
                                               'predicted': 0.16054149288793557},
                                              {'config': {'x': -0.01753433734844867,
                                                          'lr': 0.0011804131820099138,
                                                          'depth': 1,
                                                          'width': 184,
                                                          'kind': None},
                                               'acquisition': -2.3111679171907427,
                                               'predicted': 0.23624009291142134}],
 'gp continuous': [{'config': {'a': 0.7088255645930999, 'b': -0.821208013743234, 'c': 2.6390456527867974},
                    'acquisition': -0.2849502617077703,
                    'predicted': 0.10355191767968058},
                   {'config': {'a': 0.7495476466716126, 'b': 0.22640262601693895, 'c': 3.9773523691378},
                    'acquisition': -1.5193049069537041,
                    'predicted': 0.16009818634980313}],
 'gp continuous, fixed mean': [{'config': {'a': 0.7084240890567693, 'b': -0.8370956999454375, 'c': 2.7844443883616834},
                                'acquisition': -0.27994295920870693,
                                'predicted': 0.10320773959981078},
                               {'config': {'a': 0.7521456063705959, 'b': 0.24867274739218126, 'c': 2.7575989521675623},
                                'acquisition': -1.4208952087003648,
                                'predicted': 0.16104119228878874}],
 'gp continuous, ucb': [{'config': {'a': 0.6727174504732734, 'b': -1.0, 'c': 10.0},
                         'acquisition': 3.5236265458117355,
                         'predicted': 0.11929411981559551},
                        {'config': {'a': 0.6951334029710419, 'b': -1.0, 'c': 0.0017204910253573202},
                         'acquisition': 2.931372387650981,
                         'predicted': 0.1846440671868289},
                        {'config': {'a': 0.6193246717062292, 'b': 0.8367939606322248, 'c': 0.4260698495146202},
                         'acquisition': 3.314513878773047,
                         'predicted': 0.12033744828176296},
                        {'config': {'a': 0.6604996168624555, 'b': -1.0, 'c': 0.3127517280021094},
                         'acquisition': 3.0734301812227347,
                         'predicted': 0.07403513894781893}],
 'gp small discrete': [{'config': {'n': 7, 'k': 'r'},
                        'acquisition': -1.0832939455732111,
                        'predicted': -0.09403842496293163},
                       {'config': {'n': 6, 'k': 'q'},
                        'acquisition': -2.9696550735549185,
                        'predicted': 0.24900191437341476},
                       {'config': {'n': 5, 'k': 'q'},
                        'acquisition': -3.8055294328450495,
                        'predicted': 0.08875037568086486},
                       {'config': {'n': 7, 'k': 'q'},
                        'acquisition': -4.442146417486906,
                        'predicted': 0.09677243444241795}],
 'gp large discrete': [{'config': {'i': 36, 'j': 99, 'k': 'q'},
                        'acquisition': -1.6360092218213218,
                        'predicted': 0.02681129517643463},
                       {'config': {'i': 41, 'j': 42, 'k': 'q'},
                        'acquisition': -1.5257686270303692,
                        'predicted': 0.021240353432052245}],
 'gp too few trials': [{'config': {'x': 2.7152805278618377,
                                   'lr': 0.0034196578740683554,
                                   'depth': 6,
                                   'width': 6,
                                   'kind': 3},
                        'acquisition': None,
                        'predicted': None},
                       {'config': {'x': -0.11756707811363709,
                                   'lr': 0.02545092791851477,
                                   'depth': 2,
                                   'width': 494,
                                   'kind': 3},
                        'acquisition': None,
                        'predicted': None}],
 'transfer stacked': [{'config': {'lr': 0.022155946791794858, 'depth': 7, 'frac': 0.5558102938549, 'kind': 'v'},
                       'predicted': -0.04682701232469799},
                      {'weights': {'task-0': 0.734375, 'task-1': 0.015625, 'task-2': 0.25, 'current study': 0.0}}],
 'transfer stacked, pending, batch of 2': [{'config': {'lr': 0.02690539614430176,
                                                       'depth': 7,
                                                       'frac': 0.6018125323654,
                                                       'kind': 'v'},
                                            'predicted': 0.17104830122711145},
                                           {'config': {'lr': 0.041471490601467764,
                                                       'depth': 7,
                                                       'frac': 0.7229762061481,
                                                       'kind': 'v'},
                                            'predicted': 0.1814051715420104},
                                           {'weights': {'task-0': 0.140625,
                                                        'task-1': 0.25,
                                                        'task-2': 0.578125,
                                                        'current study': 0.03125}}],
 'transfer plain RGPE': [{'config': {'lr': 0.022155946791794858, 'depth': 7, 'frac': 0.5558102938549, 'kind': 'v'},
                          'predicted': 0.14313667124004814},
                         {'weights': {'task-0': 0.734375, 'task-1': 0.015625, 'task-2': 0.25, 'current study': 0.0}}],
 'transfer plain RGPE, batch of 3': [{'config': {'lr': 0.02690539614430176,
                                                 'depth': 7,
                                                 'frac': 0.6018125323654,
                                                 'kind': 'v'},
                                      'predicted': -0.006450783296152951},
                                     {'config': {'lr': 0.023680564793804162,
                                                 'depth': 7,
                                                 'frac': 0.5391774992791,
                                                 'kind': 'w'},
                                      'predicted': -0.0031811722371096196},
                                     {'config': {'lr': 0.015472469084391333,
                                                 'depth': 8,
                                                 'frac': 0.526119987241,
                                                 'kind': 'v'},
                                      'predicted': -0.0022435034915197494},
                                     {'weights': {'task-0': 0.5625,
                                                  'task-1': 0.078125,
                                                  'task-2': 0.265625,
                                                  'current study': 0.09375}}],
 'transfer without own results': [{'config': {'lr': 0.015124623325187327,
                                              'depth': 8,
                                              'frac': 0.5938651333513,
                                              'kind': 'v'},
                                   'predicted': None},
                                  {'config': {'lr': 0.019814901049996978,
                                              'depth': 9,
                                              'frac': 0.6009493579894,
                                              'kind': 'v'},
                                   'predicted': None},
                                  {'weights': {'task-0': 0.3333333333333333,
                                               'task-1': 0.3333333333333333,
                                               'task-2': 0.3333333333333333}}],
 'transfer stacked, default candidates': [{'config': {'lr': 0.019276597678619195,
                                                      'depth': 8,
                                                      'frac': 0.5378436350416,
                                                      'kind': 'v'},
                                           'predicted': 0.09954443774007432},
                                          {'config': {'lr': 0.016684651669933943,
                                                      'depth': 9,
                                                      'frac': 0.5698636104178001,
                                                      'kind': 'v'},
                                           'predicted': 0.0989860715690109},
                                          {'weights': {'task-0': 0.40234375,
                                                       'task-1': 0.18359375,
                                                       'task-2': 0.23046875,
                                                       'current study': 0.18359375}}],
 'transfer plain RGPE, default candidates': [{'config': {'lr': 0.016684651669933943,
                                                         'depth': 9,
                                                         'frac': 0.5698636104178001,
                                                         'kind': 'v'},
                                              'predicted': 0.15045506792270308},
                                             {'config': {'lr': 0.02917662520212683,
                                                         'depth': 9,
                                                         'frac': 0.6221122584175,
                                                         'kind': 'v'},
                                              'predicted': 0.15387736999961832},
                                             {'weights': {'task-0': 0.40234375,
                                                          'task-1': 0.18359375,
                                                          'task-2': 0.23046875,
                                                          'current study': 0.18359375}}],
 'default sampler, a whole study': [{'x': 2.252927335910499,
                                     'lr': 0.06224407465682991,
                                     'depth': 3,
                                     'width': 28,
                                     'kind': 'a'},
                                    {'x': -1.8329023970291018,
                                     'lr': 0.0007166944181942605,
                                     'depth': 4,
                                     'width': 241,
                                     'kind': 3},
                                    {'x': 0.05394309014081955,
                                     'lr': 0.008980503771533461,
                                     'depth': 2,
                                     'width': 6,
                                     'kind': None},
                                    {'x': 1.5956311132758856,
                                     'lr': 0.00010065097852372775,
                                     'depth': 6,
                                     'width': 814,
                                     'kind': 'b'},
                                    {'x': -2.0, 'lr': 0.0001, 'depth': 1, 'width': 683, 'kind': 3},
                                    {'x': -2.0, 'lr': 0.0007057469197136157, 'depth': 6, 'width': 200, 'kind': 3},
                                    {'x': -2.0, 'lr': 0.004411864386508719, 'depth': 4, 'width': 56, 'kind': 3},
                                    {'x': -2.0, 'lr': 0.1, 'depth': 4, 'width': 654, 'kind': 3},
                                    {'x': -2.0, 'lr': 0.0015592492463246876, 'depth': 4, 'width': 15, 'kind': 3}]}


def _assert_same(actual: Any, expected: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            _assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert type(actual) is float, f"{where}: {actual!r} is not a float"
        assert math.isclose(actual, expected, rel_tol=1e-5, abs_tol=1e-300), f"{where}: {actual!r} != {expected!r}"
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("case", list(CASES))
def test_proposals_are_those_recorded(case):
    _assert_same(CASES[case](), GOLDEN[case], case)


if __name__ == "__main__":  # re-record: python tests/test_sampler_golden.py
    import pprint

    pprint.pprint({case: run() for case, run in CASES.items()}, width=120, sort_dicts=False)
