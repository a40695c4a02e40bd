"""A JupyterLab (or Notebook 7) that serves this checkout's lab extension and server extension.

The server is started by ``conftest.start_jupyter`` with three additions, so that the
tests see this working tree whatever is installed: the server extension enabled in
its config folder, ``JUPYTER_PATH`` pointing at the extension built here
(``jupyter_metahpo/labextension``) and ``PYTHONPATH`` at this checkout.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import jupyter_metahpo
from jupyter_metahpo.space import choice, intrange, loguniform
from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.store.exchange import export_payload
from jupyter_metahpo.trial import FrozenTrial, Origin

REPO = Path(jupyter_metahpo.__file__).resolve().parent.parent
BUILT = REPO / "jupyter_metahpo" / "labextension"
SPACE = {"lr": loguniform(1e-4, 1e-1), "depth": intrange(1, 8), "kind": choice("a", "b")}


def require_built_extension() -> None:
    if not (BUILT / "package.json").exists():
        pytest.skip(f"the lab extension is not built in {BUILT}: cd labextension && jlpm install && jlpm build")


def start_with_extension(base: Path, frontend: str, start_jupyter, monkeypatch):
    """``start_jupyter`` with the extension of this checkout; returns (server, process)."""
    require_built_extension()
    config = base / "config"
    config.mkdir(parents=True, exist_ok=True)
    enabled = {"ServerApp": {"jpserver_extensions": {"jupyter_metahpo.server": True}}}
    (config / "jupyter_server_config.json").write_text(json.dumps(enabled))
    labextensions = base / "jupyter-path" / "labextensions"
    labextensions.mkdir(parents=True, exist_ok=True)
    (labextensions / "jupyter-metahpo").symlink_to(BUILT, target_is_directory=True)
    monkeypatch.setenv("JUPYTER_PATH", str(base / "jupyter-path"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    return start_jupyter(base, frontend)


def add_study(store: ExperienceStore, name: str, values: list[float], task: str = "credit", start: float | None = None) -> str:
    session = store.open_study(name, SPACE, "minimize", objective="train", task=task, resume=False)
    t0 = start if start is not None else time.time() - 600
    for i, value in enumerate(values):
        origin = Origin("warm-start", "best config of the nearest task") if i < 3 else Origin("gp", "highest log-EI")
        config = {"lr": 10 ** (-4 + 3 * ((i * 0.37) % 1)), "depth": 1 + (i * 3) % 8, "kind": "ab"[i % 2]}
        session.record_trial(FrozenTrial(number=i, config=config, state="complete", origin=origin, value=value,
                                         started_at=t0 + 10 * i, finished_at=t0 + 10 * i + 8))  # fmt: skip
    session.finish("finished")
    return session.study_id


def export_file(folder: Path, name: str, values: list[float]) -> tuple[Path, str]:
    """An export file (as ``metahpo export`` writes) of one study made in another store."""
    other = ExperienceStore(folder / "colleague-store")
    sid = add_study(other, name, values, task="colleague-task")
    path = folder / f"{name}.json"
    path.write_text(json.dumps(export_payload(other, [sid])))
    return path, sid


def trial_lines(log: Path) -> int:
    """Trials recorded in a study's log so far (read as the file is, without opening the store)."""
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return 0
    count = 0
    for line in lines:
        try:
            count += json.loads(line).get("type") == "trial"
        except ValueError:
            pass  # a line being written
    return count
