"""Live benchmark runs kept as JSON, and their regret tables (``bench_search_cv.py``, ``bench_helper_cells.py``,
``bench_optuna_style.py``, ``bench_one_shared.py``); the cross-validation, preprocessing and data those scripts'
cells share (``native_categories`` for boosted trees, ``torch_split`` for a torch loop's hold-out), and how a run
is recorded (``recorded_run``) and reported (``write_report``; ``add_run_options`` and ``report_live_runs`` are the
options and the ending the cell scripts share).

A run is a dict: ``method``, ``dataset``, ``estimator`` (the pipeline or cell), ``seed``,
``values`` (each candidate's score, NaN for a failure), ``seconds`` (its wall clock).
Regret is normalised per (dataset, estimator) between the best and the worst score any
run found there, so it is relative, as in ``bench_live.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: Where the live cells' regret is reported: after the first trial, and after 3, 5 and 10.
CHECKPOINTS = (1, 3, 5, 10)

Run = dict[str, Any]


def cv_protocol(dataset) -> tuple[Any, str]:
    """3 shuffled folds (stratified for classification; some datasets come sorted by their target) and the
    score: balanced accuracy or R^2."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if dataset.task == "classification":
        return StratifiedKFold(3, shuffle=True, random_state=0), "balanced_accuracy"
    return KFold(3, shuffle=True, random_state=0), "r2"


def preprocessing(dataset, dense: bool = False) -> Any:
    """What a user puts before the model: the categorical columns one-hot encoded, the others scaled."""
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=not dense), list(dataset.categorical_columns)),
        (StandardScaler(), list(dataset.numeric_columns)),
    )


def native_categories(dataset) -> Any:
    """The dataset's features with the text columns as pandas categories, which boosted trees split on natively."""
    X = dataset.X.copy()
    X[list(dataset.categorical_columns)] = X[list(dataset.categorical_columns)].astype("category")
    return X


def torch_split(dataset) -> dict[str, Any]:
    """A fixed 25% hold-out as float tensors (``X_train``, ``X_valid``, ``y_train``, ``y_valid``) and ``n_outputs``:
    class indices for classification, the standardised target (as the prior's torch MLP regressor trains) else."""
    import torch
    from sklearn.model_selection import train_test_split

    classification = dataset.task == "classification"
    prepare = preprocessing(dataset, dense=True)
    if classification:
        target = np.unique(dataset.y, return_inverse=True)[1]
    else:
        target = np.asarray(dataset.y, dtype="float32")
        target = ((target - target.mean()) / target.std()).reshape(-1, 1)
    X_train, X_valid, y_train, y_valid = train_test_split(
        dataset.X, target, test_size=0.25, stratify=target if classification else None, random_state=0)
    return {
        "X_train": torch.tensor(prepare.fit_transform(X_train), dtype=torch.float32),
        "X_valid": torch.tensor(prepare.transform(X_valid), dtype=torch.float32),
        "y_train": torch.tensor(y_train), "y_valid": torch.tensor(y_valid),
        "n_outputs": int(target.max()) + 1 if classification else 1,
    }


def recorded_run(runs: list[Run], method: str, dataset: str, estimator: str, seed: int, values: list[float],
                 began: float, warm: bool) -> None:
    """Append one study's run (its wall seconds since ``began``, ``time.perf_counter``) and print a line on it."""
    seconds = time.perf_counter() - began
    runs.append({"method": method, "dataset": dataset, "estimator": estimator, "seed": seed, "values": values,
                 "seconds": seconds, "warm": warm})
    print(f"{dataset} {estimator} {method} seed {seed}: best {np.nanmax(values):.4f} "
          f"({'warm' if warm else 'cold'}, {seconds:.0f} s)", flush=True)


