"""The experience store: every study and trial a user ran, durable and shareable.

``ExperienceStore`` is the entry point; ``open_study`` gives the study loop its
recorder. See ARCHITECTURE.md ("The experience store") for the layout on disk.
"""

from __future__ import annotations

import os

from .errors import (
    ImportValidationError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
    StoreWriteError,
    StudyMismatchError,
    UnknownStudyError,
)
from .paths import ENV_VAR, default_store_path
from .records import StudyRecord, StudySummary, TaskInfo, TaskRecord, TrialRecord
from .schema import SCHEMA_VERSION
from .store import ExperienceStore, StudySession
from .exchange import ImportReport

__all__ = [
    "ExperienceStore",
    "StudySession",
    "TaskInfo",
    "TaskRecord",
    "StudyRecord",
    "TrialRecord",
    "StudySummary",
    "ImportReport",
    "StoreError",
    "StoreCorruptError",
    "StoreWriteError",
    "StoreVersionError",
    "StudyMismatchError",
    "UnknownStudyError",
    "ImportValidationError",
    "SCHEMA_VERSION",
    "ENV_VAR",
    "default_store_path",
    "open_store",
]


def open_store(store: ExperienceStore | str | object | None = None) -> ExperienceStore | None:
    """What ``tune(store=...)`` accepts: ``None`` (the default store), a path, a store, or ``False``."""
    if store is False:
        return None
    if store is None or store is True:
        return ExperienceStore()
    if isinstance(store, ExperienceStore):
        return store
    if isinstance(store, (str, os.PathLike)):
        return ExperienceStore(store)
    raise TypeError(
        f"`store` must be None (the default store), a folder path, an ExperienceStore or False (record nothing), "
        f"but got {store!r} ({type(store).__name__})."
    )
