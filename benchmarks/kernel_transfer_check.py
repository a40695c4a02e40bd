"""Does the RBF prior help an SVM cell that fixes another kernel? Warm start against cold start, live fits.

    python benchmarks/kernel_transfer_check.py --kernel poly
    python benchmarks/kernel_transfer_check.py --kernel rbf --datasets rd_ggplot2_diamonds wd_wage1

A cell ``make_pipeline(preprocessing, SVC(kernel=K, C=C, gamma=gamma))`` (``SVR`` on the
regression datasets) tuned by ``tune(train, space, data=(X, y))`` for 10 trials, with the
default strategy (the bundled prior, which ran only RBF kernels) and with
``strategy="none"``, on the six datasets of ``bench_live.py`` that the prior never saw.
It prints the best score per dataset, mean over seeds, and whether each study was warm.

Since the kernel rule (``source._MODEL_SETTINGS``) a cell that fixes another kernel is
never warmed from the RBF prior, so on this code its two rows agree; run in a checkout
from before the rule (0b1b369) it measures what the warm start from the RBF prior did.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402
from benchmarks._live_runs import cv_protocol, preprocessing  # noqa: E402
from benchmarks._loo.user_live import run_cell  # noqa: E402

CELL = '''
def train(C, gamma):
    model = make_pipeline(preprocessing, {model}(kernel={kernel!r}, C=C, gamma=gamma, max_iter=200000))
    return cross_val_score(model, X, y, cv=cv, scoring=scoring).mean()
'''


def cell_objective(kernel: str, dataset, tag: str):
    """The cell's ``train``, its source registered as a notebook cell's (``tune`` reads it)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC, SVR

    cv, scoring = cv_protocol(dataset)
    model = "SVC" if dataset.task == "classification" else "SVR"
    namespace = {
        "__name__": "__main__", "make_pipeline": make_pipeline, "preprocessing": preprocessing(dataset),
        "SVC": SVC, "SVR": SVR, "cross_val_score": cross_val_score,
        "X": dataset.X, "y": dataset.y, "cv": cv, "scoring": scoring,
    }
    return run_cell(CELL.format(model=model, kernel=kernel), f"<kernel-cell {tag}>", namespace)["train"]


def main(argv: list[str] | None = None) -> int:
    from jupyter_metahpo import loguniform, tune

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", default="poly", choices=("poly", "linear", "sigmoid", "rbf"))
    parser.add_argument("--datasets", nargs="+", choices=sorted(LIVE_DATASETS), default=list(LIVE_DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args(argv)
    space = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1e1)}
    print(f"| dataset | warm start: best (mean over seeds {args.seeds}) | cold start | warm studies |")
    print("|---|---|---|---|")
    for name in args.datasets:
        dataset = load_live_dataset(name)
        train = cell_objective(args.kernel, dataset, name)
        bests: dict[str, list[float]] = {"default": [], "none": []}
        warm = 0
        for strategy in bests:
            for seed in args.seeds:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = tune(train, space, n_trials=args.trials, direction="maximize", seed=seed, store=False,
                                  data=(dataset.X, dataset.y), strategy=strategy, progress=False)
                bests[strategy].append(result.best_value)
                warm += strategy == "default" and result.warm_start is not None and not result.warm_start.is_cold
        print(f"| {name} | {np.mean(bests['default']):.3f} | {np.mean(bests['none']):.3f} | "
              f"{warm} of {len(args.seeds)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
