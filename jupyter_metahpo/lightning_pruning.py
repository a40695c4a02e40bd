"""Learning curves and pruning for PyTorch Lightning: a callback that reports each validation to the trial.

A Lightning module trains inside ``Trainer.fit``, so the objective has no loop of its own to
call ``trial.report`` in. :class:`LightningPruningCallback` does it there, as Optuna's
``PyTorchLightningPruningCallback`` does for Optuna's trials::

    from jupyter_metahpo.lightning_pruning import LightningPruningCallback

    def train(hidden, lr, trial):
        trainer = pl.Trainer(max_epochs=30, callbacks=[LightningPruningCallback(trial, "val_acc")])
        trainer.fit(Model(hidden, lr), train_loader, valid_loader)
        return trainer.callback_metrics["val_acc"].item()

After each validation (not the sanity check before training) it reports the logged metric
``monitor`` (``self.log("val_acc", ...)`` in ``validation_step``) as the trial's value at that
epoch, and when the study's pruner says so it raises :class:`~jupyter_metahpo.TrialPruned`,
which ends ``fit`` and the trial as pruned, its curve kept. Report the metric the objective
returns, so that the pruner compares curves with the study's direction.

This module imports Lightning (``lightning.pytorch``, else the older ``pytorch_lightning``);
``import jupyter_metahpo`` does not: import it where the trainer is built.
"""

from __future__ import annotations

from typing import Any

try:
    from lightning.pytorch import Callback
except ImportError:  # Lightning before 2.0 ships as pytorch_lightning only
    from pytorch_lightning import Callback

from .trial import check_callback_arguments, report_epoch

__all__ = ["LightningPruningCallback"]


class LightningPruningCallback(Callback):
    """Report ``trainer.callback_metrics[monitor]`` to ``trial`` after each validation, and stop the trial when the
    study's pruner says to.

    ``trial`` is the handle an objective gets as its parameter named ``trial`` (anything with ``report(value,
    step)`` and ``should_prune()``); ``monitor`` a metric the module logs (``self.log("val_loss", loss)``). A metric
    that was not logged is an error naming those that were, at the first validation: pruning would otherwise
    silently never happen.
    """

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        check_callback_arguments("LightningPruningCallback", trial, monitor)
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:  # the few batches Lightning validates before training: not an epoch
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise ValueError(
                f"LightningPruningCallback: no {self.monitor!r} was logged by epoch {trainer.current_epoch}; logged: "
                f"{', '.join(sorted(metrics)) or 'nothing'} (log it with self.log({self.monitor!r}, value) in "
                "validation_step). Pass one of those as monitor."
            )
        epoch = int(trainer.current_epoch)
        value = float(metrics[self.monitor])
        report_epoch(self.trial, self.monitor, value, epoch)
