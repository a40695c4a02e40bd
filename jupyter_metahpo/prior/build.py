"""The resumable build of the bundled prior: every pool configuration of every
built-in space on every dataset of its task type.

Work is ordered family by family (fastest family first), each family over all its
datasets, pool index by pool index, so that whole families complete early and
partial results are already useful; with ``first_pass`` (the command's default: 40,
the prior's coverage goal) every family first gets that many datasets, then the
rest. Evaluations run in worker processes (one thread each); the parent alone writes the run files (:mod:`.runs`), one fsynced line per
finished evaluation. A worker that spends more than its CPU-time limit on one
evaluation is killed and the evaluation recorded as failed, so one pathological
configuration cannot stall the build. Re-running the same command resumes: finished
evaluations are skipped, the ones that were running are redone.

With ``curves`` (``build --curves``), the build records learning curves instead, for
the spaces that train by epochs (the torch MLP): the same evaluations again, with
every fold's per-epoch scores, into ``<runs>/<space>/curves/<dataset>.jsonl`` (the
same resumable run-file format; the main runs are never touched). Work goes dataset
by dataset, cheapest first (the datasets whose main runs are complete first, ordered
by the CPU time those took), so that a partial build holds whole datasets.
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, TextIO

from .._imports import LazyImport
from ..builtin_spaces import FAMILIES, get_builtin_space
from . import datasets as ds
from .protocol import CURVE_FORMAT, POOL_SIZES, PROTOCOL, config_pool, evaluate_config, records_curves
from .runs import RunFile, read_run, resolve_runs_dir

torch = LazyImport("torch")

__all__ = [
    "DEFAULT_FAMILY_ORDER",
    "BuildSettings",
    "Job",
    "curve_path",
    "frozen_pool",
    "open_curve_file",
    "open_run_file",
    "plan_curve_jobs",
    "plan_jobs",
    "run_build",
    "run_header",
    "run_path",
    "sample_datasets",
]

#: Cheapest family first, by the CPU-hours per family that ``build --sample`` estimates (the
#: figures: benchmarks/results/prior_build.md); svm went first before hgb and mlp were measured.
DEFAULT_FAMILY_ORDER: tuple[str, ...] = ("svm", "hgb", "mlp", "random_forest", "torch_mlp", "logistic_regression")

#: A worker whose evaluation takes this many times its CPU limit in wall time is taken as hung.
_HUNG_FACTOR = 30

#: Single-threaded numerics in the workers: two workers share two cores.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    space: str
    dataset: str
    index: int
    config: dict[str, Any]
    curves: bool = False  # record per-epoch learning curves (into the curve files)


@dataclass(frozen=True)
class BuildSettings:
    families: tuple[str, ...] = DEFAULT_FAMILY_ORDER
    datasets: tuple[str, ...] | None = None  # None: all of the task type
    jobs: int = 2
    chunk: int | None = None  # pool indices per (space, dataset) per pass; None: the whole pool
    fit_limit_s: float = 60.0  # CPU seconds per fold; an evaluation may use folds x this
    max_evals: int | None = None  # stop after this many evaluations (a timed sample)
    sample: int | None = None  # only this many pool indices on 4 datasets per space (to estimate cost)
    runs_dir: Path | None = None  # None: the repository's prior-build/runs (see runs.resolve_runs_dir)
    first_pass: int | None = None  # datasets per space built before any space's remaining ones
    spaces: tuple[str, ...] | None = None  # only these spaces of the families (None: all of them)
    curves: bool = False  # record learning curves (the spaces that train by epochs) instead of the main runs

    def __post_init__(self) -> None:
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown families {unknown}; choose from {sorted(FAMILIES)}.")
        if self.spaces is not None:
            object.__setattr__(self, "spaces", tuple(get_builtin_space(s).name for s in self.spaces))
        if self.curves:
            self._check_curve_settings()
        if self.jobs < 1:
            raise ValueError(f"`jobs` must be >= 1, but got jobs={self.jobs}.")
        if self.chunk is not None and self.chunk < 1:
            raise ValueError(f"`chunk` must be >= 1, but got chunk={self.chunk}.")
        if self.first_pass is not None and self.first_pass < 1:
            raise ValueError(f"`first_pass` must be >= 1, but got first_pass={self.first_pass}.")
        if self.fit_limit_s <= 0:
            raise ValueError(f"`fit_limit_s` must be > 0, but got fit_limit_s={self.fit_limit_s}.")
        if self.datasets is not None:
            object.__setattr__(self, "datasets", tuple(ds.resolve_name(d) for d in self.datasets))
        object.__setattr__(self, "runs_dir", resolve_runs_dir(self.runs_dir, create=True))

    def _check_curve_settings(self) -> None:
        if self.chunk is not None or self.first_pass is not None:
            raise ValueError("learning curves are built dataset by dataset; drop `chunk` and `first_pass` with `curves`.")
        without = [s for s in (self.spaces or ()) if not records_curves(s)]
        if without:
            raise ValueError(
                f"spaces {without} do not train by epochs and have no learning curves; "
                f"choose from {[s for s in _space_order(tuple(FAMILIES)) if records_curves(s)]}."
            )


def run_path(runs_dir: Path, space: str, dataset: str) -> Path:
    return Path(runs_dir) / space / f"{dataset}.jsonl"


def curve_path(runs_dir: Path, space: str, dataset: str) -> Path:
    """Where the learning curves of ``space`` on ``dataset`` go: beside the main runs, never in them."""
    return Path(runs_dir) / space / "curves" / f"{dataset}.jsonl"


@functools.lru_cache(maxsize=None)
def sample_datasets(task: str, k: int = 4) -> list[str]:
    """``k`` datasets of ``task`` spread over sizes (rows x features), for cost estimates."""
    names = ds.dataset_names(task)
    sizes = []
    for name in names:
        data = ds.load_dataset(name, PROTOCOL["max_rows"], PROTOCOL["subsample_seed"])
        sizes.append((data.n_rows * max(data.n_features, 1) * max(data.n_classes or 1, 1), name))
    sizes.sort()
    picks = [sizes[round(i * (len(sizes) - 1) / max(k - 1, 1))][1] for i in range(k)]
    return list(dict.fromkeys(picks))


def _space_order(families: Sequence[str], spaces: Sequence[str] | None = None) -> list[str]:
    return [space for family in families for space in FAMILIES[family] if spaces is None or space in spaces]


def pool_path(runs_dir: Path, space: str) -> Path:
    return Path(runs_dir) / space / "_pool.json"


def frozen_pool(runs_dir: Path, space: str) -> list[dict[str, Any]]:
    """The pool of ``space`` as first used by this build, frozen in ``<runs>/<space>/_pool.json``.

    The pool comes from scipy's scrambled Sobol sequence and the space's decoding; a
    new scipy or a change in ``space.py`` could shift it, so the build writes it
    down on first use and every later step (resume, assemble) reads it back.
    """
    path = pool_path(runs_dir, space)
    builtin = get_builtin_space(space)
    if path.exists():
        document = json.loads(path.read_text())
        if document.get("space_json") != builtin.space.to_json() or document.get("protocol") != PROTOCOL:
            raise ValueError(f"{path} was frozen for another space or protocol; move the {space} runs aside to rebuild.")
        return document["pool"]
    pool = config_pool(space)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"space": space, "space_json": builtin.space.to_json(), "protocol": PROTOCOL, "pool": pool}, indent=1))
    os.replace(tmp, path)
    return pool


def plan_jobs(settings: BuildSettings) -> Iterator[Job]:
    """The evaluations still to do, in build order; finished ones (in the run files) are skipped.

    With ``first_pass``, every space is built on its first ``first_pass`` datasets
    before any space gets the rest: the prior's coverage goal (40 datasets for every
    family) is then reached hours before the whole build ends.
    """
    plans = [_space_plan(settings, space) for space in _space_order(settings.families, settings.spaces)]
    k = settings.first_pass
    passes = [(p, p[2][:k]) for p in plans] + [(p, p[2][k:]) for p in plans] if k else [(p, p[2]) for p in plans]
    for (space, pool, _, indices), names in passes:
        chunk = settings.chunk or len(indices)
        for start in range(0, len(indices), chunk):
            for dataset in names:
                done = read_run(run_path(settings.runs_dir, space, dataset)).evals
                for index in indices[start : start + chunk]:
                    if index not in done:
                        yield Job(space, dataset, index, pool[index])


def plan_curve_jobs(settings: BuildSettings) -> Iterator[Job]:
    """The learning-curve evaluations still to do, dataset by dataset, cheapest first.

    Each (space, dataset) is finished before the next starts, so a build stopped at any
    point leaves whole datasets of curves plus one partial. Order: the datasets whose
    main runs are complete first, by the CPU time those runs took (the best estimate of
    what their curves cost), then the others by rows x features.
    """
    spaces = [s for s in _space_order(settings.families, settings.spaces) if records_curves(s)]
    work = []
    for space in spaces:
        _, pool, names, indices = _space_plan(settings, space)
        work += [(_curve_cost(settings.runs_dir, space, name, len(pool)), space, name, pool, indices) for name in names]
    work.sort(key=lambda item: (item[0], item[1], item[2]))
    for _, space, dataset, pool, indices in work:
        done = read_run(curve_path(settings.runs_dir, space, dataset)).evals
        for index in indices:
            if index not in done:
                yield Job(space, dataset, index, pool[index], curves=True)


def _curve_cost(runs_dir: Path, space: str, dataset: str, pool_size: int) -> tuple[int, float]:
    """Sort key of a dataset's curves: ``(0, CPU seconds of its main runs)`` when they are
    complete, else ``(1, rows x features)``."""
    run = read_run(run_path(runs_dir, space, dataset))
    if len(run.evals) >= pool_size:
        return (0, sum(float(e.get("cpu_time") or 0.0) for e in run.evals.values()))
    described = (run.header or {}).get("dataset") or ds.load_dataset(dataset, PROTOCOL["max_rows"], PROTOCOL["subsample_seed"]).describe()
    return (1, float(described["n_rows"] * max(described["n_features"], 1)))


def _space_plan(settings: BuildSettings, space: str) -> tuple[str, list[dict[str, Any]], list[str], list[int]]:
    """``(space, pool, dataset names, pool indices)`` of one space under ``settings``."""
    builtin = get_builtin_space(space)
    pool = frozen_pool(settings.runs_dir, space)
    names = [d for d in (settings.datasets or ds.dataset_names(builtin.task)) if ds.DATASETS[d].task == builtin.task]
    indices = list(range(len(pool)))
    if settings.sample is not None:
        names = [d for d in sample_datasets(builtin.task) if d in names]
        step = max(len(pool) // settings.sample, 1)
        indices = indices[::step][: settings.sample]
    return space, pool, names, indices


# Workers ---------------------------------------------------------------------------


def _worker_main(conn: Any) -> None:
    """Evaluate jobs sent over ``conn`` until ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    cache: dict[str, Any] = {}
    torch_threads_set = False
    while True:
        message = conn.recv()
        if message is None:
            return
        job: Job = message
        if job.space.startswith("torch_") and not torch_threads_set:
            torch.set_num_threads(1)
            torch_threads_set = True
        if job.dataset not in cache:
            cache.clear()  # one dataset at a time: the build walks datasets in order
            cache[job.dataset] = ds.load_dataset(job.dataset, PROTOCOL["max_rows"], PROTOCOL["subsample_seed"])
        conn.send(evaluate_config(job.space, cache[job.dataset], job.config, record_curves=job.curves))


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux); ``None`` elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _Worker:
    def __init__(self, context: Any) -> None:
        self._context = context
        self._start()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self.process = self._context.Process(target=_worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.job: Job | None = None

    def submit(self, job: Job) -> None:
        if not self.process.is_alive():
            self.restart()  # it died while idle: nothing was lost
        self.job = job
        self.started = time.monotonic()
        self.cpu_start = _cpu_seconds(self.process.pid) or 0.0
        try:
            self.conn.send(job)
        except (BrokenPipeError, ConnectionResetError):
            # It died between the check and the send; the result wait will see EOF and
            # retry the job like any other death.
            pass

    def cpu_used(self) -> float:
        now = _cpu_seconds(self.process.pid)
        return (now - self.cpu_start) if now is not None else time.monotonic() - self.started

    def restart(self) -> None:
        self.kill()
        self._start()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=5)
        self.kill()


