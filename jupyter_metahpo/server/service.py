"""The server's one view of the experience store, with its configuration.

``MetaHPOServer`` is the traitlets configurable (``c.MetaHPOServer.store_path``): the
store's folder is fixed here, by whoever runs the server, and never by a request.
``StoreService`` owns the one ``ExperienceStore`` the server opens and runs every store
call on a single worker thread: calls never block Tornado's loop, and never run two at
a time in this process (the store's caches are per object; other processes are kept
apart by the store's file lock).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from traitlets import Float, Integer, Unicode
from traitlets.config import Configurable

from .._version import __version__
from ..store import ExperienceStore, default_store_path
from ..store.exchange import export_payload, import_payload, parse_export
from ..store.storage import dumps
from . import views

__all__ = ["MetaHPOServer", "StoreService"]

T = TypeVar("T")


class MetaHPOServer(Configurable):
    """Settings of the ``jupyter_metahpo`` server extension (``--MetaHPOServer.store_path=...``)."""

    store_path = Unicode(
        None,
        allow_none=True,
        help="Folder of the experience store the panel shows (default: the user's store, "
        "$JUPYTER_METAHPO_HOME or the per-user data folder). Requests never choose it.",
    ).tag(config=True)
    max_upload_bytes = Integer(
        64 * 1024 * 1024, help="Largest import file accepted, in bytes (the upload is held in memory)."
    ).tag(config=True)
    poll_interval = Float(
        1.0, help="Seconds between the panel's refreshes while it is visible (running studies update within this)."
    ).tag(config=True)


class StoreService:
    """The store calls behind the routes, one at a time on a worker thread."""

    def __init__(self, config: MetaHPOServer) -> None:
        self.config = config
        self.path = Path(config.store_path).expanduser() if config.store_path else default_store_path()
        self._store: ExperienceStore | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metahpo-store")
        self._sparklines = views.SparklineCache()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def store(self) -> ExperienceStore:
        # Opened on first use (on the worker thread): opening recovers what a crash left behind.
        if self._store is None:
            self._store = ExperienceStore(self.path)
        return self._store

    # One method per route; each runs on the worker thread. --------------------------------
    def settings(self) -> dict[str, Any]:
        return {"store": str(self.path), "poll_interval": self.config.poll_interval, "version": __version__,
                "max_upload_bytes": self.config.max_upload_bytes}  # fmt: skip

    def list_studies(self, query: views.ListQuery) -> dict[str, Any]:
        return views.list_page(self.store, query, self._sparklines)

    def study(self, study_id: str) -> dict[str, Any]:
        return views.study_detail(self.store, study_id)

    def export(self, study_id: str) -> tuple[str, bytes]:
        """The study's export file: its name and its bytes (the same format as ``metahpo export``)."""
        record = views.exact_study(self.store, study_id)
        payload = export_payload(self.store, [record.id])
        stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in (record.name or "study"))[:60]
        return f"metahpo-{stem}-{record.id}.json", dumps(payload).encode("utf-8")

    def import_bytes(self, raw: bytes, filename: str) -> dict[str, Any]:
        """Validate the whole file, then write it all or nothing (``ImportValidationError`` lists
        every problem with its location, and nothing is written)."""
        source = f"the upload {filename!r}"
        payload = parse_export(raw, source)
        report = import_payload(self.store, payload, source)
        return {
            "studies_added": report.studies_added,
            "studies_merged": report.studies_merged,
            "trials_added": report.trials_added,
            "trials_skipped": report.trials_skipped,
            "tasks_added": report.tasks_added,
            "study_ids": list(report.study_ids),
            "message": str(report),
        }

    def forget(self, study_id: str) -> dict[str, Any]:
        record = views.exact_study(self.store, study_id)
        self.store.forget(record.id)
        self._sparklines.forget(record.id)
        return {"forgotten": record.id, "name": record.name, "at": time.time()}
