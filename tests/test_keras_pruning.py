"""A Keras model reports its learning curve from fit and is pruned there (jupyter_metahpo/keras_pruning.py): real
Keras 3 on its torch backend, real fits."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.keras_backend import keras_on_torch
from helpers.pruning_callbacks import RecordingTrial, run_study_with_a_trial_that_cannot_learn


@pytest.fixture()
def keras(monkeypatch):
    return keras_on_torch(monkeypatch)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype("float32")
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype("int64")


def _model(keras, lr: float = 1e-2):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_each_epoch_is_reported_and_a_pruned_trial_stops_fit_there(keras):
    from jupyter_metahpo import TrialPruned
    from jupyter_metahpo.keras_pruning import KerasPruningCallback

    X, y = _data()
    trial = RecordingTrial()
    history = _model(keras).fit(X, y, epochs=4, validation_split=0.25, verbose=0,
                                callbacks=[KerasPruningCallback(trial, "val_accuracy")])
    assert [step for step, _ in trial.reports] == [0, 1, 2, 3]
    assert [value for _, value in trial.reports] == pytest.approx(history.history["val_accuracy"])
    pruned = RecordingTrial(prune_at=1)
    with pytest.raises(TrialPruned, match=r"pruned after epoch 1 \(val_loss="):
        _model(keras).fit(X, y, epochs=6, validation_split=0.25, verbose=0,
                          callbacks=[KerasPruningCallback(pruned, "val_loss")])
    assert [step for step, _ in pruned.reports] == [0, 1]  # fit stopped at the epoch the pruner said


def test_a_metric_fit_does_not_log_is_an_error_naming_those_it_does(keras):
    from jupyter_metahpo.keras_pruning import KerasPruningCallback

    X, y = _data()
    with pytest.raises(ValueError, match=r"fit logged no 'val_accuracy' after epoch 0; it logged accuracy, loss \(a "
                                         r"'val_' metric needs validation_split= or validation_data= in fit\)"):
        _model(keras).fit(X, y, epochs=2, verbose=0, callbacks=[KerasPruningCallback(RecordingTrial(), "val_accuracy")])
    with pytest.raises(TypeError, match="needs the trial handle"):
        KerasPruningCallback(None, "val_loss")


def test_a_study_keeps_each_keras_trials_curve_and_prunes_a_trial_that_cannot_learn(keras):
    from jupyter_metahpo.keras_pruning import KerasPruningCallback

    X, y = _data()

    def train(lr, trial):
        keras.utils.set_random_seed(0)
        history = _model(keras, lr).fit(X, y, epochs=5, validation_split=0.25, verbose=0,
                                        callbacks=[KerasPruningCallback(trial, "val_accuracy")])
        return history.history["val_accuracy"][-1]

    run_study_with_a_trial_that_cannot_learn(train)
