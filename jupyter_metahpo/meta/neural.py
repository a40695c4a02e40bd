"""The seed design's neural meta-model: task encoder + best-configuration predictor.

An autoencoder compresses a task's standardised meta-features into a small embedding
(the task encoder); an MLP maps that embedding to the predicted best configuration in
the new space's unit cube. Both are trained together on the past studies whose
spaces are compatible with the new one: reconstruction keeps the embedding a faithful
summary of the task, and the prediction loss shapes it so that tasks with similar
best configurations sit close together.

The first proposal is the predicted configuration; the next ones are the best
configurations of the nearest past tasks in the learned embedding. torch is
imported only when a model is fitted (through
:class:`~jupyter_metahpo._imports.LazyImport`), and the fit is full-batch and small
(a few thousand parameters), so it refits in well under a second at hundreds of past
tasks (``benchmarks/bench_meta_synthetic.py --fit-timing`` measures it at 1,000).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._imports import LazyImport
from ..experience import PastStudy
from .._threads import limit_threads
from ..space import SearchSpace
from .base import Proposal, TaskDescription, WarmStartStrategy, is_new_point, prepare, source_details
from .compat import TransferredStudy
from .nearest import NearestTasks
from .similarity import feature_names, feature_value

# torch loads when a model is first fitted, not when the strategies are imported.
torch = LazyImport("torch")

__all__ = ["NeuralMetaModel", "FittedMetaModel"]


@dataclass
class FittedMetaModel:
    """What a fit produced: the networks, the feature scaling, and the training tasks' embeddings."""

    network: Any
    feature_names: list[str]
    mean: np.ndarray
    std: np.ndarray
    embeddings: np.ndarray  # (tasks, embedding_dim)
    studies: list[TransferredStudy]
    fit_seconds: float
    final_loss: float

    def embed_and_predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (features - self.mean) / self.std
        with limit_threads(1, native=None, torch=True), torch.no_grad():
            x = torch.as_tensor(np.atleast_2d(z), dtype=torch.float32)
            embedding = self.network.encoder(x)
            predicted = self.network.head(embedding)
        return embedding.numpy(), predicted.numpy()


