"""LogEI or qLogNEI? The acquisition measured with the GP model held fixed.

    python benchmarks/bench_acquisition.py                 # 10 seeds (slow: run it in the background)
    python benchmarks/bench_acquisition.py --quick         # 3 seeds, shorter runs
    python benchmarks/bench_acquisition.py --out runs.jsonl --resume   # keep per-seed records, skip done ones

The model is the sampler's own GP (``jupyter_metahpo.samplers._gp``: Matern-5/2 ARD,
Hamming distance on categories, MAP hyperparameters), fitted cold at every step on
the unit-cube encoding with standardised scores, and exposed to BoTorch through
:class:`~jupyter_metahpo.samplers.botorch_model.GPModel` (its joint posterior, which qLogNEI needs). Every method sees
the same model on the same data, so only the acquisition (and, for batches, how the
batch is built) differs. Every run starts from the same scrambled Sobol design of
``default_n_initial(d)`` points for a given seed.

Two parts:

* ``seq``: one suggestion at a time, LogEI (analytic) against qLogNEI with q = 1
  (Monte-Carlo, BoTorch's default 512 QMC samples, baseline pruned); simple regret
  after 20 and 50 evaluations, seconds per suggestion.
* ``batch``: batches of q = 4: LogEI with the kriging believer (what
  ``GPSampler`` does: each chosen point is believed at its posterior mean, then
  the next one is chosen) against qLogNEI optimised by ``optimize_acqf(q=4)`` with
  ``sequential=True`` (greedy, earlier points as ``X_pending``) and
  ``sequential=False`` (the four points jointly); regret after 5 and 12 batches,
  seconds per batch.

Continuous problems (Branin, Hartmann6) use BoTorch's ``optimize_acqf`` for every
method (8 restarts, 1,024 raw samples, 100 L-BFGS-B iterations, as the sampler's own
search). The mixed problem needs valid integers and categories, so there every
method uses the sampler's own search (``optimize.maximize_acquisition``), qLogNEI
batches are built greedily with ``X_pending`` (what ``sequential=True`` does), and a
joint q = 4 search is not available.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from botorch.acquisition.analytic import LogExpectedImprovement
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.models.model import Model
from botorch.optim import optimize_acqf
from scipy.stats import qmc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _problems import PROBLEMS, Problem  # noqa: E402

from jupyter_metahpo.samplers._gp import ExactGP, fit_gp  # noqa: E402
from jupyter_metahpo.samplers.botorch_model import GPModel, TorchAcquisition  # noqa: E402
from jupyter_metahpo.samplers.gp import believe_pending  # noqa: E402
from jupyter_metahpo.samplers.models import standardize  # noqa: E402
from jupyter_metahpo.samplers.optimize import MixedDomain, maximize_acquisition  # noqa: E402
from jupyter_metahpo.samplers.default import default_n_initial  # noqa: E402

SEQ_CHECKPOINTS = (20, 50)
BATCH_Q = 4
BATCH_CHECKPOINTS = (5, 12)  # regret after this many batches (plus the initial design)
N_RESTARTS, N_RAW, MAXITER = 8, 1024, 100
LATENCY_N = (20, 50)  # history sizes of the latency part
LATENCY_REPEATS = 3

Clock = Callable[[], float]

SEQ_METHODS = ("LogEI", "qLogNEI(q=1)")
BATCH_METHODS = ("LogEI+KB", "qLogNEI seq=True", "qLogNEI seq=False")


#: Jitter on the joint covariance's diagonal, as the recorded runs had it.
JITTER = 1e-9


def _model(gp: ExactGP) -> GPModel:
    """The GP as a BoTorch model: its joint posterior, which qLogNEI samples."""
    return GPModel(gp, jitter=JITTER)


@dataclass(frozen=True)
class Search:
    """Settings of every acquisition search (the same for all methods)."""

    raw: int = N_RAW
    restarts: int = N_RESTARTS
    maxiter: int = MAXITER


@dataclass
class Run:
    """What one method did on one problem for one seed."""

    values: list[float]  # objective values in evaluation order (initial design first)
    seconds: list[float]  # per suggestion (seq) or per batch (batch): model fit + acquisition
    acq_seconds: list[float]  # the acquisition part alone


class Tracker:
    """The evaluations so far, in the unit cube, and the model fitted on them."""

    def __init__(self, problem: Problem, seed: int, search: Search) -> None:
        self.problem = problem
        self.search = search
        self.space = problem.space
        self.domain = MixedDomain.from_space(problem.space)
        self.continuous = not len(self.domain.discrete)
        n_init = default_n_initial(len(self.space))
        unit = qmc.Sobol(d=len(self.space), scramble=True, seed=seed).random(n_init)
        self.configs: list[dict[str, Any]] = []
        self.values: list[float] = []
        self.rng = np.random.default_rng(seed)
        self.evaluate([dict(c) for c in self.space.decode(unit)])

    def evaluate(self, configs: list[dict[str, Any]]) -> None:
        for config in configs:
            self.configs.append(config)
            self.values.append(float(self.problem.objective(**config)))

    def fit(self) -> tuple[ExactGP, np.ndarray]:
        X = self.space.encode(self.configs)
        # Scores are "higher is better" and standardised, as in GPSampler.
        y, _, _ = standardize(-np.asarray(self.values))
        return fit_gp(X, y, self.domain.categorical), y

    def seen(self) -> set[tuple]:
        return {_key(self.space, c) for c in self.configs}


def _key(space: Any, config: dict[str, Any]) -> tuple:
    return tuple(repr(config[n]) for n in space.names)


def _bounds(d: int) -> torch.Tensor:
    return torch.stack([torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)])


def _best_q1(tracker: Tracker, gp: ExactGP, y: np.ndarray, acqf: Any, seen: set[tuple]) -> dict[str, Any]:
    """The maximiser of a q = 1 acquisition: ``optimize_acqf`` on continuous spaces,
    the sampler's mixed search otherwise (skipping configurations already taken)."""
    space = tracker.space
    if tracker.continuous:
        x, _ = optimize_acqf(acqf, _bounds(len(space)), q=1, num_restarts=tracker.search.restarts,
                             raw_samples=tracker.search.raw, options={"maxiter": tracker.search.maxiter})
        return space.decode(x.detach().numpy())[0]
    anchors = gp.X.numpy()[np.argsort(-y)[:5]]
    candidates, _ = maximize_acquisition(
        TorchAcquisition(lambda x: acqf(x.unsqueeze(-2))), tracker.domain, tracker.rng, gp.lengthscales, anchors,
        n_raw=tracker.search.raw, n_starts=tracker.search.restarts, maxiter=tracker.search.maxiter,
    )
    for x in candidates:
        config = space.decode(x[None, :])[0]
        if _key(space, config) not in seen:
            return config
    return space.decode(candidates[:1])[0]