def tuned_values(objective: Callable[..., Any], space: Any, dataset, trials: int, seed: int,
                 strategy: str) -> tuple[list[float], bool]:
    """``tune`` on the held-out ``dataset`` (its meta-features described, nothing stored; ``space`` None: read from
    the objective): each trial's value, and whether the study started warm."""
    from jupyter_metahpo import tune

    result = tune(objective, space, n_trials=trials, direction="maximize", seed=seed, store=False,
                  data=(dataset.X, dataset.y), strategy=strategy, progress=False)
    return study_values(result.trials), result.warm_start is not None and not result.warm_start.is_cold


def optuna_values(objective: Callable[..., Any], seed: int, trials: int, sampler: str = "tpe") -> list[float]:
    """Optuna maximising ``objective`` (a function of Optuna's ``trial``) with its TPE (its default) or random
    sampler, a failing trial kept as a failure: each trial's value."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen = optuna.samplers.TPESampler(seed=seed) if sampler == "tpe" else optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=chosen)
    study.optimize(objective, n_trials=trials, catch=(Exception,))
    return study_values(study.trials)


def study_values(trials) -> list[float]:
    """Each trial's value, NaN for one without (failed)."""
    return [float("nan") if t.value is None else float(t.value) for t in trials]


def write_report(path: Path, title: str, command: str, settings: str, provenance: list[str], runs: list[Run],
                 trials: int, checkpoints: list[int], reference: str, pairing: str) -> None:
    """The runs' regret tables under a header: the title, the command, the settings line, what was merged, how
    many studies of each method started warm, and how regret is normalised and what runs are paired with."""
    warm = {m: sum(r["warm"] for r in runs if r["method"] == m) for m in dict.fromkeys(r["method"] for r in runs)}
    header = [
        f"# {title}", "",
        f"Command: `{command}`  ",
        f"{settings}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.  ",
        *provenance,
        "Warm studies per method: " + ", ".join(f"{m} {n}" for m, n in warm.items()) + ".  ",
        "Regret (mean ± standard error over runs) is normalised per (dataset, cell) between the best and worst "
        f"score any run found there; the lower / higher columns pair runs with {pairing}.",
    ]
    write_tables(path, header, runs, regret_curves(runs, trials), [c for c in checkpoints if c <= trials], reference)


def add_run_options(parser: argparse.ArgumentParser, out: str, label: str) -> None:
    """The options the live-cell scripts share, after their own: seeds, trials, ``--label`` (what the rows of a
    second checkout's run are called; ``label`` is its help), ``--merge``, ``--out`` (default ``out``) and
    ``--table-only``."""
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--label", help=label)
    parser.add_argument("--merge", nargs="*", default=[], help="JSON files of other runs to add to the table")
    parser.add_argument("--out", default=out, help="results/<out>.md and .json")
    parser.add_argument("--table-only", action="store_true", help="write the table from results/<out>.json's runs")


def report_live_runs(args: argparse.Namespace, run: Callable[[argparse.Namespace], list[Run]], *, command: str,
                     title: str, settings: str, reference: str, pairing: str) -> None:
    """The runs of a script with :func:`add_run_options`: new (``run(args)``) or saved, with the ``--merge`` files'
    added, written to ``results/<out>.md`` under ``title`` (``reference`` the method the others are paired with)."""
    runs = saved_or_new_runs(RESULTS / f"{args.out}.json", args.table_only, lambda: run(args))
    runs, provenance = with_merged_runs(runs, args.merge)
    write_report(RESULTS / f"{args.out}.md", title, command, settings, provenance, runs, args.trials, CHECKPOINTS,
                 reference, pairing)


def saved_or_new_runs(path: Path, table_only: bool, run: Callable[[], list[Run]]) -> list[Run]:
    """The runs saved at ``path`` (``table_only``), or new ones, saved there."""
    if table_only:
        return json.loads(path.read_text())
    runs = run()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs))
    return runs


