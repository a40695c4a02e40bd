"""A small PyTorch multi-layer perceptron with the scikit-learn estimator interface.

Used by the built-in ``torch_mlp_*`` spaces. torch loads on the first ``fit`` or
``predict`` (:class:`~jupyter_metahpo._imports.LazyImport`), so importing this module
stays cheap. Training: AdamW on mini-batches,
ReLU hidden layers with dropout, and early stopping on a 10% validation split (the
weights of the best validation epoch are kept). Features are expected to be numeric
and already scaled (the prior wraps the model in a preprocessing pipeline).

After ``fit``, ``validation_loss_curve_`` holds the validation loss of every epoch,
``best_epoch_`` the epoch whose weights were kept and ``n_iter_`` the epochs run.
``fit(X, y, epoch_callback=f)`` calls ``f(estimator, epoch)`` after every epoch with
the estimator in its current weights (``predict`` works), for learning curves; it
changes neither the training nor the final model (it must not train or reseed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from ._imports import LazyImport

__all__ = ["TorchMLPClassifier", "TorchMLPRegressor"]

torch = LazyImport("torch")


class _TorchMLPBase(BaseEstimator):
    def __init__(
        self,
        hidden_width: int = 64,
        n_hidden_layers: int = 2,
        dropout: float = 0.0,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-6,
        batch_size: int = 64,
        max_epochs: int = 30,
        patience: int = 5,
        validation_fraction: float = 0.1,
        random_state: int | None = None,
    ) -> None:
        self.hidden_width = hidden_width
        self.n_hidden_layers = n_hidden_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # Subclasses define how targets become tensors and which loss is minimised.
    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _loss(self) -> Any:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, epoch_callback: Callable[[Any, int], None] | None = None) -> _TorchMLPBase:
        """Train on ``(X, y)``; ``epoch_callback(self, epoch)`` runs after every epoch (epochs from 0)."""
        if epoch_callback is not None and not callable(epoch_callback):
            raise TypeError(f"`epoch_callback` must be a function of (estimator, epoch), but got {epoch_callback!r}.")
        X, y = check_X_y(X, y, dtype=np.float32, y_numeric=isinstance(self, RegressorMixin))
        targets, n_outputs = self._prepare_targets(np.asarray(y))
        self.n_features_in_ = X.shape[1]
        seed = 0 if self.random_state is None else int(self.random_state)
        rng = np.random.default_rng(seed)

        order = rng.permutation(len(X))
        n_val = max(1, int(round(self.validation_fraction * len(X)))) if len(X) >= 20 else 0
        val, train = order[:n_val], order[n_val:]
        X_t = torch.from_numpy(X)
        y_t = torch.from_numpy(targets)

        # Seed torch inside a forked RNG state: initial weights and dropout masks are
        # reproducible without touching the caller's global torch seed.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model_ = self._train(X_t, y_t, train, val, n_outputs, rng, epoch_callback)
        return self

    def _train(
        self, X_t: Any, y_t: Any, train: np.ndarray, val: np.ndarray, n_outputs: int, rng: Any,
        epoch_callback: Callable[[Any, int], None] | None = None,
    ) -> Any:
        n_val = len(val)
        model = self._network(X_t.shape[1], n_outputs)
        # Set now so that an epoch callback can call predict on the weights as they are.
        self.model_ = model
        self.validation_loss_curve_: list[float] = []
        self.best_epoch_: int | None = None
        self.n_iter_ = 0
        optimiser = torch.optim.AdamW(model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        loss_fn = self._loss()
        best_state, best_loss, stale = None, float("inf"), 0
        for epoch in range(int(self.max_epochs)):
            model.train()
            perm = torch.from_numpy(train[rng.permutation(len(train))])
            for start in range(0, len(perm), int(self.batch_size)):
                batch = perm[start : start + int(self.batch_size)]
                optimiser.zero_grad()
                loss = loss_fn(model(X_t[batch]), y_t[batch])
                loss.backward()
                optimiser.step()
            self.n_iter_ = epoch + 1
            # Evaluation mode uses no random numbers (no dropout), so neither the loss
            # below nor a callback's predictions change what the next epoch draws.
            model.eval()
            val_loss = float("nan")
            if n_val:
                with torch.no_grad():
                    val_loss = float(loss_fn(model(X_t[val]), y_t[val]))
                self.validation_loss_curve_.append(val_loss)
            if epoch_callback is not None:
                epoch_callback(self, epoch)
            if n_val == 0:
                continue
            if not np.isfinite(val_loss):
                break  # diverged: keep the best weights seen so far
            if val_loss < best_loss - 1e-6:
                best_loss, stale = val_loss, 0
                self.best_epoch_ = epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        return model

    def _network(self, n_inputs: int, n_outputs: int) -> Any:
        nn = torch.nn
        layers: list[Any] = []
        width = n_inputs
        for _ in range(int(self.n_hidden_layers)):
            layers += [nn.Linear(width, int(self.hidden_width)), nn.ReLU()]
            if self.dropout > 0:
                layers.append(nn.Dropout(float(self.dropout)))
            width = int(self.hidden_width)
        layers.append(nn.Linear(width, n_outputs))
        return nn.Sequential(*layers)

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = check_array(X, dtype=np.float32)
        with torch.no_grad():
            return self.model_(torch.from_numpy(X)).numpy()


class TorchMLPClassifier(ClassifierMixin, _TorchMLPBase):
    """An MLP classifier trained with cross-entropy; ``classes_`` as in scikit-learn."""

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        self.classes_, encoded = np.unique(y, return_inverse=True)
        return encoded.astype(np.int64), len(self.classes_)

    def _loss(self) -> Any:
        return torch.nn.CrossEntropyLoss()

    def predict_proba(self, X: Any) -> np.ndarray:
        logits = self._forward(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self._forward(X), axis=1)]


class TorchMLPRegressor(RegressorMixin, _TorchMLPBase):
    """An MLP regressor trained with squared error on a standardised target."""

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        y = y.astype(np.float64)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1), 1

    def _loss(self) -> Any:
        return torch.nn.MSELoss()

    def predict(self, X: Any) -> np.ndarray:
        return self._forward(X)[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_
