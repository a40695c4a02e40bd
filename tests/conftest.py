"""Shared fixtures: every test runs against a temporary experience store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The tests' helpers (tests/helpers/) import as ``helpers.<module>`` under any --import-mode.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory, monkeypatch):
    """Point the default experience store at a fresh temporary folder for each test.

    Tests must never write into the user's real store, nor its cache (the prior's past GPs).
    """
    home = tmp_path_factory.mktemp("metahpo-home")
    monkeypatch.setenv("JUPYTER_METAHPO_HOME", str(home))
    monkeypatch.setenv("JUPYTER_METAHPO_CACHE", str(tmp_path_factory.mktemp("metahpo-cache")))
    yield home


@pytest.fixture
def assert_gradient_matches_finite_differences():
    """``check(objective, vector)``: ``objective(v) -> (value, gradient)``; each gradient
    coordinate must match a central finite difference of the value."""

    def check(objective, vector, step=1e-6, rel=1e-5, abs=1e-7):
        _, grad = objective(vector)
        for i in range(len(vector)):
            up, down = vector.copy(), vector.copy()
            up[i] += step
            down[i] -= step
            numeric = (objective(up)[0] - objective(down)[0]) / (2 * step)
            assert grad[i] == pytest.approx(numeric, rel=rel, abs=abs), f"coordinate {i}"

    return check