def _qlognei(model: Model, X_baseline: torch.Tensor) -> qLogNoisyExpectedImprovement:
    # cache_root needs a gpytorch model; without it the joint posterior is recomputed.
    return qLogNoisyExpectedImprovement(model, X_baseline=X_baseline, cache_root=False, prune_baseline=True)


def suggest_seq(method: str, tracker: Tracker, clock: Clock = time.perf_counter) -> tuple[dict[str, Any], float]:
    """One configuration, and the ``clock`` seconds its acquisition took (after the fit)."""
    gp, y = tracker.fit()
    began = clock()
    model = _model(gp)
    if method == "LogEI":
        acqf = LogExpectedImprovement(model, best_f=float(y.max()))
    elif method == "qLogNEI(q=1)":
        acqf = _qlognei(model, gp.X)
    else:
        raise ValueError(f"unknown sequential method {method!r}; choose from {SEQ_METHODS}")
    config = _best_q1(tracker, gp, y, acqf, tracker.seen())
    return config, clock() - began


def suggest_batch(
    method: str, tracker: Tracker, q: int, clock: Clock = time.perf_counter
) -> tuple[list[dict[str, Any]], float]:
    """A batch of ``q`` configurations, and the ``clock`` seconds its acquisition took."""
    gp, y = tracker.fit()
    began = clock()
    space = tracker.space
    seen = tracker.seen()
    batch: list[dict[str, Any]] = []
    if method == "LogEI+KB":
        for _ in range(q):
            model, best_f = believe_pending(gp, space.encode(batch), y)  # the kriging believer, as the sampler does it
            config = _best_q1(tracker, gp, y, LogExpectedImprovement(_model(model), best_f=best_f), seen)
            batch.append(config)
            seen.add(_key(space, config))
    elif method.startswith("qLogNEI"):
        acqf = _qlognei(_model(gp), gp.X)
        sequential = method == "qLogNEI seq=True"
        if tracker.continuous:
            X, _ = optimize_acqf(acqf, _bounds(len(space)), q=q, num_restarts=tracker.search.restarts,
                                 raw_samples=tracker.search.raw, sequential=sequential,
                                 options={"maxiter": tracker.search.maxiter})
            batch = space.decode(X.detach().numpy())
        elif sequential:
            for _ in range(q):
                # What optimize_acqf(sequential=True) does: earlier points become X_pending.
                acqf.set_X_pending(torch.from_numpy(space.encode(batch)) if batch else None)
                config = _best_q1(tracker, gp, y, acqf, seen)
                batch.append(config)
                seen.add(_key(space, config))
        else:
            raise ValueError("a joint q-batch search needs a continuous space")
    else:
        raise ValueError(f"unknown batch method {method!r}; choose from {BATCH_METHODS}")
    return [dict(c) for c in batch], clock() - began


