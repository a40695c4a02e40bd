"""Objectives written for Optuna (``trial.suggest_*``), run by Optuna and by ``tune`` as they are.

    python benchmarks/bench_optuna_style.py                      # 6 held-out datasets, 3 cells, 5 seeds
    python benchmarks/bench_optuna_style.py --cells hgb --seeds 0
    python benchmarks/bench_optuna_style.py --cells branches --out optuna_style_branches
    python benchmarks/bench_optuna_style.py --cells layers --out optuna_style_layers

Users coming from Optuna bring objectives that declare their space inside, one
``trial.suggest_*`` call per parameter. Three such cells, each defined from text registered
as a notebook cell's (so that ``tune`` reads its source as it reads a cell's):

- ``torch``: Optuna's PyTorch example as users adapt it to tabular data: ``define_model(trial)``
  in a cell of its own suggests the number of layers, one width for them (``n_units``) and the
  dropout; the objective suggests the optimiser (``getattr(optim, name)``: Adam, RMSprop or SGD)
  and its learning rate, then trains 20 epochs of batches of 64 and scores balanced accuracy
  (R^2 of the standardised target, for regression) on a fixed 25% hold-out;
- ``hgb``: a ``HistGradientBoostingClassifier`` (or ``...Regressor``) of ``learning_rate``,
  ``max_leaf_nodes``, ``min_samples_leaf`` and ``l2_regularization`` suggested in the call,
  ``cross_val_score`` over 3 shuffled folds;
- ``svm``: ``make_pipeline(<one-hot and scaling>, SVC(C=..., gamma=...))`` (``SVR`` for
  regression), ``cross_val_score`` over the same folds.

and, in a run of its own (``--cells branches``), Optuna's first example (its README's and
``sklearn_simple.py``) on these datasets: ``classifier = trial.suggest_categorical("classifier",
["SVC", "RandomForest"])``, then in its branch either ``svc_c`` (1e-10 to 1e10, log) for
``SVC(C=svc_c, gamma="auto")`` (with ``max_iter=100_000``: without a limit an SVR at C = 1e9 ran for
more than ten minutes, and at 1e6 iterations a fit at C >= 1e4 took 20-40 s) or ``rf_max_depth``
(2 to 32, log) for ``RandomForestClassifier(max_depth=rf_max_depth, n_estimators=10)``, both after the
one-hot encoding and scaling (``SVR`` and ``RandomForestRegressor`` for regression, on the standardised
target: SVR's ``epsilon=0.1`` is in the target's units, and Optuna's example is a classification one),
scored over the same folds; and (``--cells layers``) Optuna's ``pytorch_simple.py`` model as it
is, a width and a dropout per layer (``n_units_l{i}`` from 4 to 128, ``dropout_l{i}`` from 0.2 to
0.5, for up to 3 layers), trained as the ``torch`` cell; and (``--cells table``) the ``torch`` cell
choosing its optimiser through a table, ``OPTIMIZERS = {"adam": optim.Adam, "rmsprop": optim.RMSprop,
"sgd": optim.SGD}`` and ``OPTIMIZERS[optimizer_name](...)``, of ``"sgd"``, ``"rmsprop"`` and ``"adam"``;
and (``--cells activation``) that cell choosing its activation through a table too, ``ACTIVATIONS =
{"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}`` and ``ACTIVATIONS[activation]()`` in
``define_model``, of ``"tanh"``, ``"sigmoid"`` and ``"relu"``; and (``--cells skorch``) Optuna's skorch
example (``skorch_simple.py``) on these datasets: the module's ``__init__`` suggests its layers as
``pytorch_simple.py``'s model does, and ``skorch.NeuralNetClassifier(ClassifierModule(trial), max_epochs=20,
lr=0.1)`` trains it (skorch's default optimiser, SGD; ``NeuralNetRegressor`` for regression); and
(``--cells lightgbm``) Optuna's LightGBM example (``lightgbm_simple.py``): ``lgb.train(param, dtrain)`` with
``lambda_l1``, ``lambda_l2``, ``num_leaves``, ``feature_fraction``, ``bagging_fraction``, ``bagging_freq`` and
``min_child_samples`` suggested in the dict, on the same hold-out as the torch cells; and (``--cells lightning``)
Optuna's PyTorch Lightning example (``pytorch_lightning_simple.py``): its model's two classes and its objective,
the widths a list comprehension builds, Adam at its default rate, 10 epochs, on the torch cells' hold-out; and
(``--cells xgboost``) an ``XGBClassifier`` (``XGBRegressor``) of seven suggested arguments over the HGB cell's
folds; and (``--cells keras``) the ``torch`` cell written with Keras 3 on its torch backend
(``getattr(keras.optimizers, optimizer_name)(learning_rate=lr)``, ``model.fit(..., epochs=20, batch_size=64)``), and
(``--cells keras_fit``) a Keras cell of one hidden layer's ``units`` and ``dropout``, Adam by name
(``compile(optimizer="adam")``), the ``epochs`` and ``batch_size`` tuned in ``fit``;
and (``--cells extra_trees``) an ``ExtraTreesClassifier`` (``...Regressor``) of ``n_estimators``, ``max_depth``,
``min_samples_leaf`` and ``max_features`` over the same folds. ``--label``
names the rows of ``tune``'s default when a second checkout (the previous code's) runs the script, and
``--merge`` adds such runs to the table.

The very same function object is handed to ``optuna.create_study(...).optimize`` (TPE,
Optuna's default sampler, and its random sampler) and to ``tune(objective, ...)`` without a
space (read from the calls; the bundled prior as the past), and to ``tune(...,
strategy="none")`` (its cold start); 10 trials each, on the six datasets of ``bench_live.py``,
which the prior never saw. Regret is normalised per (dataset, cell) between the best and the
worst score any run found there. ``--table-only`` writes the table again from the saved runs
(``results/<out>.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._live_runs import (  # noqa: E402
    add_run_options,
    cv_protocol,
    native_categories,
    optuna_values,
    preprocessing,
    recorded_run,
    report_live_runs,
    torch_split,
    tuned_values,
)
from benchmarks._loo.user_live import run_cell  # noqa: E402
from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402

DATASETS = tuple(LIVE_DATASETS)  # held out of the prior
CELLS = (
    "torch", "hgb", "svm", "branches", "layers", "table", "activation", "skorch", "lightgbm", "lightning", "xgboost",
    "powers_svm", "powers_torch", "catboost", "keras", "keras_fit", "extra_trees",
)
DEFAULT_CELLS = ("torch", "hgb", "svm")
METHODS = ("ours", "ours: cold", "Optuna TPE", "Optuna random")
#: Optuna's TPE starts with 10 random trials (its n_startup_trials), so at 10 trials its random sampler adds nothing.
DEFAULT_METHODS = ("ours", "ours: cold", "Optuna TPE")

TORCH_MODEL_CELL = '''
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.metrics import {metric}


def define_model(trial):
    n_layers = trial.suggest_int("n_layers", 1, 3)
    n_units = trial.suggest_int("n_units", 4, 256, log=True)
    layers, in_features = [], X_train.shape[1]
    for i in range(n_layers):
        layers.append(nn.Linear(in_features, n_units))
        layers.append(nn.ReLU())
        layers.append(nn.Dropout(trial.suggest_float("dropout", 0.0, 0.5)))
        in_features = n_units
    layers.append(nn.Linear(in_features, n_outputs))
    return nn.Sequential(*layers)
'''

TORCH_CELL = '''
def objective(trial):
    torch.manual_seed(0)
    model = define_model(trial)
    optimizer_name = trial.suggest_categorical("optimizer", ["Adam", "RMSprop", "SGD"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    optimizer = getattr(optim, optimizer_name)(model.parameters(), lr=lr)
    for epoch in range(20):
        model.train()
        order = torch.randperm(len(X_train))
        for start in range(0, len(X_train), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            nn.functional.{loss}(model(X_train[batch]), y_train[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(X_valid){predict}.numpy()
    return {metric}(y_valid.numpy(), predicted)
'''

#: The ``torch`` cell choosing its optimiser through a table with words of its own as keys, as cells often do.
TABLE_CELL = TORCH_CELL.replace(
    "def objective(trial):",
    'OPTIMIZERS = {{"adam": optim.Adam, "rmsprop": optim.RMSprop, "sgd": optim.SGD}}\n\n\ndef objective(trial):',
).replace('["Adam", "RMSprop", "SGD"]', '["sgd", "rmsprop", "adam"]').replace(
    "getattr(optim, optimizer_name)", "OPTIMIZERS[optimizer_name]")

#: The ``torch`` model choosing its activation through a table too (the prior's torch MLP ran ReLU).
ACTIVATION_MODEL_CELL = TORCH_MODEL_CELL.replace(
    "def define_model(trial):",
    'ACTIVATIONS = {{"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}}\n\n\ndef define_model(trial):',
).replace(
    '    layers, in_features = [], X_train.shape[1]',
    '    activation = trial.suggest_categorical("activation", ["tanh", "sigmoid", "relu"])\n'
    '    layers, in_features = [], X_train.shape[1]',
).replace("layers.append(nn.ReLU())", "layers.append(ACTIVATIONS[activation]())")

#: The ``torch`` cell written with Keras 3 (run here on its torch backend): the same model, choice of optimiser by
#: name (``getattr(keras.optimizers, name)``), epochs and batches, and the same hold-out and metric.
KERAS_CELL = '''
import keras
from keras import layers
from sklearn.metrics import {metric}


def define_model(trial):
    n_layers = trial.suggest_int("n_layers", 1, 3)
    n_units = trial.suggest_int("n_units", 4, 256, log=True)
    model = keras.Sequential([keras.Input((X_train.shape[1],))])
    for i in range(n_layers):
        model.add(layers.Dense(n_units, activation="relu"))
        model.add(layers.Dropout(trial.suggest_float("dropout", 0.0, 0.5)))
    model.add(layers.Dense(n_outputs{output}))
    return model


def objective(trial):
    keras.utils.set_random_seed(0)
    model = define_model(trial)
    optimizer_name = trial.suggest_categorical("optimizer", ["Adam", "RMSprop", "SGD"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    model.compile(optimizer=getattr(keras.optimizers, optimizer_name)(learning_rate=lr), loss="{loss}")
    model.fit(X_train, y_train, epochs=20, batch_size=64, shuffle=True, verbose=0)
    predicted = model.predict(X_valid, verbose=0){predict}
    return {metric}(y_valid, predicted)
'''

#: A Keras cell as Keras users write one: Adam by name at its default rate, the epochs and the batch size tuned in
#: ``fit``, one hidden layer's width and its dropout.
KERAS_FIT_CELL = '''
import keras
from keras import layers
from sklearn.metrics import {metric}


def objective(trial):
    keras.utils.set_random_seed(0)
    units = trial.suggest_int("units", 16, 256, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    model = keras.Sequential([
        keras.Input((X_train.shape[1],)),
        layers.Dense(units, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(n_outputs{output}),
    ])
    model.compile(optimizer="adam", loss="{loss}")
    model.fit(X_train, y_train, epochs=trial.suggest_int("epochs", 5, 40),
              batch_size=trial.suggest_int("batch_size", 32, 256, log=True), verbose=0)
    predicted = model.predict(X_valid, verbose=0){predict}
    return {metric}(y_valid, predicted)
'''

#: Optuna's skorch example (skorch_simple.py) on tabular data: the module suggests its layers, skorch trains it
#: (SGD at lr 0.1, 20 epochs, as there; ``verbose=0`` and the hold-out's metric added).
SKORCH_CELL = '''
import skorch
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import {metric}


class ClassifierModule(nn.Module):
    def __init__(self, trial):
        super().__init__()
        layers = []
        n_layers = trial.suggest_int("n_layers", 1, 3)
        dropout = trial.suggest_float("dropout", 0.2, 0.5)
        input_dim = X_train.shape[1]
        for i in range(n_layers):
            output_dim = trial.suggest_int("n_units_l{{}}".format(i), 4, 128, log=True)
            layers.append(nn.Linear(input_dim, output_dim))
            layers.append(nn.Dropout(dropout))
            layers.append(nn.ReLU())
            input_dim = output_dim
        layers.append(nn.Linear(input_dim, n_outputs))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return {output}


def objective(trial):
    torch.manual_seed(0)
    net = skorch.{net}(ClassifierModule(trial), max_epochs=20, lr=0.1, device="cpu", verbose=0)
    net.fit(X_train, y_train)
    return {metric}(y_valid.numpy(), net.predict(X_valid))
'''

#: Optuna's LightGBM example (lightgbm_simple.py) on these datasets: LightGBM's own API, the parameters in a dict
#: (the objective for the task and ``num_class`` added; the hold-out's metric as the other cells').
LIGHTGBM_CELL = '''
import lightgbm as lgb
import numpy as np
from sklearn.metrics import {metric}


def objective(trial):
    dtrain = lgb.Dataset(X_train, label=y_train)
    param = {{
        "objective": "{objective}",{num_class}
        "verbosity": -1,
        "boosting_type": "gbdt",
        "lambda_l1": trial.suggest_float("lambda_l1", 1e-8, 10.0, log=True),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 2, 256),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.4, 1.0),
        "bagging_freq": trial.suggest_int("bagging_freq", 1, 7),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 100),
    }}
    gbm = lgb.train(param, dtrain)
    preds = gbm.predict(X_valid)
    return {metric}(y_valid, {predict})
'''

#: Optuna's PyTorch Lightning example (pytorch_lightning_simple.py) on these datasets: its two classes and its
#: objective as there (the widths a comprehension builds, Adam at its default rate, 10 epochs of batches of 128), the
#: hold-out's tensors instead of FashionMNIST, a regression head and loss for regression, the trainer's output off.
LIGHTNING_CELL = '''
import lightning.pytorch as pl
import torch
from torch import nn
from torch import optim
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from sklearn.metrics import {metric}


class Net(nn.Module):
    def __init__(self, dropout, output_dims):
        super().__init__()
        layers = []
        input_dim = X_train.shape[1]
        for output_dim in output_dims:
            layers.append(nn.Linear(input_dim, output_dim))
            layers.append(nn.ReLU())
            layers.append(nn.Dropout(dropout))
            input_dim = output_dim
        layers.append(nn.Linear(input_dim, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, data):
        return {forward}


class LightningNet(pl.LightningModule):
    def __init__(self, dropout, output_dims):
        super().__init__()
        self.model = Net(dropout, output_dims)

    def forward(self, data):
        return self.model(data)

    def training_step(self, batch, batch_idx):
        data, target = batch
        return {loss}(self(data), target)

    def configure_optimizers(self):
        return optim.Adam(self.model.parameters())


def objective(trial):
    torch.manual_seed(0)
    n_layers = trial.suggest_int("n_layers", 1, 3)
    dropout = trial.suggest_float("dropout", 0.2, 0.5)
    output_dims = [trial.suggest_int("n_units_l{{}}".format(i), 4, 128, log=True) for i in range(n_layers)]
    model = LightningNet(dropout, output_dims)
    trainer = pl.Trainer(max_epochs=10, enable_checkpointing=False, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(model, train_dataloaders=DataLoader(TensorDataset(X_train, y_train), batch_size=128, shuffle=True))
    model.eval()
    with torch.no_grad():
        predicted = model(X_valid){predict}.numpy()
    return {metric}(y_valid.numpy(), predicted)
'''

#: A library's scikit-learn-style estimator class as users write one, over the one-hot encoding and scaling and the
#: HGB and SVM cells' folds; the imports in alphabetical order, the arguments one per line.
_ESTIMATOR_CELL = '''
{imports}


def objective(trial):
    model = {{model}}(
{arguments})
    return cross_val_score(make_pipeline(prepare, model), X, y, cv=folds, scoring="{{metric}}").mean()
'''


def _estimator_cell(library: str, arguments: list[str]) -> str:
    imports = sorted(["from sklearn.model_selection import cross_val_score",
                      "from sklearn.pipeline import make_pipeline", f"from {library} import {{model}}"],
                     key=lambda line: line.split()[1])
    return _ESTIMATOR_CELL.format(imports="\n".join(imports), arguments=",\n".join(" " * 8 + a for a in arguments))


#: An XGBoost cell with its scikit-learn class.
XGBOOST_CELL = _estimator_cell("xgboost", [
    'learning_rate=trial.suggest_float("learning_rate", 1e-3, 0.3, log=True)',
    'max_depth=trial.suggest_int("max_depth", 2, 10)',
    'min_child_weight=trial.suggest_float("min_child_weight", 1e-2, 10.0, log=True)',
    'subsample=trial.suggest_float("subsample", 0.5, 1.0)',
    'colsample_bytree=trial.suggest_float("colsample_bytree", 0.5, 1.0)',
    'reg_lambda=trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True)',
    'n_estimators=trial.suggest_int("n_estimators", 20, 300, log=True)',
    "verbosity=0, n_jobs=1",
])

#: A CatBoost cell with its scikit-learn-style class (one thread, seeded, writing no files).
CATBOOST_CELL = _estimator_cell("catboost", [
    'learning_rate=trial.suggest_float("learning_rate", 1e-3, 0.3, log=True)',
    'depth=trial.suggest_int("depth", 2, 8)',
    'l2_leaf_reg=trial.suggest_float("l2_leaf_reg", 1e-3, 30.0, log=True)',
    'iterations=trial.suggest_int("iterations", 20, 300, log=True)',
    "verbose=0, thread_count=1, random_seed=0, allow_writing_files=False",
])

#: scikit-learn's extremely randomised trees as forest cells are written (``bootstrap`` left at its default, False).
EXTRA_TREES_CELL = _estimator_cell("sklearn.ensemble", [
    'n_estimators=trial.suggest_int("n_estimators", 20, 200, log=True)',
    'max_depth=trial.suggest_int("max_depth", 2, 32, log=True)',
    'min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 20, log=True)',
    'max_features=trial.suggest_float("max_features", 0.1, 1.0)',
    "random_state=0",
])

HGB_CELL = '''
from sklearn.ensemble import {model}
from sklearn.model_selection import cross_val_score


def objective(trial):
    model = {model}(
        learning_rate=trial.suggest_float("learning_rate", 0.01, 0.5, log=True),
        max_leaf_nodes=trial.suggest_int("max_leaf_nodes", 4, 128, log=True),
        min_samples_leaf=trial.suggest_int("min_samples_leaf", 2, 100, log=True),
        l2_regularization=trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
        random_state=0,
    )
    return cross_val_score(model, X, y, cv=folds, scoring="{metric}").mean()
'''

SVM_CELL = '''
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import {model}


def objective(trial):
    C = trial.suggest_float("C", 1e-2, 1e3, log=True)
    gamma = trial.suggest_float("gamma", 1e-4, 1.0, log=True)
    return cross_val_score(make_pipeline(prepare, {model}(C=C, gamma=gamma)), X, y, cv=folds,
                           scoring="{metric}").mean()
'''

#: The SVM cell tuning the exponents of its C and gamma, as many cells tune on a log scale by hand (the same ranges).
POWERS_SVM_CELL = SVM_CELL.replace(
    'C = trial.suggest_float("C", 1e-2, 1e3, log=True)', 'C = 10 ** trial.suggest_float("log_c", -2, 3)').replace(
    'gamma = trial.suggest_float("gamma", 1e-4, 1.0, log=True)',
    'gamma = 10 ** trial.suggest_float("log_gamma", -4, 0)')

#: The ``torch`` cell with its learning rate as a power of 10 and its width as a power of 2 (widths 4 to 256, as
#: there, in powers of 2 only).
POWERS_TORCH_MODEL_CELL = TORCH_MODEL_CELL.replace(
    'n_units = trial.suggest_int("n_units", 4, 256, log=True)', 'n_units = 2 ** trial.suggest_int("log_units", 2, 8)')
POWERS_TORCH_CELL = TORCH_CELL.replace(
    'lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)', 'lr = 10 ** trial.suggest_float("log_lr", -5, -1)')

#: Optuna's pytorch_simple.py itself: a width and a dropout per layer (``n_units_l{i}``, ``dropout_l{i}``).
LAYERS_MODEL_CELL = '''
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.metrics import {metric}


def define_model(trial):
    n_layers = trial.suggest_int("n_layers", 1, 3)
    layers = []
    in_features = X_train.shape[1]
    for i in range(n_layers):
        out_features = trial.suggest_int("n_units_l{{}}".format(i), 4, 128)
        layers.append(nn.Linear(in_features, out_features))
        layers.append(nn.ReLU())
        p = trial.suggest_float("dropout_l{{}}".format(i), 0.2, 0.5)
        layers.append(nn.Dropout(p))
        in_features = out_features
    layers.append(nn.Linear(in_features, n_outputs))
    return nn.Sequential(*layers)
'''

BRANCHES_CELL = '''
from sklearn.ensemble import {forest}
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import {svm}


def objective(trial):
    classifier_name = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier_name == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-10, 1e10, log=True)
        classifier_obj = make_pipeline(prepare, {svm}(C=svc_c, gamma="auto", max_iter=100_000))
    else:
        rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
        classifier_obj = make_pipeline(prepare, {forest}(max_depth=rf_max_depth, n_estimators=10, random_state=0))
    return cross_val_score(classifier_obj, X, y, cv=folds, scoring="{metric}").mean()
'''


def cell_objective(cell: str, dataset) -> Any:
    """The cell's ``objective`` (and for torch its ``define_model`` in a cell before it), in one notebook namespace."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    classification = dataset.task == "classification"
    folds, metric = cv_protocol(dataset)
    score = "balanced_accuracy_score" if classification else "r2_score"  # the hold-out cells' metric
    if cell in ("keras", "keras_fit"):
        os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
        namespace.update({name: value.numpy() if hasattr(value, "numpy") else value
                          for name, value in torch_split(dataset).items()})
        text = (KERAS_FIT_CELL if cell == "keras_fit" else KERAS_CELL).format(
            metric=score, output=', activation="softmax"' if classification else "",
            loss="sparse_categorical_crossentropy" if classification else "mse",
            predict=".argmax(1)" if classification else "")
    elif cell == "extra_trees":
        namespace.update(X=dataset.X, y=dataset.y, folds=folds, prepare=preprocessing(dataset))
        text = EXTRA_TREES_CELL.format(
            model="ExtraTreesClassifier" if classification else "ExtraTreesRegressor", metric=metric)
    elif cell == "catboost":
        namespace.update(X=dataset.X, y=dataset.y, folds=folds, prepare=preprocessing(dataset))
        text = CATBOOST_CELL.format(model="CatBoostClassifier" if classification else "CatBoostRegressor",
                                    metric=metric)
    elif cell == "xgboost":
        labels = np.unique(dataset.y, return_inverse=True)[1] if classification else dataset.y  # XGBoost's classes
        namespace.update(X=dataset.X, y=labels, folds=folds, prepare=preprocessing(dataset))
        text = XGBOOST_CELL.format(model="XGBClassifier" if classification else "XGBRegressor", metric=metric)
    elif cell == "lightning":
        import logging

        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)  # its notes on every fit
        namespace.update(torch_split(dataset))
        text = LIGHTNING_CELL.format(
            metric=score, forward="F.log_softmax(self.layers(data), dim=1)" if classification else "self.layers(data)",
            loss="F.nll_loss" if classification else "F.mse_loss", predict=".argmax(1)" if classification else "")
    elif cell == "lightgbm":
        split = torch_split(dataset)
        n_classes = split["n_outputs"]
        namespace.update({name: split[name].numpy().squeeze() if name.startswith("y") else split[name].numpy()
                          for name in ("X_train", "X_valid", "y_train", "y_valid")})
        objective = "regression" if not classification else "binary" if n_classes == 2 else "multiclass"
        text = LIGHTGBM_CELL.format(
            metric=score, objective=objective,
            num_class=f'\n        "num_class": {n_classes},' if objective == "multiclass" else "",
            predict={"binary": "np.rint(preds)", "multiclass": "preds.argmax(axis=1)"}.get(objective, "preds"))
    elif cell == "skorch":
        namespace.update(torch_split(dataset))
        text = SKORCH_CELL.format(
            metric=score, net="NeuralNetClassifier" if classification else "NeuralNetRegressor",
            output="F.softmax(self.model(x), dim=-1)" if classification else "self.model(x)")
    elif cell in ("torch", "layers", "table", "activation", "powers_torch"):
        namespace.update(torch_split(dataset))
        model_cell = {"layers": LAYERS_MODEL_CELL, "activation": ACTIVATION_MODEL_CELL,
                      "powers_torch": POWERS_TORCH_MODEL_CELL}.get(cell, TORCH_MODEL_CELL)
        run_cell(model_cell.format(metric=score), f"<optuna-model-cell {cell} {dataset.name}>", namespace)
        loop = {"table": TABLE_CELL, "activation": TABLE_CELL, "powers_torch": POWERS_TORCH_CELL}.get(cell, TORCH_CELL)
        text = loop.format(
            metric=score, loss="cross_entropy" if classification else "mse_loss",
            predict=".argmax(1)" if classification else "")
    elif cell == "hgb":
        namespace.update(X=native_categories(dataset), y=dataset.y, folds=folds)
        model = "HistGradientBoostingClassifier" if classification else "HistGradientBoostingRegressor"
        text = HGB_CELL.format(model=model, metric=metric)
    elif cell == "branches":
        target = np.asarray(dataset.y, dtype=float)
        y = dataset.y if classification else (target - target.mean()) / target.std()
        namespace.update(X=dataset.X, y=y, folds=folds, prepare=preprocessing(dataset))
        text = BRANCHES_CELL.format(svm="SVC" if classification else "SVR", metric=metric,
                                    forest="RandomForestClassifier" if classification else "RandomForestRegressor")
    else:
        namespace.update(X=dataset.X, y=dataset.y, folds=folds, prepare=preprocessing(dataset))
        text = (POWERS_SVM_CELL if cell == "powers_svm" else SVM_CELL).format(
            model="SVC" if classification else "SVR", metric=metric)
    run_cell(text, f"<optuna-cell {cell} {dataset.name}>", namespace)
    return namespace["objective"]


