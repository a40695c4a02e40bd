"""Frozen snapshots of what the store holds: tasks, studies, trials, study summaries.

The store hands out these records and never the dicts it keeps: changing a record
cannot change the store. Each has ``to_dict`` (the JSON stored on disk and exported)
and ``from_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..space import SearchSpace
from ..trial import Direction, FrozenTrial, TrialState
from .summaries import best_pairs

__all__ = ["TaskRecord", "StudyRecord", "TrialRecord", "StudySummary", "TaskInfo", "as_task_info"]


def _frozen(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _deep_freeze(data or {})


def _deep_freeze(value: Any) -> Any:
    # Exact type checks first: this runs for every record of every summary load, and
    # isinstance against the Mapping ABC is several times slower than against dict.
    kind = type(value)
    if kind is dict or kind is MappingProxyType:
        return MappingProxyType({k: _deep_freeze(v) for k, v in value.items()})
    if kind is str or kind is float or kind is int or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return tuple(_deep_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return MappingProxyType({k: _deep_freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class TaskInfo:
    """What describes a task when a study is opened: its name and, when known, its data.

    ``meta_features`` maps meta-feature names to floats, computed by the set named in
    ``meta_feature_set`` (a name and version, e.g. ``"metahpo-basic/1"``).
    ``data_fingerprint`` is a hash of the data, so the same data is one task.
    """

    name: str
    meta_features: Mapping[str, float] | None = None
    meta_feature_set: str | None = None
    data_fingerprint: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a task needs a non-empty name, but got name={self.name!r}.")
        if self.meta_features is not None:
            object.__setattr__(
                self, "meta_features", MappingProxyType({str(k): float(v) for k, v in self.meta_features.items()})
            )


@dataclass(frozen=True)
class TaskRecord:
    id: str
    name: str
    meta_features: Mapping[str, float] | None
    meta_feature_set: str | None
    data_fingerprint: str | None
    created_at: float

    def __post_init__(self) -> None:
        if self.meta_features is not None:
            object.__setattr__(self, "meta_features", MappingProxyType(dict(self.meta_features)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "meta_features": None if self.meta_features is None else dict(self.meta_features),
            "meta_feature_set": self.meta_feature_set,
            "data_fingerprint": self.data_fingerprint,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskRecord:
        return cls(
            id=data["id"],
            name=data["name"],
            meta_features=data.get("meta_features"),
            meta_feature_set=data.get("meta_feature_set"),
            data_fingerprint=data.get("data_fingerprint"),
            created_at=float(data["created_at"]),
        )


def as_task_info(task: Any) -> TaskInfo | None:
    """What ``open_study(task=)`` and the importers accept, as a :class:`TaskInfo`:
    ``None``, a ``TaskInfo``, a task name, a :class:`TaskRecord` or a dict of its fields."""
    if task is None or isinstance(task, TaskInfo):
        return task
    if isinstance(task, str):
        return TaskInfo(name=task)
    if isinstance(task, TaskRecord):
        return TaskInfo(task.name, task.meta_features, task.meta_feature_set, task.data_fingerprint)
    if isinstance(task, Mapping):
        unknown = set(task) - {"name", "meta_features", "meta_feature_set", "data_fingerprint"}
        if unknown:
            raise ValueError(
                f"`task` has unknown keys {sorted(unknown)}; use name, meta_features, meta_feature_set, data_fingerprint."
            )
        return TaskInfo(**task)
    raise TypeError(f"`task` must be a TaskInfo, a dict or a task name, but got {task!r} ({type(task).__name__}).")


@dataclass(frozen=True)
class StudyRecord:
    """One study: its space, objective, direction, settings, versions and timestamps.

    ``status`` is ``"running"`` while a process records into it, then how the last run
    ended (``"finished"``, ``"stopped"``, ``"timeout"``, ``"interrupted"``, ``"failed"``).
    ``owners`` are the processes recording into it now (pid, host, session, heartbeat;
    see ``store/owners.py``); a study whose last owner died becomes ``"interrupted"``
    the next time the store is opened.
    """

    id: str
    name: str | None
    task_id: str | None
    space_json: Mapping[str, Any]
    objective: str | None
    metric: str | None
    direction: Direction
    settings: Mapping[str, Any]
    versions: Mapping[str, Any]
    status: str
    started_at: float
    ended_at: float | None
    owners: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "owners", tuple(_frozen(o) for o in self.owners))
        object.__setattr__(self, "space_json", _frozen(self.space_json))
        object.__setattr__(self, "settings", _frozen(self.settings))
        object.__setattr__(self, "versions", _frozen(self.versions))
        object.__setattr__(self, "direction", Direction.parse(self.direction))

    @property
    def space(self) -> SearchSpace:
        return SearchSpace.from_json(_thaw(self.space_json))

    @property
    def signature(self) -> str:
        return self.space.signature

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "task_id": self.task_id,
            "space": _thaw(self.space_json),
            "objective": self.objective,
            "metric": self.metric,
            "direction": self.direction.value,
            "settings": _thaw(self.settings),
            "versions": _thaw(self.versions),
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "owners": [dict(o) for o in self.owners],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyRecord:
        return cls(
            id=data["id"],
            name=data.get("name"),
            task_id=data.get("task_id"),
            space_json=data["space"],
            objective=data.get("objective"),
            metric=data.get("metric"),
            direction=data["direction"],
            settings=data.get("settings") or {},
            versions=data.get("versions") or {},
            status=data["status"],
            started_at=float(data["started_at"]),
            ended_at=None if data.get("ended_at") is None else float(data["ended_at"]),
            owners=tuple(data.get("owners") or ()),
        )


@dataclass(frozen=True)
class TrialRecord:
    """A stored trial: the study's :class:`FrozenTrial` plus its store id and study."""

    id: str
    study_id: str
    trial: FrozenTrial
    recorded_at: float | None = None

    @property
    def value(self) -> float | None:
        return self.trial.value

    @property
    def config(self) -> Mapping[str, Any]:
        return self.trial.config

    @property
    def state(self) -> TrialState:
        return self.trial.state

    def to_dict(self) -> dict[str, Any]:
        data = self.trial.to_dict()
        data["id"] = self.id
        data["recorded_at"] = self.recorded_at
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], study_id: str) -> TrialRecord:
        return cls(
            id=data["id"],
            study_id=study_id,
            trial=FrozenTrial.from_dict(data),
            recorded_at=data.get("recorded_at"),
        )


