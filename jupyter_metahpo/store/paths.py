"""Where the experience store lives on disk.

One store per user, at ``platformdirs.user_data_dir("jupyter-metahpo")``. The
``JUPYTER_METAHPO_HOME`` environment variable points it elsewhere (tests, shared
class folders), and every entry point accepts an explicit path that wins over both.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._imports import LazyImport
from .errors import StoreError
from .schema import is_safe_id

platformdirs = LazyImport("platformdirs")  # only needed when no override is given

__all__ = ["ENV_VAR", "default_store_path", "resolve_store_path", "StoreLayout", "checked_id"]

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

    ``index.json``         the index's snapshot, a TinyDB document: schema version, journal generation, tasks, studies
    ``index.journal``      the index's changes since its snapshot, one JSON line each (journal.py)
    ``index.json.bad``     index entries that failed validation, one JSON line each, moved out of the index
    ``index.journal.bad``  the journal's damaged lines, moved out byte for byte
    ``trials/ID.jsonl``     one append-only log per study: a header line, then one line per trial
    ``trials/ID.jsonl.bad`` the log's damaged lines, moved out byte for byte
    ``trials/ID.claims``    the trial numbers that running processes claimed (shared budget)
    ``trials/ID.model.json`` a disposable cache of what a sampler fitted on the study (its GP's hyperparameters)
    ``summaries.json``     a disposable cache of per-study summaries, rebuilt from the logs
    ``.lock``              the inter-process lock every writer holds

    Every path built from a study id checks the id first (letters, digits, ``-``, ``_``):
    an id comes from a file that may have been edited, and must not name another path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = root / "index.json"
        self.index_quarantine = root / "index.json.bad"
        self.index_journal = root / "index.journal"
        self.journal_quarantine = root / "index.journal.bad"
        self.trials_dir = root / "trials"
        self.summaries = root / "summaries.json"
        self.lock = root / ".lock"

    def trial_log(self, study_id: str) -> Path:
        return self.trials_dir / f"{checked_id(study_id)}.jsonl"

    def quarantine(self, study_id: str) -> Path:
        return self.trials_dir / f"{checked_id(study_id)}.jsonl.bad"

    def claims(self, study_id: str) -> Path:
        return self.trials_dir / f"{checked_id(study_id)}.claims"

    def model_state(self, study_id: str) -> Path:
        return self.trials_dir / f"{checked_id(study_id)}.model.json"

    def study_files(self, study_id: str) -> tuple[Path, ...]:
        """Every file of one study: its log, its claims, its quarantined lines, its model cache."""
        return self.trial_log(study_id), self.claims(study_id), self.quarantine(study_id), self.model_state(study_id)


def checked_id(study_id: object) -> str:
    """``study_id`` if it is safe as a file name, else a :class:`StoreError` naming it."""
    if not is_safe_id(study_id):
        raise StoreError(
            f"refusing the study id {study_id!r}: an id is 1-64 letters, digits, '-' or '_', and this one "
            "would name another file. The store's index or cache was edited or damaged; `metahpo list` shows the valid ids."
        )
    return study_id  # type: ignore[return-value]
