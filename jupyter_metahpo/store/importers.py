"""Import past results from elsewhere: a pandas DataFrame, a CSV file, an Optuna study.

Each importer turns its source into one new study in the store's export format: the
study and task records, then its trials one by one. The store checks each with the
schema that checks import files (``schema.check_study``, ``check_trial``) and writes it
to a temporary log as it comes, so a large table is never held as trials in memory;
the study appears all at once, or not at all. Imported trials have origin
``"imported"`` and the study status ``"imported"``.

Many studies import in one transaction with :class:`BulkImport`
(``ExperienceStore.bulk_import()``): each study is checked and its log written to a
temporary file as it is added, and they all appear together when the block ends
without an error (one index rewrite), or none does.

A CSV file is read :data:`CSV_ROWS_PER_READ` rows at a time (twice when the space is
inferred: once for the ranges, once for the trials), so the import's memory does not
grow with the file (``benchmarks/results/csv_import.md``: well under three times its
size). Files above :data:`MAX_CSV_BYTES` are refused before reading, with the size and
the way out.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .._imports import LazyImport
from ..space import Choice, IntRange, LogUniform, Parameter, SearchSpace, Uniform, as_search_space
from ..trial import Direction
from .errors import ImportValidationError
from .exchange import ImportReport
from .identity import new_id, package_versions, task_id_for
from .records import as_task_info
from .schema import MAX_ITEMS

pd = LazyImport("pandas")
# Optional: only importing from an Optuna storage (not from a study object) needs it.
optuna = LazyImport("optuna", install="pip install optuna")

__all__ = ["import_dataframe", "import_csv", "import_optuna", "infer_space", "BulkImport", "MAX_CSV_BYTES"]

#: The largest CSV file :func:`import_csv` reads (512 MiB). Memory is not the limit (it is
#: read in chunks); time is, at tens of seconds per 50 MB. Split a larger file, or read it
#: in parts with pandas and import each part with :func:`import_dataframe`.
MAX_CSV_BYTES = 512 * 1024 * 1024
#: Rows of a CSV file read at a time (the file is never read whole).
CSV_ROWS_PER_READ = 10_000
#: Rows converted to trials at a time: bounds the memory the conversion adds to the table's own.
ROWS_PER_CHUNK = 5000

#: Columns of ``TuningResult.dataframe`` that describe a trial rather than a parameter.
#: Columns of ``TuningResult.dataframe`` that are not parameters (result.py writes them).
_NON_PARAMETER_COLUMNS = {
    "number", "state", "duration", "suggest_seconds", "origin", "reason", "error", "output", "warnings",
    "strategy", "source_task", "similarity", "predicted",
}
#: A positive float column spanning at least this ratio is inferred as log-uniform.
LOG_SCALE_RATIO = 100.0


def _plain(value: Any) -> Any:
    """numpy / pandas scalars as plain Python values."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def infer_space(frame: Any, columns: Sequence[str]) -> SearchSpace:
    """A search space covering the values of ``columns``.

    Integer columns become ``intrange(min, max)``; float columns ``uniform(min, max)``,
    or ``loguniform`` when positive and spanning a factor of 100 or more; text, bool and
    category columns become ``choice`` of their values; a constant column a one-option
    ``choice``. Pass ``space=`` instead when you know the real bounds.
    """
    return _SpaceSketch(columns).fold(frame).space()


