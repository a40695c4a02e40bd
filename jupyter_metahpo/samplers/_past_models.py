"""The past studies' GP hyperparameters, kept between studies instead of refitted at each start.

The transfer sampler (:mod:`.transfer`) fits one GP per past study it uses before its
first suggestion. Those fits depend only on the points and scores they are fitted on, so
a :class:`PastModelCache` keeps their hyperparameters under :func:`~._singletask_gp.fit_key`
(a digest of exactly those points, after the subset and the mapping into the new space)
and a later study that fits the same past study on the same points reads them back:

* a study of the experience store keeps them in the store's model state
  (``ExperienceStore.save_model_state``, ``trials/ID.model.json``), which the store hands
  back only while the study has the same number of complete trials: a study that gained
  trials is refitted;
* a study of the bundled prior (read-only package data) keeps them in a user cache file
  per prior space and version (the digest of its data file), in :func:`default_cache_dir`;
  a new prior version starts a new file and the old one is removed;
* any other past study (given with ``past=``, without the ``model_state`` a store hands
  the studies it reads) is remembered for the life of the cache.

Everything here is disposable: a missing, damaged or foreign entry is refitted (the
loaded hyperparameters are checked, :meth:`~._singletask_gp.SingleTaskGPNP.from_hyperparameters`),
and a cache that cannot be written only warns.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._imports import LazyImport
from ..experience import PastStudy
from ._singletask_gp import SingleTaskGPNP, fit_key, fit_singletask_gp

platformdirs = LazyImport("platformdirs")  # only needed when no override is given

__all__ = ["CACHE_ENV_VAR", "PastModelCache", "default_cache_dir"]

#: The environment variable that points the user cache elsewhere (tests, shared machines).
CACHE_ENV_VAR = "JUPYTER_METAHPO_CACHE"

#: The key of the past GPs' hyperparameters within a store study's model state.
STATE_KEY = "singletask_gp"

#: Fits kept per past study (one per distinct set of points: the same past study mapped
#: into different new spaces is fitted on different points); the oldest go first.
MAX_FITS_PER_STUDY = 16

_PRIOR_FILE_VERSION = 1


def default_cache_dir() -> Path:
    """``$JUPYTER_METAHPO_CACHE`` when set, else the per-user cache folder."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("jupyter-metahpo"))


