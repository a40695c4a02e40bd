"""Cells whose model is built in a helper or a class of another cell: the warm start, live fits.

    python benchmarks/bench_helper_cells.py                      # 6 held-out datasets, 2 cells, 5 seeds
    python benchmarks/bench_helper_cells.py --cells torch --seeds 0

Notebook users factor their code. Two cells as they write them, each defined from text
registered as a notebook cell's (so ``tune`` reads its source as it reads a cell's), the
helpers in a cell of their own:

- ``torch``: ``class Net(nn.Module)`` (width, depth, dropout) and ``fit(model, lr, wd)`` (AdamW,
  20 epochs of batches of 64) in one cell; the objective ``fit(Net(n_in, hidden, layers,
  dropout, n_out), lr, weight_decay)`` in another; balanced accuracy (R^2 of the standardised
  target, for regression) on a fixed 25% hold-out;
- ``hgb``: ``def build(lr, leaves, leaf, l2)`` returning a ``HistGradientBoostingClassifier`` (or
  ``...Regressor``); the objective ``cross_val_score(build(...), X, y, cv=folds)`` (3 shuffled folds:
  some of the datasets come sorted by their target), balanced accuracy or R^2.

Each is tuned with ``tune(train, space, data=(X, y))`` (the bundled prior as the past) and
with ``strategy="none"`` (its cold start), 10 trials, on the six datasets of ``bench_live.py``,
which the prior never saw; ``--label`` names the default run's rows when a
second checkout (the previous code's) runs it, ``--merge`` adds such runs and ``--table-only``
writes the table again from the saved runs (``results/<out>.json``). Regret is
normalised per (dataset, cell) between the best and the worst score any run found there.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402
from benchmarks._live_runs import (  # noqa: E402
    add_run_options,
    cv_protocol,
    native_categories,
    recorded_run,
    report_live_runs,
    torch_split,
    tuned_values,
)
from benchmarks._loo.user_live import run_cell  # noqa: E402

DATASETS = tuple(LIVE_DATASETS)  # held out of the prior

TORCH_HELPERS = '''
import numpy as np
import torch
from torch import nn
from sklearn.metrics import {metric}


class Net(nn.Module):
    def __init__(self, n_in, width, n_layers, p, n_out):
        super().__init__()
        layers, size = [], n_in
        for _ in range(n_layers):
            layers += [nn.Linear(size, width), nn.ReLU(), nn.Dropout(p)]
            size = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(size, n_out)

    def forward(self, x):
        return self.head(self.body(x))


def fit(model, lr, wd):
    torch.manual_seed(0)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    for epoch in range(20):
        model.train()
        order = torch.randperm(len(X_train))
        for start in range(0, len(X_train), 64):
            batch = order[start:start + 64]
            optimiser.zero_grad()
            loss = nn.functional.{loss}(model(X_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(X_valid){predict}.numpy()
    return {metric}(y_valid.numpy(), predicted)
'''

TORCH_CELL = '''
def train(lr, hidden, layers, dropout, weight_decay):
    torch.manual_seed(1)
    return fit(Net(X_train.shape[1], hidden, layers, dropout, n_outputs), lr, weight_decay)
'''

HGB_HELPERS = '''
from sklearn.ensemble import {model}
from sklearn.model_selection import cross_val_score


def build(lr, leaves, leaf, l2):
    return {model}(learning_rate=lr, max_leaf_nodes=leaves, min_samples_leaf=leaf, l2_regularization=l2,
                   random_state=0)
'''

HGB_CELL = '''
def train(lr, leaves, leaf, l2):
    return cross_val_score(build(lr, leaves, leaf, l2), X, y, cv=folds, scoring="{metric}").mean()
'''


def spaces() -> dict[str, Any]:
    from jupyter_metahpo import intrange, loguniform, uniform

    return {
        "torch": {"lr": loguniform(1e-4, 3e-2), "hidden": intrange(16, 256, log=True), "layers": intrange(1, 3),
                  "dropout": uniform(0.0, 0.5), "weight_decay": loguniform(1e-6, 1e-2)},
        "hgb": {"lr": loguniform(0.01, 0.5), "leaves": intrange(4, 128, log=True),
                "leaf": intrange(2, 100, log=True), "l2": loguniform(1e-6, 10.0)},
    }


def cell_objective(cell: str, dataset) -> Any:
    """The cell's ``train``, its helpers defined in a cell before it, in one notebook namespace."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    classification = dataset.task == "classification"
    if cell == "torch":
        namespace.update(torch_split(dataset))
        helpers = TORCH_HELPERS.format(
            metric="balanced_accuracy_score" if classification else "r2_score",
            loss="cross_entropy" if classification else "mse_loss",
            predict=".argmax(1)" if classification else "",
        )
        run_cell(helpers, f"<helper-cell torch {dataset.name}>", namespace)
        run_cell(TORCH_CELL, f"<cell torch {dataset.name}>", namespace)
    else:
        # shuffled folds: some datasets come sorted
        namespace.update(X=native_categories(dataset), y=dataset.y, folds=cv_protocol(dataset)[0])
        model = "HistGradientBoostingClassifier" if classification else "HistGradientBoostingRegressor"
        run_cell(HGB_HELPERS.format(model=model), f"<helper-cell hgb {dataset.name}>", namespace)
        metric = "balanced_accuracy" if classification else "r2"
        run_cell(HGB_CELL.format(metric=metric), f"<cell hgb {dataset.name}>", namespace)
    return namespace["train"]


def run_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (dataset, cell, method, seed) study: its trials' values, its wall seconds, whether it started warm."""
    strategies = {args.label: "default"} if args.label else {"ours": "default", "ours: cold": "none"}
    runs: list[dict[str, Any]] = []
    for name in args.datasets:
        dataset = load_live_dataset(name)
        for cell in args.cells:
            train = cell_objective(cell, dataset)
            for label, strategy in strategies.items():
                for seed in args.seeds:
                    began = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        values, warm = tuned_values(train, spaces()[cell], dataset, args.trials, seed, strategy)
                    recorded_run(runs, label, name, cell, seed, values, began, warm)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--cells", nargs="+", choices=("torch", "hgb"), default=["torch", "hgb"])
    add_run_options(parser, "helper_cells", "the default strategy's rows under this name (and no cold runs)")
    args = parser.parse_args(argv)

    settings = (f"Datasets (held out of the prior) {', '.join(args.datasets)}; cells {', '.join(args.cells)}; seeds "
                f"{args.seeds}; {args.trials} trials")
    report_live_runs(args, run_cells, command=command_line(__file__, argv),
                     title="Cells whose model is built in a helper or a class of another cell", settings=settings,
                     reference="ours: cold", pairing="the cold start's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