class StudySummary:
    """What the meta-learning needs of a study without reading its trials.

    ``best`` holds up to :data:`~jupyter_metahpo.store.summaries.SUMMARY_BEST_K`
    ``(config, value)`` pairs, best first. The full :attr:`study` and :attr:`task`
    records are built on first access: a summary load over thousands of studies
    then costs little more than parsing the files.
    """

    __slots__ = ("_study_doc", "_task_doc", "_entry", "_shared", "_study", "_task", "_best", "_task_records")

    def __init__(
        self,
        study_doc: Mapping[str, Any],
        task_doc: Mapping[str, Any] | None,
        entry: Mapping[str, Any],
        shared: Mapping[str, Any] | None = None,
        task_records: dict[Any, Any] | None = None,
    ):
        """``study_doc`` is the study's index entry, ``entry`` its summaries cache entry, and
        ``shared`` the cache's ``spaces`` and ``sources`` that entries point to (``store/summaries.py``).
        ``task_records``: what the summaries of one load share, built on first use: task records
        by task id (a store's studies share their tasks), parameters by space signature and
        source facts by key (thousands of summaries are ranked at a study's start)."""
        init = object.__setattr__  # bypass the frozen __setattr__ (thousands are built per load)
        init(self, "_study_doc", study_doc)
        init(self, "_shared", shared or {})
        init(self, "_task_records", task_records if task_records is not None else {})
        init(self, "_task_doc", task_doc)
        init(self, "_entry", entry)
        init(self, "_study", None)
        init(self, "_task", None)
        init(self, "_best", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"StudySummary is a frozen snapshot; cannot set {name!r}.")

    def __repr__(self) -> str:
        return (
            f"StudySummary(study_id={self.study_id!r}, name={self.name!r}, task={self.task_name!r}, "
            f"trials={self.n_trials}, best_value={self.best_value!r})"
        )

    @property
    def study(self) -> StudyRecord:
        if self._study is None:
            object.__setattr__(self, "_study", StudyRecord.from_dict(self._study_doc))
        return self._study

    @property
    def task(self) -> TaskRecord | None:
        if self._task is None and self._task_doc is not None:
            record = self._task_records.get(self._task_doc["id"])
            if record is None:
                record = self._task_records[self._task_doc["id"]] = TaskRecord.from_dict(self._task_doc)
            object.__setattr__(self, "_task", record)
        return self._task

    @property
    def study_id(self) -> str:
        return self._study_doc["id"]

    @property
    def name(self) -> str | None:
        return self._study_doc.get("name")

    @property
    def status(self) -> str:
        return self._study_doc["status"]

    @property
    def started_at(self) -> float:
        return self._study_doc["started_at"]

    @property
    def direction(self) -> Direction:
        return Direction(self._study_doc["direction"])

    @property
    def signature(self) -> str:
        facts = self._entry.get("facts")
        signature = self._study_doc.get("signature") or (facts or {}).get("signature")
        return signature if signature else self.study.signature

    @property
    def n_trials(self) -> int:
        return self._entry["n_trials"]

    @property
    def n_complete(self) -> int:
        return self._entry["n_complete"]

    @property
    def n_failed(self) -> int:
        return self._entry["n_failed"]

    @property
    def n_pruned(self) -> int:
        return self._entry.get("n_pruned", 0)

    @property
    def best(self) -> tuple[tuple[Mapping[str, Any], float], ...]:
        if self._best is None:
            best = tuple((MappingProxyType(dict(c)), float(v)) for c, v in best_pairs(self._entry))
            object.__setattr__(self, "_best", best)
        return self._best

    @property
    def task_name(self) -> str:
        if self._task_doc is not None:
            return self._task_doc["name"]
        return self.name or self.study_id

    @property
    def meta_features(self) -> Mapping[str, float] | None:
        return None if self.task is None else self.task.meta_features

    @property
    def parameters(self) -> tuple[tuple[str, str], ...]:
        """The space's ``(name, kind)`` pairs, from the cached facts (no space is built)."""
        facts = self._entry.get("facts") or {}
        signature = facts.get("signature")
        memo = self._task_records.get(("parameters", signature)) if signature is not None else None
        if memo is not None:
            return memo
        params = self._shared.get("spaces", {}).get(signature)
        if params is None:
            return tuple((name, p.kind) for name, p in self.study.space.items())
        found = self._task_records[("parameters", signature)] = tuple((name, kind) for name, kind in params)
        return found

    @property
    def source_facts(self) -> Mapping[str, Any] | None:
        """The objective's source ``format``, ``fingerprint``, ``families`` and ``sketch`` (``None``
        when not recorded); see :func:`~jupyter_metahpo.store.summaries.study_facts`."""
        key = (self._entry.get("facts") or {}).get("source")
        source = None if key is None else self._shared.get("sources", {}).get(key)
        if source is None:
            return None
        frozen = self._task_records.get(("source", key))
        if frozen is None:
            frozen = self._task_records[("source", key)] = _deep_freeze(source)
        return frozen

    @property
    def best_value(self) -> float | None:
        value = self._entry.get("best_value")
        return None if value is None else float(value)
