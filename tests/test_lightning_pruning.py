"""A PyTorch Lightning module reports its learning curve from Trainer.fit and is pruned there
(jupyter_metahpo/lightning_pruning.py): real Lightning, real fits."""

from __future__ import annotations

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as pl  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from helpers.pruning_callbacks import RecordingTrial, run_study_with_a_trial_that_cannot_learn  # noqa: E402
from jupyter_metahpo import TrialPruned  # noqa: E402
from jupyter_metahpo.lightning_pruning import LightningPruningCallback  # noqa: E402


class Classifier(pl.LightningModule):
    def __init__(self, lr: float = 1e-2, log_as: str = "val_acc") -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
        self.lr, self.log_as = lr, log_as

    def training_step(self, batch, batch_idx):
        X, y = batch
        return nn.functional.cross_entropy(self.net(X), y)

    def validation_step(self, batch, batch_idx):
        X, y = batch
        self.log(self.log_as, (self.net(X).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def _loaders():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(200, 5, generator=generator)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return DataLoader(TensorDataset(X[:150], y[:150]), batch_size=32), DataLoader(TensorDataset(X[150:], y[150:]))


def _trainer(callback, epochs: int):
    return pl.Trainer(max_epochs=epochs, callbacks=[callback], logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=1)


def test_each_validation_is_reported_and_a_pruned_trial_stops_fit_there():
    train, valid = _loaders()
    trial = RecordingTrial()
    trainer = _trainer(LightningPruningCallback(trial, "val_acc"), epochs=3)
    trainer.fit(Classifier(), train, valid)
    assert [step for step, _ in trial.reports] == [0, 1, 2]  # the sanity check before training is not reported
    assert trial.reports[-1][1] == pytest.approx(float(trainer.callback_metrics["val_acc"]))
    pruned = RecordingTrial(prune_at=1)
    with pytest.raises(TrialPruned, match=r"pruned after epoch 1 \(val_acc="):
        _trainer(LightningPruningCallback(pruned, "val_acc"), epochs=5).fit(Classifier(), train, valid)
    assert [step for step, _ in pruned.reports] == [0, 1]


def test_a_metric_that_was_not_logged_is_an_error_naming_those_that_were():
    train, valid = _loaders()
    with pytest.raises(ValueError, match=r"no 'val_loss' was logged by epoch 0; logged: val_acc \(log it with "
                                         r"self.log\('val_loss', value\) in validation_step\)"):
        _trainer(LightningPruningCallback(RecordingTrial(), "val_loss"), epochs=2).fit(Classifier(), train, valid)
    with pytest.raises(TypeError, match="needs the trial handle"):
        LightningPruningCallback("trial", "val_acc")


def test_a_study_keeps_each_lightning_trials_curve_and_prunes_a_trial_that_cannot_learn():
    train_loader, valid_loader = _loaders()

    def train(lr, trial):
        pl.seed_everything(0, verbose=False)
        trainer = _trainer(LightningPruningCallback(trial, "val_acc"), epochs=5)
        trainer.fit(Classifier(lr), train_loader, valid_loader)
        return float(trainer.callback_metrics["val_acc"])

    run_study_with_a_trial_that_cannot_learn(train)
