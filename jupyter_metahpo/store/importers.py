"""Import past results from elsewhere: a pandas DataFrame, a CSV file, an Optuna study.

Each importer turns its source into the store's export format and hands it to
:func:`~jupyter_metahpo.store.exchange.import_payload`, so every import is validated
by the same schema and written all-or-nothing. Imported trials have origin
``"imported"`` and the study status ``"imported"``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._imports import LazyImport
from ..space import Choice, IntRange, LogUniform, Parameter, SearchSpace, Uniform, as_search_space
from ..trial import Direction
from .errors import ImportValidationError
from .exchange import EXPORT_FORMAT, ImportReport, import_payload
from .identity import new_id, package_versions, task_id_for
from .records import as_task_info
from .schema import SCHEMA_VERSION

pd = LazyImport("pandas")
# Optional: only importing from an Optuna storage (not from a study object) needs it.
optuna = LazyImport("optuna", install="pip install optuna")

__all__ = ["import_dataframe", "import_csv", "import_optuna", "infer_space"]

#: Columns of ``TuningResult.dataframe`` that describe a trial rather than a parameter.
_NON_PARAMETER_COLUMNS = {"number", "state", "duration", "suggest_seconds", "origin", "reason", "error"}
#: A positive float column spanning at least this ratio is inferred as log-uniform.
LOG_SCALE_RATIO = 100.0


def _plain(value: Any) -> Any:
    """numpy / pandas scalars as plain Python values."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def infer_space(frame: Any, columns: Sequence[str]) -> SearchSpace:
    """A search space covering the values of ``columns``.

    Integer columns become ``intrange(min, max)``; float columns ``uniform(min, max)``,
    or ``loguniform`` when positive and spanning a factor of 100 or more; text, bool and
    category columns become ``choice`` of their values; a constant column a one-option
    ``choice``. Pass ``space=`` instead when you know the real bounds.
    """
    params: dict[str, Parameter] = {}
    for column in columns:
        series = frame[column].dropna()
        if series.empty:
            raise ValueError(f"column {column!r} has no values, so its range cannot be inferred; pass space=.")
        values = [_plain(v) for v in series.unique()]
        kind = series.dtype
        if pd.api.types.is_bool_dtype(kind) or not pd.api.types.is_numeric_dtype(kind) or len(values) == 1:
            params[column] = Choice(sorted(values, key=repr))
        elif pd.api.types.is_integer_dtype(kind):
            params[column] = IntRange(int(series.min()), int(series.max()))
        else:
            low, high = float(series.min()), float(series.max())
            use_log = low > 0 and high / low >= LOG_SCALE_RATIO
            params[column] = LogUniform(low, high) if use_log else Uniform(low, high)
    return SearchSpace(params)


