"""Shared fixtures: every test runs against a temporary experience store."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory, monkeypatch):
    """Point the default experience store at a fresh temporary folder for each test.

    Tests must never write into the user's real store.
    """
    home = tmp_path_factory.mktemp("metahpo-home")
    monkeypatch.setenv("JUPYTER_METAHPO_HOME", str(home))
    yield home