def run_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (dataset, cell, method, seed) study: its trials' values, its wall seconds, whether it started warm."""
    runs: list[dict[str, Any]] = []
    methods = {args.label: "ours"} if args.label else {m: m for m in args.methods}
    for name in args.datasets:
        dataset = load_live_dataset(name)
        for cell in args.cells:
            objective = cell_objective(cell, dataset)
            for label, method in methods.items():
                for seed in args.seeds:
                    began = time.perf_counter()
                    warm = False
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if method.startswith("Optuna"):
                            sampler = "tpe" if method == "Optuna TPE" else "random"
                            values = optuna_values(objective, seed, args.trials, sampler)
                        else:  # no space: read from the objective's suggest calls
                            strategy = "default" if method == "ours" else "none"
                            values, warm = tuned_values(objective, None, dataset, args.trials, seed, strategy)
                    recorded_run(runs, label, name, cell, seed, values, began, warm)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(DEFAULT_CELLS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(DEFAULT_METHODS))
    add_run_options(parser, "optuna_style", "the rows of tune's default under this name (and no other method)")
    args = parser.parse_args(argv)

    settings = (f"Datasets (held out of the prior) {', '.join(args.datasets)}; cells {', '.join(args.cells)}; seeds "
                f"{args.seeds}; {args.trials} trials")
    report_live_runs(args, run_cells, command=command_line(__file__, argv),
                     title="Objectives written for Optuna, run by Optuna and by tune as they are", settings=settings,
                     reference="Optuna TPE", pairing="Optuna TPE's (the same objective, dataset and seed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