# The build loop --------------------------------------------------------------------


def run_header(space: str, dataset: str) -> dict[str, Any]:
    """The header of a run file: what must match for runs to be resumed or combined."""
    builtin = get_builtin_space(space)
    data = ds.load_dataset(dataset, PROTOCOL["max_rows"], PROTOCOL["subsample_seed"])
    return {
        "space": space,
        "family": builtin.family,
        "space_json": builtin.space.to_json(),
        "protocol": PROTOCOL,
        "pool_size": POOL_SIZES[builtin.family],
        "metric": PROTOCOL["metrics"][builtin.task],
        "dataset": data.describe(),
    }


def open_run_file(runs_dir: Path, space: str, dataset: str) -> RunFile:
    """Open (creating or resuming) the run file of ``space`` on ``dataset``."""
    return RunFile(run_path(runs_dir, space, dataset), run_header(space, dataset))


def open_curve_file(runs_dir: Path, space: str, dataset: str) -> RunFile:
    """Open (creating or resuming) the learning-curve file of ``space`` on ``dataset``: a
    run file whose header also holds ``CURVE_FORMAT`` and whose lines hold ``curves``."""
    return RunFile(curve_path(runs_dir, space, dataset), {**run_header(space, dataset), "curves": CURVE_FORMAT})


