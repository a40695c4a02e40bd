"""Where the experience store lives on disk.

One store per user, at ``platformdirs.user_data_dir("jupyter-metahpo")``. The
``JUPYTER_METAHPO_HOME`` environment variable points it elsewhere (tests, shared
class folders), and every entry point accepts an explicit path that wins over both.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._imports import LazyImport

platformdirs = LazyImport("platformdirs")  # only needed when no override is given

__all__ = ["ENV_VAR", "default_store_path", "resolve_store_path", "StoreLayout"]

#: The environment variable that overrides the per-user store location.
ENV_VAR = "JUPYTER_METAHPO_HOME"


def default_store_path() -> Path:
    """``$JUPYTER_METAHPO_HOME`` when set, else the per-user data folder."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("jupyter-metahpo"))


def resolve_store_path(path: str | os.PathLike[str] | None) -> Path:
    """The folder of the store: ``path`` when given, else :func:`default_store_path`."""
    if path is None:
        return default_store_path()
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a store path must be a str or a path, but got {path!r} ({type(path).__name__}).")
    return Path(path).expanduser()


class StoreLayout:
    """The files of one store folder (see ARCHITECTURE.md, "The experience store").

    ``index.json``     TinyDB document: schema version, tasks, studies (small, rewritten atomically)
    ``trials/ID.jsonl`` one append-only log per study: a header line, then one line per trial
    ``summaries.json`` a disposable cache of per-study summaries, rebuilt from the logs
    ``.lock``          the inter-process lock every writer holds
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = root / "index.json"
        self.trials_dir = root / "trials"
        self.summaries = root / "summaries.json"
        self.lock = root / ".lock"

    def trial_log(self, study_id: str) -> Path:
        return self.trials_dir / f"{study_id}.jsonl"
