"""Models written for KerasTuner (``build_model(hp)``), run by KerasTuner and by ``tune`` as they are.

    python benchmarks/bench_keras_tuner.py                       # 6 held-out datasets, 5 seeds, 10 trials
    python benchmarks/bench_keras_tuner.py --datasets sk_wine --seeds 0 --methods ours

Keras users bring a model-building function that declares its space with ``hp.Int``,
``hp.Float``, ``hp.Choice`` and ``hp.Boolean``. The cell here is KerasTuner's getting-started
model (keras.io/keras_tuner/getting_started) on tabular data: 1 to 3 ``Dense`` layers of 32 to
512 units by 32 (``units_{i}``, one per layer), a ``relu`` / ``tanh`` activation, a
``Dropout(0.25)`` switched by ``hp.Boolean("dropout")`` and Adam's learning rate from 1e-4 to
1e-2 (log); an ``objective(hp)`` trains it 20 epochs in batches of 64 on a fixed 75% of the data
(Keras 3 on its torch backend) and scores balanced accuracy (R^2 of the standardised target,
for regression) on the other 25%, as ``bench_optuna_style.py``'s Keras cells do.

The very same ``objective`` runs in ``tune(objective)`` without a space (read from the ``hp``
calls; the bundled prior as the past) and with ``strategy="none"`` (its cold start), and in
KerasTuner's own tuners with their defaults, ``RandomSearch`` and ``BayesianOptimization``
(whose ``run_trial`` calls the objective with the trial's ``HyperParameters``, as KerasTuner's
guide to tuning any function does), 10 trials each, on the six datasets of ``bench_live.py``,
which the prior never saw. Regret is normalised per dataset between the best and the worst score
any run found there. Before this round ``tune`` could not run such a cell (no ``hp.Int``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._live_runs import (  # noqa: E402
    add_run_options,
    recorded_run,
    report_live_runs,
    torch_split,
    tuned_values,
)
from benchmarks._loo.user_live import run_cell  # noqa: E402
from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402

DATASETS = tuple(LIVE_DATASETS)  # held out of the prior
METHODS = ("ours", "ours: cold", "KerasTuner RandomSearch", "KerasTuner BayesianOptimization")

BUILD_MODEL_CELL = '''
import keras
from keras import layers
from sklearn.metrics import {metric}


def build_model(hp):
    model = keras.Sequential()
    model.add(keras.Input(shape=(X_train.shape[1],)))
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(layers.Dense(units=hp.Int(f"units_{{i}}", min_value=32, max_value=512, step=32),
                               activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(n_outputs{output}))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="{loss}")
    return model


def objective(hp):
    keras.utils.set_random_seed(0)
    model = build_model(hp)
    model.fit(X_train, y_train, epochs=20, batch_size=64, verbose=0)
    predicted = model.predict(X_valid, verbose=0){predict}
    return {metric}(y_valid, predicted)
'''


def cell_objective(dataset) -> Any:
    """The cell's ``objective`` in a notebook namespace holding the dataset's hold-out split."""
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
    classification = dataset.task == "classification"
    namespace: dict[str, Any] = {"__name__": "__main__"}
    namespace.update({name: value.numpy() if hasattr(value, "numpy") else value
                      for name, value in torch_split(dataset).items()})
    text = BUILD_MODEL_CELL.format(
        metric="balanced_accuracy_score" if classification else "r2_score",
        output=', activation="softmax"' if classification else "",
        loss="sparse_categorical_crossentropy" if classification else "mse",
        predict=".argmax(1)" if classification else "")
    run_cell(text, f"<keras-tuner-cell {dataset.name}>", namespace)
    return namespace["objective"]


def keras_tuner_values(objective: Any, seed: int, trials: int, tuner: str) -> list[float]:
    """KerasTuner's ``tuner`` (its defaults) maximising ``objective(hp)``: each trial's value, NaN for a failed one."""
    import keras_tuner as kt

    base = kt.RandomSearch if tuner == "KerasTuner RandomSearch" else kt.BayesianOptimization

    class FunctionTuner(base):  # KerasTuner's "tune any function": run_trial returns the objective's value
        def run_trial(self, trial, *args, **kwargs):
            return {"score": float(objective(trial.hyperparameters))}

    with tempfile.TemporaryDirectory() as directory:
        search = FunctionTuner(objective=kt.Objective("score", direction="max"), max_trials=trials, seed=seed,
                               directory=directory, project_name="bench", overwrite=True,
                               max_consecutive_failed_trials=trials)
        search.search(verbose=0)
        ended = sorted(search.oracle.trials.values(), key=lambda t: int(t.trial_id))
        values = [float("nan") if t.score is None else float(t.score) for t in ended]
    return values + [float("nan")] * (trials - len(values))


def run_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (dataset, method, seed) study: its trials' values, its wall seconds, whether it started warm."""
    runs: list[dict[str, Any]] = []
    methods = {args.label: "ours"} if args.label else {m: m for m in args.methods}
    for name in args.datasets:
        dataset = load_live_dataset(name)
        objective = cell_objective(dataset)
        for label, method in methods.items():
            for seed in args.seeds:
                began = time.perf_counter()
                warm = False
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if method.startswith("KerasTuner"):
                        values = keras_tuner_values(objective, seed, args.trials, method)
                    else:  # no space: read from the objective's hp calls
                        strategy = "default" if method == "ours" else "none"
                        values, warm = tuned_values(objective, None, dataset, args.trials, seed, strategy)
                recorded_run(runs, label, name, "keras_tuner", seed, values, began, warm)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    add_run_options(parser, "keras_tuner", "the rows of tune's default under this name (and no other method)")
    args = parser.parse_args(argv)

    settings = (f"Datasets (held out of the prior) {', '.join(args.datasets)}; KerasTuner's getting-started model; "
                f"seeds {args.seeds}; {args.trials} trials")
    report_live_runs(args, run_cells, command=command_line(__file__, argv),
                     title="Models written for KerasTuner, run by KerasTuner and by tune as they are",
                     settings=settings, reference="KerasTuner BayesianOptimization",
                     pairing="KerasTuner BayesianOptimization's (the same objective, dataset and seed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