class NeuralMetaModel(WarmStartStrategy):
    """Task encoder (autoencoder over meta-features) + MLP from embedding to best configuration.

    Parameters
    ----------
    embedding_dim:
        Size of the task embedding.
    epochs:
        Full-batch Adam steps per fit.
    min_tasks:
        Fewer past tasks with meta-features than this and the model is not fitted: the
        proposals come from :class:`~jupyter_metahpo.meta.strategies.NearestTasks`
        instead (and say so).
    seed:
        Seeds the network's initialisation; fits are reproducible.
    """

    name = "neural"

    def __init__(self, embedding_dim: int = 4, epochs: int = 300, min_tasks: int = 5, seed: int = 0) -> None:
        if embedding_dim < 1:
            raise ValueError(f"`embedding_dim` must be >= 1, but got embedding_dim={embedding_dim!r}.")
        if epochs < 1:
            raise ValueError(f"`epochs` must be >= 1, but got epochs={epochs!r}.")
        self.embedding_dim = embedding_dim
        self.epochs = epochs
        self.min_tasks = max(2, int(min_tasks))
        self.seed = seed
        self._cache_key: tuple | None = None
        self.model_: FittedMetaModel | None = None

    # -- fitting -------------------------------------------------------------------
    def fit(self, task: TaskDescription, space: SearchSpace, past: Sequence[PastStudy]) -> FittedMetaModel | None:
        """Fit on the compatible past studies described by ``task``'s feature set (cached)."""
        return self.fit_from(task, space, prepare(space, past))

    def fit_from(
        self, task: TaskDescription, space: SearchSpace, transferred: Sequence[TransferredStudy]
    ) -> FittedMetaModel | None:
        studies = [
            t
            for t in transferred
            if t.study.meta_features is not None and t.study.meta_feature_set == task.meta_feature_set
        ]
        if len(studies) < self.min_tasks:
            return None
        key = (space.to_json_string(), task.meta_feature_set, tuple((t.study.study_id, len(t.scores)) for t in studies))
        if key == self._cache_key and self.model_ is not None:
            return self.model_
        self.model_ = self._fit(task, studies)
        self._cache_key = key
        return self.model_

    def _fit(self, task: TaskDescription, studies: list[TransferredStudy]) -> FittedMetaModel:
        began = time.perf_counter()
        names = feature_names(task)
        raw = np.array([[feature_value(t.study.meta_features, n) for n in names] for t in studies])
        mean = raw.mean(axis=0)
        std = raw.std(axis=0)
        std = np.where(std > 1e-9, std, 1.0)
        features = torch.as_tensor((raw - mean) / std, dtype=torch.float32)
        targets = torch.as_tensor(np.array([t.unit[t.best_index] for t in studies]), dtype=torch.float32)
        with limit_threads(1, native=None, torch=True), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            network = _Network(features.shape[1], min(self.embedding_dim, features.shape[1]), targets.shape[1])
            optimiser = torch.optim.Adam(network.parameters(), lr=1e-2, weight_decay=1e-4)
            loss = torch.tensor(0.0)
            for _ in range(self.epochs):
                optimiser.zero_grad()
                embedding = network.encoder(features)
                reconstruction = network.decoder(embedding)
                predicted = network.head(embedding)
                loss = torch.mean((reconstruction - features) ** 2) + torch.mean((predicted - targets) ** 2)
                loss.backward()
                optimiser.step()
        network.eval()
        with torch.no_grad():
            embeddings = network.encoder(features).numpy()
        return FittedMetaModel(
            network=network,
            feature_names=names,
            mean=mean,
            std=std,
            embeddings=embeddings,
            studies=studies,
            fit_seconds=time.perf_counter() - began,
            final_loss=float(loss.detach()),
        )

    # -- proposing ------------------------------------------------------------------
    def propose_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], k: int
    ) -> list[Proposal]:
        if k < 1:
            return []
        model = self.fit_from(task, space, studies) if task.has_meta_features else None
        if model is None:
            fallback = NearestTasks().propose_from(task, space, studies, k)
            why = "no meta-features for this task" if not task.has_meta_features else (
                f"fewer than {self.min_tasks} compatible past tasks with meta-features"
            )
            return [
                Proposal(p.config, f"{p.reason} (neural model not fitted: {why})", {**p.details, "strategy": "neural/nearest"})
                for p in fallback
            ]
        target = np.array([feature_value(task.meta_features, n) for n in model.feature_names])
        embedding, predicted_unit = model.embed_and_predict(target)
        distance = np.sqrt(np.mean((model.embeddings - embedding[0]) ** 2, axis=1))
        similarity = np.exp(-distance)
        order = [int(i) for i in np.argsort(-similarity, kind="stable")]
        neighbours = order[:3]
        weights = similarity[neighbours] / similarity[neighbours].sum()
        predicted_value = float(sum(w * model.studies[i].values[model.studies[i].best_index] for w, i in zip(weights, neighbours)))
        config = space.decode(predicted_unit)[0]
        neighbour_text = ", ".join(f"{model.studies[i].study.task_name!r} ({similarity[i]:.2f})" for i in neighbours)
        proposals = [
            Proposal(
                config,
                f"predicted best config for this task by the neural meta-model (trained on {len(model.studies)} "
                f"past tasks); its nearest tasks in the learned embedding: {neighbour_text}",
                {
                    "strategy": self.name,
                    "source_task": [model.studies[i].study.task_name for i in neighbours],
                    "source_study": [model.studies[i].study.study_id for i in neighbours],
                    "similarity": float(similarity[neighbours[0]]),
                    "predicted": predicted_value,
                    "embedding": [float(v) for v in embedding[0]],
                },
            )
        ]
        chosen = [space.encode([config])[0]]
        for position, i in enumerate(order):
            if len(proposals) >= k:
                break
            t = model.studies[i]
            best = t.best_index
            if not is_new_point(chosen, t.unit[best]):
                continue
            chosen.append(t.unit[best])
            proposals.append(
                Proposal(
                    t.configs[best],
                    f"best config of {t.study.task_name!r}, #{position + 1} nearest past task in the neural "
                    f"meta-model's embedding (similarity {similarity[i]:.2f}); it {t.scored(best)} there",
                    {"strategy": self.name, "similarity": float(similarity[i]), **source_details(t, best)},
                )
            )
        return proposals


def _Network(n_features: int, embedding_dim: int, n_outputs: int):
    """Encoder, decoder and head as one torch module.

    The class is defined when the first network is built: a module-level subclass of
    ``torch.nn.Module`` would import torch with this module.
    """
    nn = torch.nn

    class MetaNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            hidden = 32
            self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, embedding_dim))
            self.decoder = nn.Sequential(nn.Linear(embedding_dim, hidden), nn.Tanh(), nn.Linear(hidden, n_features))
            self.head = nn.Sequential(
                nn.Linear(embedding_dim, hidden), nn.Tanh(), nn.Linear(hidden, n_outputs), nn.Sigmoid()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.encoder(x))

    return MetaNetwork()