def import_dataframe(
    store: Any,
    frame: Any,
    *,
    value: str = "value",
    params: Sequence[str] | None = None,
    space: SearchSpace | Mapping[str, Any] | None = None,
    name: str | None = None,
    direction: str | Direction = "minimize",
    task: Any = None,
    source: str = "a DataFrame",
) -> ImportReport:
    """Import one study from a table: one row per trial, parameter columns and a value column.

    ``params`` names the parameter columns (default: every column but ``value`` and the
    bookkeeping columns of ``TuningResult.dataframe``). A row without a value is stored
    as a failed trial; a row with an empty parameter is an error. ``space`` gives the
    real bounds; without it they are inferred from the data (:func:`infer_space`).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"import_dataframe needs a pandas DataFrame, but got {type(frame).__name__}.")
    if value not in frame.columns:
        raise ValueError(
            f"{source} has no value column {value!r}; its columns are {list(map(str, frame.columns))}. "
            "Name the column that holds the objective with value='...'."
        )
    if params is None:
        params = [
            str(c) for c in frame.columns
            if c != value and str(c) not in _NON_PARAMETER_COLUMNS and not str(c).startswith("metric:")
        ]
    missing = [p for p in params if p not in frame.columns]
    if missing or not params:
        raise ValueError(f"{source}: parameter columns {missing or '(none)'} are not in {list(map(str, frame.columns))}.")
    direction = Direction.parse(direction)
    space = infer_space(frame, params) if space is None else as_search_space(space)
    if set(space.names) != set(params):
        raise ValueError(f"the space's parameters {space.names} differ from the columns {list(params)}.")
    problems: list[str] = []
    trials = []
    now = time.time()
    for row_number, (label, row) in enumerate(frame.iterrows()):
        where = f"row {row_number} (index {label!r})"
        config = {p: _plain(row[p]) for p in params}
        empty = [p for p, v in config.items() if _is_missing(v)]
        if empty:
            problems.append(f"{where}: parameter column(s) {empty} are empty")
            continue
        score = _plain(row[value])
        state, error = "complete", None
        if _is_missing(score) or isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            state, error, score = "failed", f"imported without a finite value ({row[value]!r})", None
        trials.append({
            "id": new_id(), "number": len(trials), "config": config, "state": state,
            "origin": {"source": "imported", "reason": f"imported from {source}", "details": {"row": row_number}},
            "value": None if score is None else float(score), "metrics": {}, "error": error,
            "started_at": None, "finished_at": None, "suggest_seconds": None, "recorded_at": now,
        })
    if problems:
        raise ImportValidationError(source, problems)
    return _import_one_study(store, space, direction, trials, name or f"imported {source}", task, source, {})


def import_csv(store: Any, path: str | os.PathLike[str], **kwargs: Any) -> ImportReport:
    """Import a CSV file of parameter columns and a value column (see :func:`import_dataframe`)."""
    try:
        frame = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ImportValidationError(str(path), [f"file: is not a readable CSV table ({error})"]) from None
    kwargs.setdefault("source", str(path))
    if kwargs.get("name") is None:
        kwargs["name"] = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return import_dataframe(store, frame, **kwargs)


def _from_optuna_distribution(dist: Any, notes: list[str], name: str) -> Parameter:
    kind = type(dist).__name__
    if kind in ("CategoricalDistribution",):
        return Choice(list(dist.choices))
    if kind in ("IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution"):
        if getattr(dist, "step", 1) not in (1, None):
            notes.append(f"{name}: Optuna step {dist.step} is not kept (intrange has step 1)")
        return IntRange(int(dist.low), int(dist.high), log=bool(getattr(dist, "log", kind == "IntLogUniformDistribution")))
    if kind in ("FloatDistribution", "UniformDistribution", "LogUniformDistribution", "DiscreteUniformDistribution"):
        if getattr(dist, "step", None) is not None or kind == "DiscreteUniformDistribution":
            notes.append(f"{name}: Optuna step {getattr(dist, 'step', getattr(dist, 'q', None))} is not kept")
        log = bool(getattr(dist, "log", kind == "LogUniformDistribution"))
        return (LogUniform if log else Uniform)(float(dist.low), float(dist.high))
    raise ValueError(f"parameter {name!r}: Optuna distribution {kind} is not supported.")


def _widen(a: Parameter, b: Parameter, name: str) -> Parameter:
    """One parameter covering two Optuna distributions of the same name (dynamic spaces)."""
    if a == b:
        return a
    if isinstance(a, Choice) and isinstance(b, Choice):
        return Choice(list(a.options) + [o for o in b.options if o not in a.options])
    if type(a) is type(b) and isinstance(a, (Uniform, LogUniform)):
        return type(a)(min(a.low, b.low), max(a.high, b.high))  # type: ignore[attr-defined]
    if isinstance(a, IntRange) and isinstance(b, IntRange) and a.log == b.log:
        return IntRange(min(a.low, b.low), max(a.high, b.high), log=a.log)
    raise ValueError(f"parameter {name!r} has incompatible Optuna distributions {a!r} and {b!r}.")


def import_optuna(
    store: Any,
    study: Any = None,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    name: str | None = None,
    task: Any = None,
) -> ImportReport:
    """Import a single-objective Optuna study: an ``optuna.Study``, or ``storage`` + ``study_name``.

    Complete trials keep their values; failed and pruned trials are stored as failed;
    running and waiting trials are skipped. Trials of a dynamic space that lack some
    parameter are skipped (the report's ``notes`` say how many).
    """
    if study is None:
        if storage is None or study_name is None:
            raise ValueError("give an optuna.Study, or storage='sqlite:///...' and study_name='...'.")
        study = optuna.load_study(study_name=study_name, storage=storage)
    directions = getattr(study, "directions", None)
    if directions is None or not hasattr(study, "get_trials"):
        raise TypeError(f"expected an optuna.Study, but got {type(study).__name__}.")
    if len(directions) != 1:
        raise ValueError(f"only single-objective Optuna studies can be imported; this one has {len(directions)} objectives.")
    direction = Direction.parse(directions[0].name.lower())
    notes: list[str] = []
    params: dict[str, Parameter] = {}
    trials_in = study.get_trials(deepcopy=False)
    for trial in trials_in:
        for pname, dist in trial.distributions.items():
            param = _from_optuna_distribution(dist, notes, pname)
            params[pname] = _widen(params[pname], param, pname) if pname in params else param
    if not params:
        raise ValueError(f"the Optuna study {study.study_name!r} has no trial with parameters to import.")
    space = SearchSpace(params)
    trials, skipped = [], 0
    now = time.time()
    for trial in trials_in:
        state = trial.state.name
        if state not in ("COMPLETE", "FAIL", "PRUNED") or set(trial.params) != set(space.names):
            skipped += 1
            continue
        complete = state == "COMPLETE" and trial.value is not None and math.isfinite(trial.value)
        error = None if complete else ("pruned by Optuna" if state == "PRUNED" else f"{state.lower()} in Optuna")
        start = trial.datetime_start.timestamp() if trial.datetime_start else None
        end = trial.datetime_complete.timestamp() if trial.datetime_complete else None
        trials.append({
            "id": new_id(), "number": len(trials), "config": {k: _plain(v) for k, v in trial.params.items()},
            "state": "complete" if complete else "failed",
            "origin": {"source": "imported", "reason": f"imported from Optuna study {study.study_name!r}",
                       "details": {"optuna_trial": trial.number}},
            "value": float(trial.value) if complete else None, "metrics": {}, "error": error,
            "started_at": start, "finished_at": end, "suggest_seconds": None, "recorded_at": now,
        })
    if skipped:
        notes.append(f"{skipped} trial(s) skipped (running, waiting, or without every parameter)")
    settings = {"imported_from": "optuna", "optuna_study_name": study.study_name, "notes": notes}
    report = _import_one_study(
        store, space, direction, trials, name or study.study_name, task, f"Optuna study {study.study_name!r}", settings
    )
    return report


def _import_one_study(
    store: Any, space: SearchSpace, direction: Direction, trials: list[dict[str, Any]],
    name: str, task: Any, source: str, settings: dict[str, Any],
) -> ImportReport:
    info = as_task_info(task)
    tasks = []
    if info is not None:
        tasks.append({
            "id": task_id_for(info.name, info.data_fingerprint), "name": info.name,
            "meta_features": None if info.meta_features is None else dict(info.meta_features),
            "meta_feature_set": info.meta_feature_set, "data_fingerprint": info.data_fingerprint,
            "created_at": time.time(),
        })
    started = min((t["started_at"] for t in trials if t["started_at"] is not None), default=time.time())
    study = {
        "id": new_id(), "name": name, "task_id": tasks[0]["id"] if tasks else None, "space": space.to_json(),
        "objective": None, "metric": None, "direction": direction.value, "settings": settings,
        "versions": package_versions(), "status": "imported", "started_at": started, "ended_at": time.time(),
        "trials": trials,
    }
    payload = {"format": EXPORT_FORMAT, "schema_version": SCHEMA_VERSION, "tasks": tasks, "studies": [study]}
    return import_payload(store, payload, source)