def run_seq(problem: Problem, method: str, seed: int, budget: int, search: Search = Search()) -> Run:
    torch.manual_seed(seed)
    tracker = Tracker(problem, seed, search)
    seconds, acq = [], []
    while len(tracker.values) < budget:
        began = time.perf_counter()
        config, acq_s = suggest_seq(method, tracker)
        seconds.append(time.perf_counter() - began)
        acq.append(acq_s)
        tracker.evaluate([config])
    return Run(tracker.values, seconds, acq)


def run_batch(problem: Problem, method: str, seed: int, n_batches: int, search: Search = Search(),
              q: int = BATCH_Q) -> Run:
    torch.manual_seed(seed)
    tracker = Tracker(problem, seed, search)
    seconds, acq = [], []
    for _ in range(n_batches):
        began = time.perf_counter()
        batch, acq_s = suggest_batch(method, tracker, q)
        seconds.append(time.perf_counter() - began)
        acq.append(acq_s)
        tracker.evaluate(batch)
    return Run(tracker.values, seconds, acq)


def latency(problem: Problem, n: int, repeats: int, search: Search) -> dict[str, tuple[float, float]]:
    """Median CPU seconds of one suggestion (q = 1 methods) or one batch (q = 4 methods),
    total and acquisition part, on a fixed history of ``n`` evaluations.

    CPU time of this process, not wall time: torch runs on one thread, so on an idle
    machine the two agree, while on a loaded one only CPU time stays comparable."""
    out: dict[str, tuple[float, float]] = {}
    for method in SEQ_METHODS + BATCH_METHODS:
        if method == "qLogNEI seq=False" and len(MixedDomain.from_space(problem.space).discrete):
            continue
        totals, acqs = [], []
        for repeat in range(repeats):
            torch.manual_seed(repeat)
            tracker = Tracker(problem, 0, search)
            rng = np.random.default_rng(1000 + n)
            extra = max(n - len(tracker.values), 0)
            tracker.evaluate([dict(c) for c in problem.space.decode(rng.random((extra, len(problem.space))))])
            began = time.process_time()
            if method in SEQ_METHODS:
                _, acq = suggest_seq(method, tracker, time.process_time)
            else:
                _, acq = suggest_batch(method, tracker, BATCH_Q, time.process_time)
            totals.append(time.process_time() - began)
            acqs.append(acq)
        out[method] = (float(np.median(totals)), float(np.median(acqs)))
    return out