def _kind(dtype: Any) -> str:
    """How :func:`infer_space` sees a column's dtype: "bool", "int", "float" or "text"."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"  # before the numeric test: pandas counts bool as numeric
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    return "float" if pd.api.types.is_numeric_dtype(dtype) else "text"


class _SpaceSketch:
    """What :func:`infer_space` needs of each column, folded in one table (or CSV chunk) at a time.

    Per column: the kinds of its parts (a CSV chunk may parse as int where the file's
    column is float); the minimum and maximum; the distinct values while they may make
    a choice (a text or bool column: up to ``MAX_ITEMS``; a numeric one: while it is
    constant). A table read in chunks gives the space the whole table would, in memory
    that does not grow with the table.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.kinds: dict[str, set[str]] = {c: set() for c in self.columns}
        self.low: dict[str, Any] = {}
        self.high: dict[str, Any] = {}
        self.values: dict[str, set[Any]] = {c: set() for c in self.columns}
        self.too_many: set[str] = set()

    def fold_all(self, parts: Iterable[Any]) -> _SpaceSketch:
        for part in parts:
            self.fold(part)
        return self

    def fold(self, part: Any) -> _SpaceSketch:
        for column in self.columns:
            series = part[column].dropna()
            if series.empty:
                continue
            kind = _kind(series.dtype)
            self.kinds[column].add(kind)
            if kind in ("int", "float"):
                low, high = _plain(series.min()), _plain(series.max())
                self.low[column] = low if column not in self.low else min(self.low[column], low)
                self.high[column] = high if column not in self.high else max(self.high[column], high)
            if column not in self.too_many:
                self.values[column].update(_plain(v) for v in series.unique())
                if len(self.values[column]) > (1 if kind in ("int", "float") else MAX_ITEMS):
                    self.too_many.add(column)
                    self.values[column] = set()
        return self

    def mixed(self) -> list[str]:
        """Columns parsed as text in some chunks and as numbers or bools in others (a CSV's
        chunks only): read them again as text, as a whole-file read would have."""
        return [c for c in self.columns if len(self.kinds[c]) > 1 and not self.kinds[c] <= {"int", "float"}]

    def space(self) -> SearchSpace:
        params: dict[str, Parameter] = {}
        for column in self.columns:
            kinds, values = self.kinds[column], self.values[column]
            if not kinds:
                raise ValueError(f"column {column!r} has no values, so its range cannot be inferred; pass space=.")
            numeric = kinds <= {"int", "float"}
            if not numeric and column in self.too_many:
                raise ValueError(
                    f"column {column!r} has more than {MAX_ITEMS} distinct values, too many for a choice; "
                    "pass space= with its range, or leave it out with params=[...]."
                )
            if not numeric or column not in self.too_many:  # text, bool, or one number throughout
                options = {float(v) for v in values} if kinds == {"int", "float"} else values
                params[column] = Choice(sorted(options, key=repr))
            elif kinds == {"int"}:
                params[column] = IntRange(int(self.low[column]), int(self.high[column]))
            else:
                low, high = float(self.low[column]), float(self.high[column])
                use_log = low > 0 and high / low >= LOG_SCALE_RATIO
                params[column] = LogUniform(low, high) if use_log else Uniform(low, high)
        return SearchSpace(params)


def _parameter_columns(columns: list[Any], value: str, params: Sequence[str] | None, source: str) -> list[str]:
    """The parameter columns: ``params``, or every column but the value and bookkeeping ones."""
    if value not in columns:
        raise ValueError(
            f"{source} has no value column {value!r}; its columns are {list(map(str, columns))}. "
            "Name the column that holds the objective with value='...'."
        )
    if params is None:
        params = [
            str(c) for c in columns
            if c != value and str(c) not in _NON_PARAMETER_COLUMNS and not str(c).startswith("metric:")
        ]
    missing = [p for p in params if p not in columns]
    if missing or not params:
        raise ValueError(f"{source}: parameter columns {missing or '(none)'} are not in {list(map(str, columns))}.")
    return list(params)


def _space_for(space: Any, params: list[str], infer: Any) -> SearchSpace:
    """``space`` (or the one ``infer()`` gives), which must have exactly the parameter columns."""
    space = infer() if space is None else as_search_space(space)
    if set(space.names) != set(params):
        raise ValueError(f"the space's parameters {space.names} differ from the columns {list(params)}.")
    return space


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
    params = _parameter_columns(list(frame.columns), value, params, source)
    direction = Direction.parse(direction)
    space = _space_for(space, params, lambda: infer_space(frame, params))
    problems: list[str] = []
    trials = _table_trials([frame], params, value, space, source, problems)
    return _import_one_study(
        store, space, direction, trials, name or f"imported {source}", task, source, {}, time.time(), problems
    )


