"""Learning curves and pruning for Keras: a callback that reports each epoch to the trial.

A Keras model trains inside ``model.fit``, so the objective has no loop of its own to call
``trial.report`` in. :class:`KerasPruningCallback` does it there, as Optuna's
``KerasPruningCallback`` does for Optuna's trials::

    from jupyter_metahpo.keras_pruning import KerasPruningCallback

    def train(units, lr, trial):
        model = build(units, lr)
        history = model.fit(X, y, validation_split=0.25, epochs=30, verbose=0,
                            callbacks=[KerasPruningCallback(trial, "val_accuracy")])
        return history.history["val_accuracy"][-1]

    tune(train, space, direction="maximize", pruner="median")

After each epoch it reports the logged metric ``monitor`` as the trial's value at that epoch
(``trial.report(value, epoch)``), and when the study's pruner says so it raises
:class:`~jupyter_metahpo.TrialPruned`, which ends ``fit`` and the trial as pruned, its curve
kept. Report the metric the objective returns (``"val_accuracy"`` for a study that maximises
validation accuracy, ``"val_loss"`` for one that minimises the loss), so that the pruner compares
curves with the study's direction.

This module imports Keras (``import jupyter_metahpo`` does not): import it where the model is
built. Keras 3 chooses its backend from ``KERAS_BACKEND`` before its first import.
"""

from __future__ import annotations

from typing import Any

import keras

from .trial import check_callback_arguments, report_epoch

__all__ = ["KerasPruningCallback"]


class KerasPruningCallback(keras.callbacks.Callback):
    """Report ``logs[monitor]`` to ``trial`` after each epoch, and stop the trial when the study's pruner says to.

    ``trial`` is the handle an objective gets as its parameter named ``trial`` (anything with ``report(value,
    step)`` and ``should_prune()``); ``monitor`` a metric ``fit`` logs (``"val_loss"``, ``"val_accuracy"``,
    ``"loss"``). A metric ``fit`` does not log is an error naming the ones it does, at the first epoch: pruning
    would otherwise silently never happen.
    """

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        check_callback_arguments("KerasPruningCallback", trial, monitor)
        self.trial = trial
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            hint = " (a 'val_' metric needs validation_split= or validation_data= in fit)" if (
                self.monitor.startswith("val_")) else ""
            raise ValueError(
                f"KerasPruningCallback: fit logged no {self.monitor!r} after epoch {epoch}; it logged "
                f"{', '.join(sorted(logs)) or 'nothing'}{hint}. Pass one of those as monitor."
            )
        value = float(logs[self.monitor])
        report_epoch(self.trial, self.monitor, value, epoch)