def _read(path: Path | None) -> list[dict[str, Any]]:
    """The runs recorded in ``path``, the first one of each (problem, part, method, seed)."""
    if path is None or not path.exists():
        return []
    out: dict[tuple, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            out.setdefault((r["problem"], r["part"], r["method"], r["seed"]), r)
    return list(out.values())


# Tables -------------------------------------------------------------------------------------
def _cell(values: list[float]) -> str:
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{med:.2e} [{q1:.1e}, {q3:.1e}]"


def _regret_after(problem: Problem, values: list[float], n: int) -> float:
    return problem.regret(min(values[:n]))


def table(records: list[dict[str, Any]], part: str, checkpoints: tuple[int, int]) -> list[str]:
    """Rows of medians [quartiles] over seeds, one per (problem, method).

    Only seeds that every method of a problem finished are counted, so the rows of
    one problem always compare the same seeds (a stopped run may have finished a seed
    for some methods only)."""
    labels = [f"regret@{c}" if part == "seq" else f"regret@{c} batches" for c in checkpoints]
    unit = "s/suggestion" if part == "seq" else "s/batch"
    header = f"{'problem':<10} {'method':<18} {'seeds':>5} " + " ".join(f"{lab:>28}" for lab in labels)
    header += f" {unit + ' total':>18} {'acq part':>9}"
    lines = [header, "-" * len(header)]
    groups: dict[str, dict[str, dict[int, dict[str, Any]]]] = {}
    for r in records:
        if r["part"] == part:
            groups.setdefault(r["problem"], {}).setdefault(r["method"], {})[r["seed"]] = r
    for name, by_method in groups.items():
        problem = PROBLEMS[name]
        n_init = default_n_initial(len(problem.space))
        common = sorted(set.intersection(*(set(by_seed) for by_seed in by_method.values())))
        for method, by_seed in by_method.items():
            rs = [by_seed[s] for s in common]
            if not rs:
                continue
            cells = []
            for c in checkpoints:
                n = c if part == "seq" else n_init + BATCH_Q * c
                cells.append(_cell([_regret_after(problem, r["values"], n) for r in rs]))
            total = np.median([np.median(r["seconds"]) for r in rs])
            acq = np.median([np.median(r["acq_seconds"]) for r in rs])
            lines.append(f"{name:<10} {method:<18} {len(rs):>5} " + " ".join(f"{c:>28}" for c in cells)
                         + f" {total:>18.3f} {acq:>9.3f}")
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 seeds, 30 evaluations, 6 batches")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 10, quick 3)")
    parser.add_argument("--problems", nargs="*", default=["branin", "hartmann6", "mixed"], choices=list(PROBLEMS))
    parser.add_argument("--parts", nargs="*", default=["seq", "batch"], choices=["seq", "batch", "latency"],
                        help="seq, batch (regret runs) and latency (CPU seconds on fixed histories)")
    parser.add_argument("--methods", nargs="*", default=None,
                        help=f"a subset of {SEQ_METHODS + BATCH_METHODS} (default all)")
    parser.add_argument("--budget", type=int, default=None, help="evaluations of the seq part (default 50)")
    parser.add_argument("--batches", type=int, default=None, help="batches of the batch part (default 12)")
    parser.add_argument("--raw-samples", type=int, default=N_RAW, help="raw points of every acquisition search")
    parser.add_argument("--restarts", type=int, default=N_RESTARTS, help="local searches of every acquisition search")
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per finished run")
    parser.add_argument("--resume", action="store_true", help="reuse the runs already in --out")
    parser.add_argument("--seed-list", type=int, nargs="*", default=None,
                        help="run these seeds, in this order (instead of 0..N-1)")
    parser.add_argument("--table-only", action="store_true", help="print the table of the runs in --out, run nothing")
    args = parser.parse_args(argv)
    n_seeds = args.seeds or (3 if args.quick else 10)
    budget = args.budget or (30 if args.quick else max(SEQ_CHECKPOINTS))
    n_batches = args.batches or (6 if args.quick else max(BATCH_CHECKPOINTS))
    if (args.resume or args.table_only) and args.out is None:
        parser.error("--resume and --table-only need --out FILE: the runs are read from it")
    if args.table_only and not args.out.exists():
        # The runs files are not kept in git (benchmarks/README.md): a table needs them made first.
        parser.error(f"--table-only reads the runs in {args.out}, which does not exist; make it by running the "
                     f"same command without --table-only (it appends every finished run to --out)")
    if args.raw_samples < args.restarts or args.restarts < 1:
        parser.error(f"need 1 <= --restarts <= --raw-samples, but got --restarts {args.restarts} "
                     f"--raw-samples {args.raw_samples}")
    search = Search(args.raw_samples, args.restarts)
    # One thread, as GPSampler runs: on a shared 2-core machine two were far slower.
    # The caller's setting and warning filters are restored afterwards (tests call main()).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _run(args, n_seeds, budget, n_batches, search)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace, n_seeds: int, budget: int, n_batches: int, search: Search) -> list[str]:
    seeds = args.seed_list if args.seed_list is not None else list(range(n_seeds))
    units = [(name, part, method)
             for part in args.parts if part != "latency"
             for name in args.problems
             for method in (SEQ_METHODS if part == "seq" else BATCH_METHODS)
             if (args.methods is None or method in args.methods)
             # no joint q-batch search over integers and categories
             and not (method == "qLogNEI seq=False" and len(MixedDomain.from_space(PROBLEMS[name].space).discrete))]
    records = _read(args.out) if args.resume else []
    # Seed by seed: a run stopped early still has every method on the same seeds.
    for seed in ([] if args.table_only else seeds):
        for name, part, method in units:
            if args.resume:
                # Re-read each time: a second process may share the file.
                records = _read(args.out)
            if any((r["problem"], r["part"], r["method"], r["seed"]) == (name, part, method, seed) for r in records):
                continue
            problem = PROBLEMS[name]
            run = (run_seq(problem, method, seed, budget, search) if part == "seq"
                   else run_batch(problem, method, seed, n_batches, search))
            record = {"problem": name, "part": part, "method": method, "seed": seed,
                      "values": run.values, "seconds": run.seconds, "acq_seconds": run.acq_seconds}
            records.append(record)
            if args.out is not None:
                with args.out.open("a") as f:
                    f.write(json.dumps(record) + "\n")
            print(f"# {name} {part} {method} seed {seed}: best {min(run.values):.4g}, "
                  f"median {np.median(run.seconds):.2f} s", file=sys.stderr, flush=True)
    if args.table_only:
        records = _read(args.out)
    wanted = {(n, p, m) for n, p, m in units}
    records = [r for r in records if (r["problem"], r["part"], r["method"]) in wanted]
    n_seeds = len({r["seed"] for r in records})
    lines = [f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, torch threads 1, model: the sampler's GP "
             f"(cold MAP fit each step); runs of {n_seeds} seeds recorded, each row counts the seeds that every "
             "method of its problem finished"]
    if "seq" in args.parts:
        lines += ["", "(a) one suggestion at a time: simple regret median [25%, 75%] over seeds; "
                      "median seconds per suggestion (GP fit + acquisition) and the acquisition part"]
        lines += table(records, "seq", (min(SEQ_CHECKPOINTS[0], budget), budget))
    if "batch" in args.parts:
        lines += ["", f"(b) batches of q={BATCH_Q}: simple regret after k batches (plus the initial design); "
                      "median seconds per batch (GP fit + acquisition) and the acquisition part"]
        lines += table(records, "batch", (min(BATCH_CHECKPOINTS[0], n_batches), n_batches))
    if "latency" in args.parts and not args.table_only:
        lines += ["", f"(c) CPU seconds on a fixed history of n evaluations (Sobol design + uniform points), median of "
                      f"{LATENCY_REPEATS}: one suggestion (q=1 methods) or one batch of {BATCH_Q}; total (fit + acquisition) / acquisition"]
        header = f"{'problem':<10} {'n':>4} " + " ".join(f"{m:>20}" for m in SEQ_METHODS + BATCH_METHODS)
        lines += [header, "-" * len(header)]
        for name in args.problems:
            for n in LATENCY_N:
                cells = latency(PROBLEMS[name], n, LATENCY_REPEATS, search)
                lines.append(f"{name:<10} {n:>4} " + " ".join(
                    f"{(f'{cells[m][0]:.2f} / {cells[m][1]:.2f}' if m in cells else 'n/a'):>20}"
                    for m in SEQ_METHODS + BATCH_METHODS))
                print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    main()