def import_csv(
    store: Any,
    path: str | os.PathLike[str],
    *,
    value: str = "value",
    params: Sequence[str] | None = None,
    space: SearchSpace | Mapping[str, Any] | None = None,
    name: str | None = None,
    direction: str | Direction = "minimize",
    task: Any = None,
    source: str | None = None,
) -> ImportReport:
    """Import a CSV file of parameter columns and a value column (see :func:`import_dataframe`).

    The file is read :data:`CSV_ROWS_PER_READ` rows at a time, twice without ``space``
    (once to infer it, once to convert the rows), so its memory does not grow with the
    file. Files above :data:`MAX_CSV_BYTES` are refused before they are read. The study
    is named after the file unless ``name`` is given.
    """
    source = str(path) if source is None else source
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"no CSV file to import at {path}.") from None
    if size > MAX_CSV_BYTES:
        raise ImportValidationError(source, [
            f"file: is {size:,} bytes; import_csv reads at most {MAX_CSV_BYTES:,} (importers.MAX_CSV_BYTES). "
            "Split it into smaller CSV files and import each, or read it in parts with pandas "
            "(pd.read_csv(..., chunksize=...)) and import each part with import_dataframe."
        ])
    header = next(_csv_chunks(path, source, nrows=0))
    params = _parameter_columns(list(header.columns), value, params, source)
    direction = Direction.parse(direction)
    as_text: dict[str, Any] = {}
    if space is None:
        sketch = _SpaceSketch(params).fold_all(_csv_chunks(path, source))
        if sketch.mixed():
            as_text = dict.fromkeys(sketch.mixed(), str)
            sketch = _SpaceSketch(params).fold_all(_csv_chunks(path, source, dtype=as_text))
        space = sketch.space()
    space = _space_for(space, params, None)
    problems: list[str] = []
    trials = _table_trials(_csv_chunks(path, source, dtype=as_text), params, value, space, source, problems)
    name = name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return _import_one_study(store, space, direction, trials, name, task, source, {}, time.time(), problems)


def _csv_chunks(path: Any, source: str, nrows: int | None = None, dtype: Any = None) -> Iterator[Any]:
    """The CSV file as DataFrames of :data:`CSV_ROWS_PER_READ` rows; a parse error names the file."""
    try:
        if nrows is not None:
            yield pd.read_csv(path, nrows=nrows)
            return
        with pd.read_csv(path, chunksize=CSV_ROWS_PER_READ, dtype=dtype or None) as reader:
            yield from reader
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ImportValidationError(source, [f"file: is not a readable CSV table ({error})"]) from None


