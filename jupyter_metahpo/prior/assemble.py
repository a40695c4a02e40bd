"""Pack the build's run files into the prior's package data.

One gzip JSON file per built-in space, ``data/<space>.json.gz``, self-describing in the
manner of FLAML's zero-shot portfolios: the space's JSON, the protocol, the pool of
configurations, and per dataset its metadata, its meta-features and the score of
every pool configuration (``null`` where it failed or was not run yet), so the
benchmark can compute exact regret over the pool.

Meta-features are attached here, not in the build, so they can be (re)computed when
the meta-feature set changes without re-running a single fit: ``--meta-features``
names a ``module:function`` taking ``(X, y)`` and returning an object with
``values`` and ``feature_set`` (or a plain dict). ``auto`` uses
``jupyter_metahpo.meta.features:compute_meta_features`` when it is importable.
"""

from __future__ import annotations

import gzip
import importlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..builtin_spaces import BUILTIN_SPACES, get_builtin_space
from . import datasets as ds
from .build import frozen_pool
from .protocol import PROTOCOL
from .runs import read_run, resolve_runs_dir

__all__ = ["assemble", "FORMAT", "FORMAT_VERSION", "default_data_dir", "resolve_meta_feature_function"]

FORMAT = "jupyter-metahpo-prior"
FORMAT_VERSION = 1
AUTO_META_FEATURES = "jupyter_metahpo.meta.features:compute_meta_features"


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


def resolve_meta_feature_function(spec: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    """``"module:function"``, a callable, ``"auto"`` (the project's, if present) or ``"none"``/``None``."""
    if spec is None or spec == "none":
        return None
    if callable(spec):
        return spec
    target = AUTO_META_FEATURES if spec == "auto" else spec
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"--meta-features must look like 'package.module:function', but got {spec!r}.")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        if spec == "auto":
            return None
        raise


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _meta_features(function: Callable[..., Any] | None, data: ds.Dataset) -> tuple[dict[str, float] | None, str | None, str | None]:
    if function is None:
        return None, None, None
    result = function(data.X, data.y)
    if isinstance(result, dict):
        return {k: float(v) for k, v in result.items()}, None, None
    return (
        {k: float(v) for k, v in result.values.items()},
        getattr(result, "feature_set", None),
        getattr(result, "fingerprint", None),
    )


def assemble(
    runs_dir: Path | None = None,
    out_dir: Path | None = None,
    *,
    include_partial: bool = False,
    meta_features: str | Callable[..., Any] | None = "auto",
    spaces: list[str] | None = None,
) -> dict[Path, int]:
    """Write one data file per space that has results; returns ``{path: number of tasks}``.

    A dataset is packed when its whole pool is evaluated (failures count as
    evaluated), or, with ``include_partial``, as soon as it has any evaluation.
    """
    runs_dir = resolve_runs_dir(runs_dir)
    out_dir = Path(out_dir or default_data_dir())
    function = resolve_meta_feature_function(meta_features)
    loaded: dict[str, tuple[ds.Dataset, Any]] = {}
    written: dict[Path, int] = {}
    for space in spaces or list(BUILTIN_SPACES):
        builtin = get_builtin_space(space)
        if not (runs_dir / space).is_dir():
            continue
        pool = frozen_pool(runs_dir, space)
        tasks = []
        for dataset in ds.dataset_names(builtin.task):
            record = read_run(runs_dir / space / f"{dataset}.jsonl")
            if record.header is None or not record.evals:
                continue
            if not include_partial and len(record.evals) < len(pool):
                continue
            _check_record(space, dataset, record, pool)
            if dataset not in loaded:
                data = ds.load_dataset(dataset, PROTOCOL["max_rows"], PROTOCOL["subsample_seed"])
                loaded[dataset] = (data, _meta_features(function, data))
            data, (features, feature_set, fingerprint) = loaded[dataset]
            if data.fingerprint() != record.header["dataset"]["fingerprint"]:
                raise ValueError(
                    f"{space}/{dataset}: the installed dataset differs from the one the runs were built on "
                    "(fingerprints differ); rebuild those runs or install the package version used."
                )
            evals = record.evals
            tasks.append(
                {
                    "dataset": record.header["dataset"],
                    "data_fingerprint": fingerprint or record.header["dataset"]["fingerprint"],
                    "meta_features": features,
                    "meta_feature_set": feature_set,
                    "scores": [_round(evals[i]["score"]) if i in evals else None for i in range(len(pool))],
                    "fold_scores": [[_round(s) for s in evals[i]["fold_scores"]] if i in evals else None for i in range(len(pool))],
                    # CPU seconds of one thread: comparable across runs, unlike wall time on a shared machine.
                    "cpu_time": [_round(evals[i]["cpu_time"]) if i in evals else None for i in range(len(pool))],
                    "errors": {str(i): e["error"] for i, e in evals.items() if e.get("error")},
                    "complete": len(evals) >= len(pool),
                }
            )
        if not tasks:
            continue
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "space": space,
            "family": builtin.family,
            "task": builtin.task,
            "estimator": builtin.estimator_path,
            "space_json": builtin.space.to_json(),
            "direction": "maximize",
            "metric": PROTOCOL["metrics"][builtin.task],
            "protocol": PROTOCOL,
            "pool": pool,
            "tasks": tasks,
        }
        path = out_dir / f"{space}.json.gz"
        _write_atomic(path, document)
        written[path] = len(tasks)
    return written


def _check_record(space: str, dataset: str, record: Any, pool: list[dict[str, Any]]) -> None:
    header = record.header
    if header.get("space_json") != get_builtin_space(space).space.to_json() or header.get("protocol") != PROTOCOL:
        raise ValueError(f"{space}/{dataset}: the runs were built with another space or protocol; rebuild them.")
    for index, line in record.evals.items():
        if index >= len(pool) or line.get("config") != pool[index]:
            raise ValueError(f"{space}/{dataset}: evaluation #{index} does not match the pool; rebuild these runs.")


def _write_atomic(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keys keep their order: the order of a space's parameters is its column order.
    payload = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; package data must be readable by all
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
