"""The GP sampler's honest name: ``GPSampler`` with origin ``"gp"``; ``BoTorchSampler`` and
stored ``"botorch"`` origins from older versions still work."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import jupyter_metahpo
from jupyter_metahpo import samplers
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.space import SearchSpace, uniform
from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState
from jupyter_metahpo.widgets._render import ORIGIN_COLOURS, origin_colour, origins_html

SPACE = SearchSpace({"x": uniform(0.0, 1.0), "y": uniform(-1.0, 1.0)})


def _history(n: int = 6) -> History:
    configs = SPACE.sample(0, n)
    trials = tuple(
        FrozenTrial(i, c, TrialState.COMPLETE, Origin("test"), value=(c["x"] - 0.3) ** 2 + c["y"] ** 2)
        for i, c in enumerate(configs)
    )
    return History(SPACE, Direction.MINIMIZE, trials)


def test_gp_sampler_is_exported_and_proposes_with_origin_gp():
    from jupyter_metahpo.samplers.gp import GPSampler

    assert samplers.GPSampler is GPSampler is jupyter_metahpo.GPSampler
    (suggestion,) = GPSampler(seed=0).suggest(_history(), 1)
    assert suggestion.origin.source == "gp"
    assert "BoTorch" not in suggestion.origin.reason


def test_default_sampler_refines_with_the_gp_sampler():
    from jupyter_metahpo.samplers.gp import GPSampler

    refiner = samplers.DefaultSampler(seed=0).refiner
    assert type(refiner) is GPSampler


def test_botorch_sampler_warns_names_gp_sampler_and_proposes_the_same():
    with pytest.warns(DeprecationWarning, match="use jupyter_metahpo.samplers.GPSampler"):
        old = samplers.BoTorchSampler(seed=1, n_raw_samples=128)
    new = samplers.GPSampler(seed=1, n_raw_samples=128)
    assert isinstance(old, samplers.GPSampler)
    history = _history()
    assert [s.config for s in old.suggest(history, 2)] == [s.config for s in new.suggest(history, 2)]
    assert old.name == "gp"


def test_gp_sampler_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        samplers.GPSampler(seed=0)


def test_importing_the_package_loads_no_torch_even_after_touching_gp_sampler_names():
    code = (
        "import sys, jupyter_metahpo, jupyter_metahpo.samplers as s;"
        "names = dir(s) + list(s.__all__);"
        "print(sorted(m for m in ('torch', 'botorch', 'gpytorch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_stored_botorch_origin_is_read_as_gp(tmp_path):
    # What an older version wrote to disk: the GP sampler's trials had source "botorch".
    old = FrozenTrial(0, {"x": 0.5, "y": 0.0}, TrialState.COMPLETE, Origin("botorch", "expected improvement"), value=1.0)
    assert FrozenTrial.from_dict(old.to_dict()).origin.source == "gp"
    store = ExperienceStore(tmp_path / "store")
    session = store.open_study("old", SPACE)
    session.record_trial(old)
    session.record_trial(FrozenTrial(1, {"x": 0.2, "y": 0.1}, TrialState.COMPLETE, Origin("gp"), value=0.5))
    (record,) = store.studies("old")
    sources = [t.trial.origin.source for t in ExperienceStore(tmp_path / "store").trials(record.id)]
    assert sources == ["gp", "gp"]


def test_the_gp_origin_has_its_own_colour_and_old_and_new_trials_count_together():
    assert "botorch" not in ORIGIN_COLOURS
    assert origin_colour("gp") == ORIGIN_COLOURS["gp"]
    trials = [
        FrozenTrial.from_dict(FrozenTrial(i, {"x": 0.1, "y": 0.0}, TrialState.COMPLETE, Origin(s), value=1.0).to_dict())
        for i, s in enumerate(["sobol", "botorch", "gp"])
    ]
    html = origins_html(trials)
    assert "gp 2" in html and "botorch" not in html