class _RunFiles:
    """The run files the build is writing: opened (and locked) on first use, the few
    most recent kept open, older ones closed as the build moves on."""

    KEEP_OPEN = 8  # the workers are never more than a dataset or two apart

    def __init__(self, runs_dir: Path, curves: bool = False) -> None:
        self.runs_dir = runs_dir
        self._opener = open_curve_file if curves else open_run_file
        self._open: dict[tuple[str, str], RunFile] = {}

    def get(self, space: str, dataset: str) -> RunFile:
        key = (space, dataset)
        if key in self._open:
            self._open[key] = self._open.pop(key)  # most recently used last
        else:
            self._open[key] = self._opener(self.runs_dir, space, dataset)
            while len(self._open) > self.KEEP_OPEN:
                oldest = next(iter(self._open))
                self._open.pop(oldest).close()
        return self._open[key]

    def close(self) -> None:
        for run in self._open.values():
            run.close()
        self._open.clear()


def run_build(settings: BuildSettings, log: TextIO = sys.stdout) -> dict[str, int]:
    """Run (or resume) the build; returns counts of finished, failed and timed-out evaluations."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"  # inherited by the spawned workers before numpy loads
    context = mp.get_context("spawn")
    files = _RunFiles(Path(settings.runs_dir), curves=settings.curves)
    jobs = plan_curve_jobs(settings) if settings.curves else plan_jobs(settings)
    eval_limit = settings.fit_limit_s * PROTOCOL["cv_folds"]
    counts = {"done": 0, "failed": 0, "timeout": 0}
    workers = [_Worker(context) for _ in range(settings.jobs)]
    started = time.monotonic()
    last_report = started
    exhausted = False
    retry: list[Job] = []
    deaths: dict[tuple[str, str, int], int] = {}

    def finish(worker: _Worker, result: dict[str, Any]) -> None:
        job = worker.job
        assert job is not None
        run = files.get(job.space, job.dataset)
        run.record(job.index, job.config, result, finished_at=round(time.time(), 1))
        counts["done"] += 1
        if len(run.done) == run.header.get("pool_size"):
            print(f"complete: {job.space} {job.dataset} ({len(run.done)} evaluations)", file=log, flush=True)
        if result["error"]:
            counts["failed"] += 1
            print(f"failed: {job.space} {job.dataset} #{job.index}: {result['error'].splitlines()[-1]}", file=log, flush=True)
        worker.job = None

    # SIGTERM (kill, a session ending) stops the build like Ctrl-C; only the main thread may set it.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt) if in_main_thread else None
    try:
        while True:
            for worker in workers:
                if worker.job is None and not exhausted:
                    if settings.max_evals is not None and counts["done"] + _busy(workers) >= settings.max_evals:
                        exhausted = True
                        continue
                    job = retry.pop() if retry else next(jobs, None)
                    if job is None:
                        exhausted = True
                        continue
                    files.get(job.space, job.dataset)  # writes the header before any result
                    worker.submit(job)
            busy = [w for w in workers if w.job is not None]
            if not busy:
                break
            ready = wait([w.conn for w in busy], timeout=1.0)
            for worker in busy:
                if worker.conn in ready:
                    try:
                        finish(worker, worker.conn.recv())
                    except (EOFError, OSError):
                        # The worker died. Being killed from outside (the machine shutting the
                        # session down) must not mark a configuration as failed, so a job is
                        # retried once and recorded as failed only if it kills a worker twice.
                        code = worker.process.exitcode
                        job = worker.job
                        assert job is not None
                        if deaths.get(_key(job), 0) == 0:
                            deaths[_key(job)] = 1
                            retry.append(job)
                            worker.job = None
                            print(f"worker died (exit code {code}) on {job.space} {job.dataset} #{job.index}; retrying it once", file=log, flush=True)
                        else:
                            finish(worker, _failure(f"the worker process died twice (exit code {code}); out of memory?", worker))
                        worker.restart()
                elif (reason := _over_limit(worker, eval_limit)) is not None:
                    counts["timeout"] += 1
                    finish(worker, _failure(reason, worker))
                    worker.restart()
            if time.monotonic() - last_report > 300:
                last_report = time.monotonic()
                rate = counts["done"] / max(last_report - started, 1e-9) * 3600
                print(f"progress: {counts} ({rate:.0f} evaluations/hour)", file=log, flush=True)
    except KeyboardInterrupt:
        print("interrupted: running evaluations will be redone on resume", file=log, flush=True)
        raise
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous_handler)
        files.close()
        for worker in workers:
            # A busy worker's evaluation is lost either way (it is redone on resume).
            worker.kill() if worker.job is not None else worker.stop()
    print(f"build finished: {counts} in {time.monotonic() - started:.0f}s", file=log, flush=True)
    return counts


def _over_limit(worker: _Worker, eval_limit: float) -> str | None:
    """Why a busy worker must be stopped, or ``None`` while it is within its limits.

    CPU time decides: on a loaded machine (the build runs at nice 19) wall time says
    little about the configuration. The wall bound only catches a hung worker.
    """
    if worker.cpu_used() > eval_limit:
        return f"stopped: over the limit of {eval_limit:.0f} CPU-seconds per evaluation"
    if time.monotonic() - worker.started > _HUNG_FACTOR * eval_limit:
        return f"stopped: no result after {_HUNG_FACTOR * eval_limit:.0f} s of wall time (hung worker?)"
    return None


def _key(job: Job) -> tuple[str, str, int]:
    return (job.space, job.dataset, job.index)


def _busy(workers: Sequence[_Worker]) -> int:
    return sum(w.job is not None for w in workers)


def _failure(message: str, worker: _Worker) -> dict[str, Any]:
    return {
        "score": None,
        "fold_scores": [],
        "fit_time": round(time.monotonic() - worker.started, 4),
        "cpu_time": round(worker.cpu_used(), 4),
        "error": message,
    }


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