def with_merged_runs(runs: list[Run], paths: list[str]) -> tuple[list[Run], list[str]]:
    """``runs`` and the runs of other files (a second checkout's) on the same (dataset, estimator, seed), and a
    line per file saying what it added."""
    keys = {(r["dataset"], r["estimator"], r["seed"]) for r in runs}
    merged, provenance = list(runs), []
    for path in paths:
        added = [r for r in json.loads(Path(path).read_text()) if (r["dataset"], r["estimator"], r["seed"]) in keys]
        merged += added
        labels = ", ".join(dict.fromkeys(r["method"] for r in added))
        provenance.append(f"Merged from `{path}`: {len(added)} runs of {labels}.  ")
    return merged, provenance


def regret_curves(runs: list[Run], budget: int) -> list[list[float]]:
    """Each run's normalised regret after each candidate, between the best and worst score any run found on its
    (dataset, estimator)."""
    scores: dict[tuple[str, str], list[float]] = {}
    for run in runs:
        scores.setdefault((run["dataset"], run["estimator"]), []).extend(v for v in run["values"] if np.isfinite(v))
    out = []
    for run in runs:
        found = scores[(run["dataset"], run["estimator"])]
        best, worst = max(found), min(found)
        incumbent, curve = -np.inf, []
        for value in run["values"][:budget]:
            if np.isfinite(value):
                incumbent = max(incumbent, value)
            curve.append(1.0 if not np.isfinite(incumbent) else float((best - incumbent) / max(best - worst, 1e-12)))
        out.append(curve + [curve[-1]] * (budget - len(curve)))
    return out


def regret_table(runs: list[Run], curves: list[list[float]], checkpoints: list[int], reference: str) -> str:
    """Mean regret (± standard error over runs) at each checkpoint; how often each method is below ``reference``
    on the same (dataset, estimator, seed); the median wall seconds of a run."""
    methods = list(dict.fromkeys(run["method"] for run in runs))
    at = {m: {c: [] for c in checkpoints} for m in methods}
    by_key: dict[tuple[str, Any], dict[int, float]] = {}
    for run, curve in zip(runs, curves):
        key = (run["dataset"], run["estimator"], run["seed"])
        for c in checkpoints:
            at[run["method"]][c].append(curve[c - 1])
            by_key.setdefault((run["method"], key), {})[c] = curve[c - 1]
    head = ["method", "runs", *(f"regret@{c}" for c in checkpoints)]
    head += [f"lower / higher than {reference} at {c}" for c in checkpoints[-2:]] + ["wall s per search (median)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in methods:
        cells = [method, str(len(at[method][checkpoints[0]]))]
        for c in checkpoints:
            values = np.array(at[method][c])
            error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():.3f} ± {error:.3f}")
        for c in checkpoints[-2:]:
            pairs = [(v[c], by_key[(reference, key)][c]) for (m, key), v in by_key.items()
                     if m == method and (reference, key) in by_key]
            lower = sum(a < b - 1e-12 for a, b in pairs)
            higher = sum(a > b + 1e-12 for a, b in pairs)
            cells.append("-" if method == reference else f"{lower} / {higher}")
        walls = [run["seconds"] for run in runs if run["method"] == method and "seconds" in run]
        cells.append(f"{np.median(walls):.1f}" if walls else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_tables(path: Path, header: list[str], runs: list[Run], curves: list[list[float]], checkpoints: list[int],
                 reference: str) -> None:
    """``header``, the table of every run, then one per estimator; printed and written to ``path``."""
    lines = [*header, "", regret_table(runs, curves, checkpoints, reference), ""]
    for estimator in dict.fromkeys(r["estimator"] for r in runs):
        rows = [(r, c) for r, c in zip(runs, curves) if r["estimator"] == estimator]
        lines += [f"{estimator}:", "", regret_table([r for r, _ in rows], [c for _, c in rows], checkpoints,
                                                    reference), ""]
    text = "\n".join(lines)
    print(text)
    path.write_text(text)
    print(f"saved {path}")