def _table_trials(
    parts: Iterable[Any], params: list[str], value: str, space: SearchSpace, source: str, problems: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(location, trial)`` for each row of the tables in ``parts`` (one table, or a CSV's chunks).

    A row with an empty parameter adds a problem instead. Rows are converted
    :data:`ROWS_PER_CHUNK` at a time as plain Python values (``tolist``); a float
    parameter's values are floats even in a chunk where they all happen to be whole.
    """
    now = time.time()
    floats = {p for p in params if isinstance(space[p], (Uniform, LogUniform))}
    number = row_number = 0
    for table in parts:
        for start in range(0, len(table), ROWS_PER_CHUNK):
            part = table.iloc[start:start + ROWS_PER_CHUNK]
            columns = [part[p].tolist() for p in params]
            scores = part[value].tolist()
            for offset, label in enumerate(part.index.tolist()):
                where = f"row {row_number} (index {label!r})"
                config = {p: _plain(column[offset]) for p, column in zip(params, columns)}
                empty = [p for p, v in config.items() if _is_missing(v)]
                if empty:
                    problems.append(f"{where}: parameter column(s) {empty} are empty")
                    row_number += 1
                    continue
                for p in floats & config.keys():
                    if type(config[p]) is int:
                        config[p] = float(config[p])
                yield where, _imported_trial(number, config, scores[offset], source, row_number, now)
                number += 1
                row_number += 1


def _imported_trial(number: int, config: dict[str, Any], raw: Any, source: str, row: int, now: float) -> dict[str, Any]:
    score = _plain(raw)
    state, error = "complete", None
    if _is_missing(score) or isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        state, error, score = "failed", f"imported without a finite value ({raw!r})", None
    return {
        "id": new_id(), "number": number, "config": config, "state": state,
        "origin": {"source": "imported", "reason": f"imported from {source}", "details": {"row": row}},
        "value": None if score is None else float(score), "metrics": {}, "error": error,
        "started_at": None, "finished_at": None, "suggest_seconds": None, "recorded_at": now,
    }


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

    Complete trials keep their values; pruned trials stay pruned, with their last
    intermediate value; failed trials are stored as failed; running and waiting trials
    are skipped. Every trial keeps its intermediate values (its learning curve). Trials of a dynamic space that lack some
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
        start = trial.datetime_start.timestamp() if trial.datetime_start else None
        end = trial.datetime_complete.timestamp() if trial.datetime_complete else None
        trials.append({
            "id": new_id(), "number": len(trials), "config": {k: _plain(v) for k, v in trial.params.items()},
            **_optuna_outcome(trial, state),
            "origin": {"source": "imported", "reason": f"imported from Optuna study {study.study_name!r}",
                       "details": {"optuna_trial": trial.number}},
            "metrics": {}, "started_at": start, "finished_at": end, "suggest_seconds": None, "recorded_at": now,
        })
    if skipped:
        notes.append(f"{skipped} trial(s) skipped (running, waiting, or without every parameter)")
    settings = {"imported_from": "optuna", "optuna_study_name": study.study_name, "notes": notes}
    started = min((t["started_at"] for t in trials if t["started_at"] is not None), default=time.time())
    located = ((f"trials[{i}] (Optuna trial {t['origin']['details']['optuna_trial']})", t) for i, t in enumerate(trials))
    return _import_one_study(
        store, space, direction, located, name or study.study_name, task, f"Optuna study {study.study_name!r}",
        settings, started, [],
    )


def _optuna_outcome(trial: Any, state: str) -> dict[str, Any]:
    """State, value, error and learning curve of an Optuna trial, as the store keeps them.

    A pruned trial's value is its last intermediate value when finite, as Optuna's
    ``tell`` sets it (and as a pruned trial of ours ends); its curve comes along as
    ``intermediate_values``.
    """
    curve = sorted((int(step), float(value)) for step, value in (trial.intermediate_values or {}).items())
    stored = [[step, value if math.isfinite(value) else None] for step, value in curve]
    outcome: dict[str, Any] = {"intermediate_values": stored} if stored else {}
    value = trial.value
    if state == "COMPLETE" and value is not None and math.isfinite(value):
        return {**outcome, "state": "complete", "value": float(value), "error": None}
    if state == "PRUNED":
        last = curve[-1][1] if curve and math.isfinite(curve[-1][1]) else None
        if value is not None and math.isfinite(value):
            last = float(value)
        return {**outcome, "state": "pruned", "value": last, "error": None, "prune_reason": "pruned by Optuna"}
    return {**outcome, "state": "failed", "value": None, "error": f"{state.lower()} in Optuna"}


def _import_one_study(
    store: Any, space: SearchSpace, direction: Direction, trials: Iterator[tuple[str, dict[str, Any]]],
    name: str, task: Any, source: str, settings: dict[str, Any], started_at: float, problems: list[str],
) -> ImportReport:
    """One new study from ``(location, trial)`` pairs, written by the store as they come."""
    info = as_task_info(task)
    task_doc = None
    if info is not None:
        task_doc = {
            "id": task_id_for(info.name, info.data_fingerprint), "name": info.name,
            "meta_features": None if info.meta_features is None else dict(info.meta_features),
            "meta_feature_set": info.meta_feature_set, "data_fingerprint": info.data_fingerprint,
            "created_at": time.time(),
        }
    study = {
        "id": new_id(), "name": name, "task_id": None if task_doc is None else task_doc["id"], "space": space.to_json(),
        "objective": None, "metric": None, "direction": direction.value, "settings": settings,
        "versions": package_versions(), "status": "imported", "started_at": started_at, "ended_at": time.time(),
    }
    return store._import_study_stream(study, task_doc, trials, source, problems)


class BulkImport:
    """Many imports as one transaction: ``with store.bulk_import() as batch: batch.import_dataframe(...)``.

    Each ``import_*`` call checks its study and writes its trials to a temporary log,
    exactly as the single-study importer does (and raises the same
    :class:`~jupyter_metahpo.store.errors.ImportValidationError`, with every problem
    and its location); nothing is visible in the store yet. When the ``with`` block
    ends without an error, every study appears at once, under one index rewrite
    (:meth:`commit`); when it ends with an error, or the commit fails, none does and
    the temporary files are removed. :attr:`report` then says what was added. (An
    error caught inside the block leaves out only the study that raised it.)

    A DataFrame given without ``source=`` is named by its position in the batch (and
    its study name) in error messages, so that a problem in the 37th table says so.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.report: ImportReport | None = None
        self._prepared: list[Any] = []
        self._open = True

    def __repr__(self) -> str:
        state = "open" if self._open else ("committed" if self.report is not None else "discarded")
        return f"BulkImport({self.store!r}, {len(self._prepared)} studies prepared, {state})"

    def __enter__(self) -> BulkImport:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def import_dataframe(self, frame: Any, **kwargs: Any) -> ImportReport:
        """Prepare one study from a table (see :func:`import_dataframe`); it appears at the commit."""
        kwargs.setdefault("source", self._position("DataFrame", kwargs.get("name")))
        return import_dataframe(self, frame, **kwargs)

    def import_csv(self, path: str | os.PathLike[str], **kwargs: Any) -> ImportReport:
        """Prepare one study from a CSV file (see :func:`import_csv`); it appears at the commit."""
        return import_csv(self, path, **kwargs)

    def import_optuna(self, study: Any = None, **kwargs: Any) -> ImportReport:
        """Prepare one study from an Optuna study (see :func:`import_optuna`); it appears at the commit."""
        return import_optuna(self, study, **kwargs)

    def _position(self, what: str, name: Any) -> str:
        label = f"{what} #{len(self._prepared) + 1} of the bulk import"
        return f"{label} ({name!r})" if name is not None else label

    def _import_study_stream(
        self, study: dict[str, Any], task: dict[str, Any] | None, trials: Any, source: str, problems: list[str]
    ) -> ImportReport:
        """What the importers call: check and write the study to a temporary log, keep it for the commit."""
        if not self._open:
            raise RuntimeError("this bulk import has ended; start another with store.bulk_import().")
        # A bad study raises here with nothing of it left behind; the error ends the ``with``
        # block, which discards the rest (unless the caller catches it to go on without that study).
        prepared = self.store._prepare_study_stream(study, task, trials, source, problems)
        self._prepared.append(prepared)
        return ImportReport(source, 0, 1, 0, prepared.n_trials, 0, (study["id"],))

    def commit(self) -> ImportReport:
        """Make every prepared study visible at once (one index rewrite); returns the combined report."""
        if not self._open:
            raise RuntimeError("this bulk import has already ended.")
        self._open = False
        if not self._prepared:
            self.report = ImportReport("a bulk import", 0, 0, 0, 0, 0, ())
            return self.report
        source = f"a bulk import of {len(self._prepared)} studies"
        try:
            self.report = self.store._commit_imports(self._prepared, source)
        finally:
            self._prepared = []
        return self.report

    def discard(self) -> None:
        """Drop every prepared study (their temporary logs are removed); nothing was imported."""
        self._open = False
        for prepared in self._prepared:
            prepared.temp.unlink(missing_ok=True)
        self._prepared = []
