"""How the store names and stamps its records: study and trial ids, the stable task id,
and the package versions a study records.

The bottom of the store's imports: the store, the exporter and the importers all build
records with these, so each of them imports this module and none imports another for it.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import uuid
from importlib.metadata import PackageNotFoundError, version

__all__ = ["new_id", "package_versions", "task_id_for"]

#: The packages whose versions shape a study's results.
_VERSIONED_PACKAGES = ("jupyter-metahpo", "numpy", "scikit-learn", "torch", "botorch")


def new_id() -> str:
    """A fresh random id for a study or a trial (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def task_id_for(name: str, data_fingerprint: str | None) -> str:
    """The same task name and data give the same task id, in every store."""
    key = f"{name}\0{data_fingerprint or ''}".encode()
    return hashlib.sha256(key).hexdigest()[:16]


def package_versions() -> dict[str, str | None]:
    """Versions that shaped a study's results, read from package metadata (no imports).

    Read once per process: the modules a process runs are those it imported, even after
    a ``pip install`` in the same kernel, and reading the metadata of five packages
    cost each imported study (a bulk import of a hundred) a visible share of its time.
    """
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions
