"""Read the bundled prior (package data written by ``assemble``).

:func:`load_prior` returns :class:`~jupyter_metahpo.experience.PastStudy` records
(``source="prior"``), one per (built-in space, dataset), holding the configurations
that finished and their scores; the meta-models consume these like studies from the
user's own store. :func:`load_prior_table` returns the full pool-by-dataset score
matrix of one space, for pool-based benchmarks with exact regret.

The files are validated data: the format name and version are checked, and a file
that does not parse is reported with its path, never executed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..space import SearchSpace
from .assemble import FORMAT, FORMAT_VERSION, default_data_dir

__all__ = ["PriorTable", "PriorTask", "available_prior_spaces", "load_prior", "load_prior_table", "PriorFormatError"]


class PriorFormatError(ValueError):
    """A prior data file is not one this version can read."""


@dataclass(frozen=True)
class PriorTask:
    """One dataset of the prior: its metadata and meta-features."""

    name: str
    task_type: str
    description: Mapping[str, Any]
    data_fingerprint: str | None
    meta_features: Mapping[str, float] | None
    meta_feature_set: str | None
    complete: bool


@dataclass(frozen=True)
class PriorTable:
    """Every pool configuration of one space scored on every packed dataset.

    ``scores[t, i]`` is the score (higher is better) of ``pool[i]`` on ``tasks[t]``;
    NaN where it failed or was not evaluated. ``cpu_time[t, i]`` is the CPU time of its
    3-fold cross-validation in seconds (one thread).
    """

    space_name: str
    space: SearchSpace
    metric: str
    pool: tuple[Mapping[str, Any], ...]
    tasks: tuple[PriorTask, ...]
    scores: np.ndarray
    cpu_time: np.ndarray
    #: The first 16 hex digits of the data file's SHA-256: names this version of the prior
    #: (the past GPs' hyperparameters are cached per version, ``samplers._past_models``).
    digest: str = ""

    def task_index(self, name: str) -> int:
        for i, task in enumerate(self.tasks):
            if task.name == name:
                return i
        raise KeyError(f"dataset {name!r} is not in the prior of {self.space_name!r}.")


def available_prior_spaces(data_dir: str | Path | None = None) -> list[str]:
    """Names of the built-in spaces that have packed prior data."""
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    if not directory.is_dir():
        return []
    return sorted(p.name[: -len(".json.gz")] for p in directory.glob("*.json.gz"))


def _read(space_name: str, data_dir: str | Path | None) -> dict[str, Any]:
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    path = directory / f"{space_name}.json.gz"
    if not path.exists():
        raise FileNotFoundError(
            f"no prior data for space {space_name!r} in {directory}; available: {available_prior_spaces(directory)}."
        )
    try:
        packed = path.read_bytes()
        document = json.loads(gzip.decompress(packed))
    except (OSError, EOFError, json.JSONDecodeError) as error:
        raise PriorFormatError(f"{path} is not a readable prior file: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PriorFormatError(f"{path} is not a jupyter-metahpo prior file.")
    if document.get("format_version") != FORMAT_VERSION:
        raise PriorFormatError(
            f"{path} has format version {document.get('format_version')!r}; this version reads {FORMAT_VERSION}. "
            "Upgrade jupyter-metahpo or re-assemble the prior."
        )
    document["_digest"] = hashlib.sha256(packed).hexdigest()[:16]
    return document


def load_prior_table(space_name: str, data_dir: str | Path | None = None) -> PriorTable:
    document = _read(space_name, data_dir)
    tasks = tuple(
        PriorTask(
            name=t["dataset"]["name"],
            task_type=t["dataset"]["task"],
            description=t["dataset"],
            data_fingerprint=t.get("data_fingerprint"),
            meta_features=t.get("meta_features"),
            meta_feature_set=t.get("meta_feature_set"),
            complete=bool(t.get("complete")),
        )
        for t in document["tasks"]
    )

    def matrix(key: str) -> np.ndarray:
        rows = [[np.nan if v is None else float(v) for v in t[key]] for t in document["tasks"]]
        return np.asarray(rows, dtype=float).reshape(len(tasks), len(document["pool"]))

    return PriorTable(
        space_name=document["space"],
        space=SearchSpace.from_json(document["space_json"]),
        metric=document["metric"],
        pool=tuple(document["pool"]),
        tasks=tasks,
        scores=matrix("scores"),
        cpu_time=matrix("cpu_time"),
        digest=document["_digest"],
    )


def load_prior(
    spaces: Iterable[str] | None = None,
    data_dir: str | Path | None = None,
    *,
    complete_only: bool = False,
) -> list[PastStudy]:
    """The prior as past studies: one per (space, dataset), failed configurations left out."""
    studies = []
    for space_name in spaces if spaces is not None else available_prior_spaces(data_dir):
        table = load_prior_table(space_name, data_dir)
        for t, task in enumerate(table.tasks):
            if complete_only and not task.complete:
                continue
            finished = np.flatnonzero(np.isfinite(table.scores[t]))
            if finished.size == 0:
                continue
            studies.append(
                PastStudy.from_arrays(
                    study_id=f"prior/{space_name}/{task.name}",
                    task_name=task.name,
                    space=table.space,
                    direction="maximize",
                    configs=[table.pool[i] for i in finished],
                    values=table.scores[t, finished].tolist(),
                    meta_features=task.meta_features,
                    meta_feature_set=task.meta_feature_set,
                    data_fingerprint=task.data_fingerprint,
                    source="prior",
                    extra={
                        "space_name": space_name,
                        "prior_digest": table.digest,
                        "metric": table.metric,
                        "task_type": task.task_type,
                        "pool_indices": tuple(int(i) for i in finished),
                        "dataset": dict(task.description),
                    },
                )
            )
    return studies