class PastModelCache:
    """Hyperparameters of past-study GPs by (study, :func:`~._singletask_gp.fit_key`).

    ``store`` is the opened experience store the store's studies came from (``None``: they
    are kept in memory only); ``cache_dir`` holds the prior's cache files (``None``: the
    prior's fits are kept in memory only). :meth:`fitted_gp` reads and keeps in memory;
    :meth:`flush` writes what was kept since the last flush. ``n_fitted`` and ``n_reused``
    count the GPs fitted and the ones built from kept hyperparameters.
    """

    def __init__(self, store: Any = None, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.store = store
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.n_fitted = 0
        self.n_reused = 0
        # study id -> {fit key -> hyperparameters}, as read or kept (insertion order: oldest first)
        self._fits: dict[str, dict[str, dict[str, Any]]] = {}
        self._stores_to_write: dict[str, PastStudy] = {}
        # prior cache file -> {study id -> {fit key -> hyperparameters}}
        self._prior_files: dict[Path, dict[str, dict[str, dict[str, Any]]]] = {}
        self._prior_files_to_write: set[Path] = set()

    # -- reading ----------------------------------------------------------------------
    def fitted_gp(self, study: PastStudy, X: np.ndarray, y: np.ndarray) -> SingleTaskGPNP:
        """``fit_singletask_gp(X, y)`` for past study ``study``: from kept hyperparameters when
        this study was fitted on exactly these points before, else fitted and kept."""
        key = fit_key(X, y)
        kept = self.lookup(study, key)
        model = None if kept is None else SingleTaskGPNP.from_hyperparameters(X, y, kept)
        if model is not None:
            self.n_reused += 1
            return model
        model = fit_singletask_gp(X, y)
        self.keep(study, key, model.hyperparameters())
        return model

    def lookup(self, study: PastStudy, key: str) -> Mapping[str, Any] | None:
        """The hyperparameters kept for ``study`` fitted on the points of ``key``, or ``None``."""
        found = self._fits_of(study).get(key)
        return found if isinstance(found, Mapping) else None

    def _fits_of(self, study: PastStudy) -> dict[str, dict[str, Any]]:
        if study.study_id not in self._fits:
            self._fits[study.study_id] = self._read(study)
        return self._fits[study.study_id]

    def _read(self, study: PastStudy) -> dict[str, dict[str, Any]]:
        if _from_a_store(study):
            state = study.extra.get("model_state")
            return _entries(state.get(STATE_KEY) if isinstance(state, Mapping) else None)
        path = self._prior_file(study)
        if path is None:
            return {}
        return _entries(self._prior_file_entries(path).get(study.study_id))

    # -- keeping ----------------------------------------------------------------------
    def keep(self, study: PastStudy, key: str, hyperparameters: Mapping[str, Any]) -> None:
        """Remember a fit of ``study`` on the points of ``key`` (written at :meth:`flush`)."""
        self.n_fitted += 1
        fits = self._fits_of(study)
        fits.pop(key, None)
        fits[key] = dict(hyperparameters)
        while len(fits) > MAX_FITS_PER_STUDY:
            fits.pop(next(iter(fits)))
        if _from_a_store(study) and self.store is not None:
            self._stores_to_write[study.study_id] = study
            return
        path = self._prior_file(study)
        if path is not None:
            self._prior_file_entries(path)[study.study_id] = fits
            self._prior_files_to_write.add(path)

    def flush(self) -> None:
        """Write the fits kept since the last flush: one model state per store study, one file per prior space."""
        for study_id, study in self._stores_to_write.items():
            # The whole model state of the study: other samplers' entries stay as they were.
            state = dict(study.extra.get("model_state") or {})
            state[STATE_KEY] = self._fits[study_id]
            try:
                self.store.save_model_state(study_id, state, n_complete=len(study.values))
            except (KeyError, OSError, RuntimeError) as error:  # a study of another store (given with past=)
                warnings.warn(f"could not keep the GP hyperparameters of past study {study_id}: {error}",
                              RuntimeWarning, stacklevel=2)
        self._stores_to_write.clear()
        for path in sorted(self._prior_files_to_write):
            self._write_prior_file(path)
        self._prior_files_to_write.clear()

    # -- the prior's cache files ------------------------------------------------------
    def _prior_file(self, study: PastStudy) -> Path | None:
        """The cache file of a prior study's space and prior version (``None``: not a prior study, or no folder)."""
        space, digest = study.extra.get("space_name"), study.extra.get("prior_digest")
        if self.cache_dir is None or study.source != "prior" or not _safe(space) or not _safe(digest):
            return None
        return self.cache_dir / "prior-models" / f"{space}.{digest}.json"

    def _prior_file_entries(self, path: Path) -> dict[str, dict[str, dict[str, Any]]]:
        if path not in self._prior_files:
            self._prior_files[path] = _read_prior_file(path)
        return self._prior_files[path]

    def _write_prior_file(self, path: Path) -> None:
        document = {"version": _PRIOR_FILE_VERSION, "studies": self._prior_files[path]}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, json.dumps(document, allow_nan=False))
            # Files of the same space's earlier prior versions will not be read again.
            space = path.name.split(".", 1)[0]
            for old in path.parent.glob(f"{space}.*.json"):
                if old != path:
                    old.unlink(missing_ok=True)
        except (OSError, ValueError) as error:
            warnings.warn(f"could not keep the prior's GP hyperparameters in {path}: {error}", RuntimeWarning,
                          stacklevel=3)


def _from_a_store(study: PastStudy) -> bool:
    """Whether ``study`` was read from an experience store (which hands every study it reads a
    ``model_state``); a study given as a ``PastStudy`` of the user's own is kept in memory only."""
    return study.source == "store" and "model_state" in study.extra


def _safe(name: object) -> bool:
    """A name usable in a file name: letters, digits, ``-``, ``_`` (prior space names and digests are)."""
    return isinstance(name, str) and bool(name) and all(c.isalnum() or c in "-_" for c in name)


def _entries(value: object) -> dict[str, dict[str, Any]]:
    """The ``{fit key: hyperparameters}`` entries of a cache record; anything else counts as empty."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): dict(v) for k, v in value.items() if isinstance(k, str) and isinstance(v, Mapping)}


def _read_prior_file(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The entries of a prior cache file; ``{}`` when it is missing, damaged or of another version."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("version") != _PRIOR_FILE_VERSION:
        return {}
    studies = document.get("studies")
    if not isinstance(studies, dict):
        return {}
    return {str(study_id): _entries(fits) for study_id, fits in studies.items()}


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it (a reader never sees half a file)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
