"""A real jupyter_server with the ``jupyter_metahpo.server`` extension, for ``jp_fetch``.

pytest-jupyter's fixtures (and its hooks that run ``async def`` tests) are imported here,
not registered for the whole suite: they stay inside tests/server. pytest-asyncio's auto
mode must stay off (every ``jp_fetch`` would time out under it).
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pytest_jupyter", reason="pytest-jupyter is not installed (pip install 'pytest-jupyter[server]')")

from pytest_jupyter.jupyter_server import *  # noqa: E402, F403 - the fixtures and hooks, scoped to this folder

from jupyter_metahpo.space import choice, intrange, loguniform  # noqa: E402
from jupyter_metahpo.store import ExperienceStore  # noqa: E402
from jupyter_metahpo.trial import FrozenTrial, Origin  # noqa: E402

SPACE = {"lr": loguniform(1e-4, 1e-1), "depth": intrange(1, 8), "kind": choice("a", "b")}


def add_study(store: ExperienceStore, name: str | None, values: list[float | None], *, direction="minimize",
              task: str | None = "credit", finish: str | None = "finished", start: float | None = None) -> str:
    """A study with one trial per value (``None``: a failed trial); returns its id."""
    session = store.open_study(name, SPACE, direction, objective="train", task=task, resume=False)
    now = start if start is not None else time.time()
    for i, value in enumerate(values):
        origin = Origin("warm-start", "best config of the nearest task") if i < 2 else Origin("gp", "max log-EI")
        trial = FrozenTrial(
            number=i, config={"lr": 0.01, "depth": 1 + i % 8, "kind": "ab"[i % 2]},
            state="complete" if value is not None else "failed", origin=origin, value=value,
            error=None if value is not None else "ValueError: boom", started_at=now + i, finished_at=now + i + 0.5,
        )  # fmt: skip
        session.record_trial(trial)
    if finish:
        session.finish(finish)
    return session.study_id


@pytest.fixture(name="add_study")
def _add_study_fixture():
    return add_study


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "metahpo-store"


@pytest.fixture
def store(store_dir):
    return ExperienceStore(store_dir)


@pytest.fixture
def jp_server_config(store_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_metahpo.server": True}},
        "MetaHPOServer": {"store_path": str(store_dir)},
    }
