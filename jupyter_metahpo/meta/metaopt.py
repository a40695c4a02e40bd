"""The optimisation-based meta-learner: a learned update rule, trained across past tasks.

The model-based strategies (:mod:`.neural`, the portfolio, nearest tasks) predict
*where* a new task is good. This one learns *how to move*: given the task's embedding,
the incumbent and the recent trials (in the unit cube, their values normalised within
the study so far), a small network outputs a step from the incumbent and its scale,
a diagonal Gaussian ``N(incumbent + mu, sigma^2)`` over the next configuration. It
needs no model of the best configuration; it is the "optimisation-based" kind of
meta-learning (learned optimisers, MetaBO), next to the "model-based" kind.

**Training** (by regression on steps towards better configurations; the other
methods tried are in ``benchmarks/results/metaopt_choice.md``). Every past study
is a pool of evaluated configurations. A training *state* is a short history drawn
from one pool: a few of its good configurations (as a warm start would give), then
random ones, and, after a first fit, the histories the network itself makes when it
is unrolled on the pools (``rollouts`` rounds, as DAgger does, so that it learns from
the states it reaches). The *targets* of a state are the pool's untried
configurations better than the incumbent, each weighted by
``exp(improvement / temperature)`` in the pool's normalised values (1 = the pool's
best). The network maximises their weighted Gaussian likelihood, so ``mu`` is the
weighted mean step towards better configurations and ``sigma`` their spread; the
loss needs only the targets' weighted mean and variance per state, so a fit over
hundreds of past tasks takes seconds.

**Task embedding**: the encoder of :class:`~.neural.NeuralMetaModel` (the autoencoder
over meta-features), fitted on the same past studies; without meta-features the
embedding is zero and the rule is the same for every task.

**Updating**: as for the neural strategy, fits are cached by the ids and sizes of the
studies they were fitted on, so a study finished (and stored) since the last fit triggers
a refit that learns from it; :meth:`MetaOptimizer.fit_from` with ``update=True`` instead
continues an earlier fit's network on the grown past (a third of the epochs).

The proposals themselves come from
:class:`~jupyter_metahpo.samplers.metaopt.MetaOptimizerSampler`, which the study
pipeline puts after the warm start; as a warm-start strategy (``propose``), this
class serves its warm start's proposals (the default strategy's by default). torch is
imported when a model is first fitted.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._imports import LazyImport
from .._threads import limit_threads
from ..space import SearchSpace
from .base import Proposal, TaskDescription, WarmStartStrategy
from .compat import TransferredStudy
from .neural import FittedMetaModel, NeuralMetaModel
from .similarity import feature_value

torch = LazyImport("torch")

__all__ = ["MetaOptimizer", "FittedMetaOptimizer", "NoPastTasksError", "StepState", "history_state"]

#: How the improving steps train the Gaussian: "moments", the mean of their log-likelihood (it
#: covers them all: the step is their weighted mean); "mode", the log of their mean likelihood
#: (the mass it puts on them: it settles where better configurations are densest).
OBJECTIVES = ("moments", "mode")

#: What a step proposes: "mean", ``incumbent + mu`` (a draw from the Gaussian only when that was
#: tried); "sample", always a draw from ``N(incumbent + mu, sigma^2)``.
PROPOSALS = ("mean", "sample")

#: Fewest trials a past study needs to train on (an incumbent, and something better than it).
MIN_STUDY_TRIALS = 3


class NoPastTasksError(ValueError):
    """The meta-optimiser has no past study of this space to learn its update rule from."""


@dataclass(frozen=True)
class StepState:
    """What the update rule sees: the network's input row and the incumbent it steps from."""

    features: np.ndarray
    incumbent: np.ndarray


def history_state(
    unit: np.ndarray, scores: np.ndarray, embedding: np.ndarray, recent: int, budget: int = 25
) -> StepState:
    """The network's input for one history: ``unit`` (t, d) in the order tried, ``scores`` higher-better.

    Values are min-max normalised within the history (the new task's scale is unknown);
    the input is the embedding, the incumbent, how long it has stood, the progress, and
    the ``recent`` latest trials as (step from the incumbent, normalised value, present).
    """
    unit = np.asarray(unit, dtype=float)
    scores = np.asarray(scores, dtype=float)
    t, d = unit.shape
    low, high = float(scores.min()), float(scores.max())
    normalised = (scores - low) / (high - low) if high - low > 1e-12 else np.ones(t)
    best = int(np.argmax(scores))  # the first of equal bests
    incumbent = unit[best]
    rows = np.zeros((recent, d + 2))
    latest = np.arange(t - 1, max(t - 1 - recent, -1), -1)
    rows[: len(latest), :d] = unit[latest] - incumbent
    rows[: len(latest), d] = normalised[latest]
    rows[: len(latest), d + 1] = 1.0
    age = (t - 1 - best) / 10.0
    features = np.concatenate([embedding, incumbent, [age, t / budget], rows.ravel()])
    return StepState(features, incumbent)


@dataclass
class FittedMetaOptimizer:
    """A fitted update rule: the network, the task encoder, and what it was trained on."""

    network: Any
    encoder: FittedMetaModel | None
    embedding_dim: int
    recent: int
    n_tasks: int
    n_states: int
    fit_seconds: float
    fit_cpu_seconds: float
    final_loss: float
    task_embeddings: dict[str, np.ndarray]

    def embed(self, task: TaskDescription) -> np.ndarray:
        """The new task's embedding (zeros without meta-features or without a fitted encoder)."""
        if self.encoder is None or not task.has_meta_features:
            return np.zeros(self.embedding_dim)
        target = np.array([feature_value(task.meta_features, n) for n in self.encoder.feature_names])
        embedding, _ = self.encoder.embed_and_predict(target)
        return embedding[0]

    def step(self, states: Sequence[StepState]) -> tuple[np.ndarray, np.ndarray]:
        """The predicted step ``mu`` and scale ``sigma`` for each state, each (n, d)."""
        features = np.array([s.features for s in states])
        with limit_threads(1, native=None, torch=True), torch.no_grad():
            mu, log_sigma = self.network(torch.as_tensor(features, dtype=torch.float32))
        return mu.numpy().astype(float), np.exp(log_sigma.numpy().astype(float))


class MetaOptimizer(WarmStartStrategy):
    """A learned update rule ("meta-optimizer"): a step from the incumbent with a learned scale.

    Parameters
    ----------
    warm_start:
        The strategy whose proposals start a study (``propose``); the default strategy
        when built by name. ``None``: no warm start (the study's initial design is then
        a Sobol design of the same size).
    recent:
        How many of the latest trials the rule sees.
    hidden:
        Width of the network's two hidden layers.
    epochs:
        Full-batch Adam steps per fit (a third of them for each rollout round and for
        an update).
    histories_per_task:
        Random training states drawn from each past study.
    temperature:
        How sharply better configurations are preferred as targets (in normalised value).
    rollouts:
        Rounds in which the fitted rule is unrolled on every past pool and the states
        it reaches are added to the training set (0: random histories only).
    rollout_steps:
        Steps of each unrolled search.
    max_tasks:
        More past studies than this and an even spread of them is used.
    objective:
        How the improving steps train the Gaussian (:data:`OBJECTIVES`).
    proposal:
        Whether a step proposes the Gaussian's mean or a draw from it (:data:`PROPOSALS`).
    locality:
        When given, nearer better configurations weigh more as targets (a Gaussian
        weight of this width in the unit cube); None: by improvement alone.
    seed:
        Seeds the histories and the network; fits are reproducible.
    """

    name = "meta-optimizer"

    #: Fitted models this object keeps, by what they were fitted on (a benchmark reuses one object).
    cache_size = 8

    def __init__(
        self,
        warm_start: WarmStartStrategy | None = None,
        recent: int = 4,
        hidden: int = 64,
        epochs: int = 400,
        histories_per_task: int = 48,
        temperature: float = 0.1,
        rollouts: int = 1,
        rollout_steps: int = 10,
        max_tasks: int = 300,
        objective: str = "moments",
        proposal: str = "mean",
        locality: float | None = None,
        seed: int = 0,
    ) -> None:
        for label, value, low in (("recent", recent, 1), ("hidden", hidden, 1), ("epochs", epochs, 1),
                                  ("histories_per_task", histories_per_task, 1), ("rollouts", rollouts, 0),
                                  ("rollout_steps", rollout_steps, 1), ("max_tasks", max_tasks, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{label}` must be an integer >= {low}, but got {label}={value!r}.")
        if objective not in OBJECTIVES:
            raise ValueError(f"`objective` must be one of {list(OBJECTIVES)}, but got objective={objective!r}.")
        if proposal not in PROPOSALS:
            raise ValueError(f"`proposal` must be one of {list(PROPOSALS)}, but got proposal={proposal!r}.")
        if locality is not None and not locality > 0:
            raise ValueError(f"`locality` must be > 0 or None, but got locality={locality!r}.")
        if not temperature > 0:
            raise ValueError(f"`temperature` must be > 0, but got temperature={temperature!r}.")
        self.warm_start = warm_start
        self.recent = recent
        self.hidden = hidden
        self.epochs = epochs
        self.histories_per_task = histories_per_task
        self.temperature = float(temperature)
        self.rollouts = rollouts
        self.rollout_steps = rollout_steps
        self.max_tasks = max_tasks
        self.objective = objective
        self.proposal = proposal
        self.locality = None if locality is None else float(locality)
        self.seed = seed
        self.encoder_model = NeuralMetaModel(seed=seed)
        self._models: OrderedDict[tuple, FittedMetaOptimizer] = OrderedDict()
        self.model_: FittedMetaOptimizer | None = None

    def __repr__(self) -> str:
        return f"MetaOptimizer(warm_start={self.warm_start!r}, seed={self.seed!r})"

    # -- warm start ----------------------------------------------------------------------
    def propose_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], k: int
    ) -> list[Proposal]:
        """The warm start's proposals: the meta-optimiser steps from the incumbent they give."""
        if self.warm_start is None or k < 1:
            return []
        out = []
        for p in self.warm_start.propose_from(task, space, studies, k):
            details = {**p.details, "strategy": f"{self.name}/{p.details.get('strategy')}"}
            out.append(Proposal(p.config, f"{p.reason} (warm start before the meta-optimiser's steps)", details))
        return out

    # -- fitting ---------------------------------------------------------------------------
    def training_studies(self, studies: Sequence[TransferredStudy]) -> list[TransferredStudy]:
        """The past studies it learns from: those with enough trials, an even spread past ``max_tasks``."""
        usable = [t for t in studies if len(t.scores) >= MIN_STUDY_TRIALS and np.ptp(t.scores) > 1e-12]
        if len(usable) > self.max_tasks:
            usable = [usable[int(i)] for i in np.linspace(0, len(usable) - 1, self.max_tasks)]
        return usable

    def require_training_studies(self, studies: Sequence[TransferredStudy]) -> list[TransferredStudy]:
        """:meth:`training_studies`, or :class:`NoPastTasksError` saying how to get some when fewer than 2."""
        training = self.training_studies(studies)
        if len(training) < 2:
            raise NoPastTasksError(
                f"strategy='meta-optimizer' learns its update rule from past studies of this search space, but "
                f"{len(training)} of the {len(studies)} usable past studies have {MIN_STUDY_TRIALS} or more trials "
                "of different values (it needs 2). Tune a few tasks in this space first (each finished study is "
                "stored and learned from), pass past studies with past=..., use a built-in space the bundled prior "
                "covers (jupyter_metahpo.builtin_spaces), or choose strategy='default'."
            )
        return training

    def fit_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], update: bool = False
    ) -> FittedMetaOptimizer:
        """Fit the rule on the past studies carried into ``space`` (cached by what it is fitted on).

        ``update=True``: when a model of this space was fitted on a subset of these
        studies, continue its network for a third of the epochs instead of refitting.
        Raises :class:`NoPastTasksError` when fewer than 2 past studies have at least
        3 trials of different values.
        """
        training = self.require_training_studies(studies)
        space_key = (space.to_json_string(), task.meta_feature_set if task.has_meta_features else None)
        key = (*space_key, tuple((t.study.study_id, len(t.scores)) for t in training))
        if key in self._models:
            self._models.move_to_end(key)
            self.model_ = self._models[key]
            return self.model_
        previous = None
        if update:
            ids = {k for k in key[2]}
            previous = next((m for k, m in reversed(self._models.items())
                             if k[:2] == space_key and set(k[2]) <= ids), None)
        self.model_ = self._fit(task, space, training, previous)
        self._models[key] = self.model_
        while len(self._models) > self.cache_size:
            self._models.popitem(last=False)
        return self.model_

    def _encoder(self, task: TaskDescription, space: SearchSpace, training: list[TransferredStudy]):
        if not task.has_meta_features:
            return None, {}
        encoder = self.encoder_model.fit_from(task, space, training)
        if encoder is None:
            return None, {}
        return encoder, {t.study.study_id: e for t, e in zip(encoder.studies, encoder.embeddings)}

    def _fit(
        self, task: TaskDescription, space: SearchSpace, training: list[TransferredStudy],
        previous: FittedMetaOptimizer | None,
    ) -> FittedMetaOptimizer:
        began, cpu = time.perf_counter(), time.process_time()
        encoder, embeddings = self._encoder(task, space, training)
        dim = self.encoder_model.embedding_dim if encoder is None else encoder.embeddings.shape[1]
        vectors = [embeddings.get(t.study.study_id, np.zeros(dim)) for t in training]
        rng = np.random.default_rng(self.seed)
        examples = _random_states(training, vectors, self.histories_per_task, self.recent, self.temperature, rng,
                                  self.locality)
        if not examples:  # every history drawn already held its study's best: nothing to step towards
            raise NoPastTasksError(
                "strategy='meta-optimizer' found no configuration better than an incumbent in the "
                f"{len(training)} past studies it drew histories from; tune a few more tasks in this space first."
            )
        with limit_threads(1, native=None, torch=True), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            if previous is not None:
                network = _copy_network(previous.network)
                rounds = [max(1, self.epochs // 3)]
            else:
                network = _StepNetwork(len(examples[0][0]), len(space), self.hidden)
                rounds = [self.epochs] + [max(1, self.epochs // 3)] * self.rollouts
            loss = float("nan")
            for r, epochs in enumerate(rounds):
                if r > 0:  # unroll the rule fitted so far on every pool and learn from the states it reaches
                    examples += _rollout_states(network, training, vectors, self.recent, self.rollout_steps,
                                                self.temperature, rng, self.locality)
                loss = _train(network, examples, epochs, self.objective)
        network.eval()
        return FittedMetaOptimizer(
            network=network, encoder=encoder, embedding_dim=dim, recent=self.recent, n_tasks=len(training),
            n_states=len(examples), fit_seconds=time.perf_counter() - began,
            fit_cpu_seconds=time.process_time() - cpu, final_loss=loss,
            task_embeddings={t.study.study_id: v for t, v in zip(training, vectors)},
        )


# ------------------------------------------------------------------ training states


def _targets(normalised: np.ndarray, unit: np.ndarray, tried: np.ndarray, incumbent: int, temperature: float,
             locality: float | None = None):
    """Steps to the untried configurations better than the incumbent, and their weights (summing to 1).

    ``locality``: also weight each by ``exp(-|step|^2 / (2 locality^2))`` (nearer improvements
    count more). None when nothing untried is better (the incumbent is the pool's best).
    """
    better = (normalised > normalised[incumbent] + 1e-9) & ~tried
    if not better.any():
        return None
    steps = unit[better] - unit[incumbent]
    gain = (normalised[better] - normalised[incumbent]) / temperature  # at most 1 / temperature: exp is safe
    if locality is None:
        weights = np.exp(gain)
    else:
        log_w = gain - (steps**2).sum(axis=1) / (2.0 * locality**2)
        weights = np.exp(log_w - log_w.max())
    return steps, weights / weights.sum()


def _random_states(training, vectors, per_task, recent, temperature, rng, locality=None):
    """States from random histories: a few good configurations of the pool (a warm start's kind), then random ones."""
    examples = []
    for t, vector in zip(training, vectors):
        n = len(t.scores)
        normalised = t.normalised
        good = np.argsort(-normalised, kind="stable")[: max(2, int(0.3 * n))]
        for _ in range(per_task):
            length = int(rng.integers(1, min(n - 1, 15) + 1))
            warm = int(rng.integers(0, min(3, length) + 1))
            first = list(rng.choice(good, size=min(warm, len(good)), replace=False))
            rest = [int(i) for i in rng.permutation(n) if i not in first][: length - len(first)]
            example = _example(t, normalised, np.array(first + rest, dtype=int), vector, recent, temperature, locality)
            if example is not None:
                examples.append(example)
    return examples


def _example(t: TransferredStudy, normalised, order, vector, recent, temperature, locality=None):
    """(state features, steps to better configurations, their weights) for one history, or None."""
    state = history_state(t.unit[order], t.scores[order], vector, recent)
    tried = np.zeros(len(t.scores), dtype=bool)
    tried[order] = True
    incumbent = int(order[int(np.argmax(t.scores[order]))])
    target = _targets(normalised, t.unit, tried, incumbent, temperature, locality)
    return None if target is None else (state.features, *target)


def _rollout_states(network, training, vectors, recent, steps, temperature, rng, locality=None):
    """Unroll the rule on every past pool (from 3 of its good configurations) and label the states reached."""
    runs = []
    for t, vector in zip(training, vectors):
        good = np.argsort(-t.normalised, kind="stable")[: max(3, int(0.3 * len(t.scores)))]
        start = [int(i) for i in rng.choice(good, size=min(3, len(good)), replace=False)]
        runs.append((t, vector, t.normalised, start))
    examples = []
    for _ in range(steps):
        live = [r for r in runs if len(r[3]) < len(r[0].scores)]
        if not live:
            break
        batch = [history_state(t.unit[order], t.scores[order], vector, recent) for t, vector, _, order in live]
        with torch.no_grad():
            mu, _ = network(torch.as_tensor(np.array([s.features for s in batch]), dtype=torch.float32))
        proposals = np.clip(np.array([s.incumbent for s in batch]) + mu.numpy(), 0.0, 1.0)
        for (t, vector, normalised, order), point in zip(live, proposals):
            example = _example(t, normalised, np.array(order), vector, recent, temperature, locality)
            if example is not None:
                examples.append(example)
            distance = ((t.unit - point) ** 2).sum(axis=1)
            distance[order] = np.inf
            order.append(int(np.argmin(distance)))  # the nearest untried configuration of the pool
    return examples


# ------------------------------------------------------------------ the network


def _train(network, examples, epochs, objective) -> float:
    """Full-batch Adam on the improving steps' likelihood under the rule's Gaussian (see ``objective``)."""
    x = torch.as_tensor(np.array([e[0] for e in examples]), dtype=torch.float32)
    if objective == "moments":
        # E_w[log N(s)] needs only the weighted mean and variance of the steps: cheap.
        means = np.array([w @ s for _, s, w in examples])
        variances = np.array([w @ (s - m) ** 2 for (_, s, w), m in zip(examples, means)])
        m, v = torch.as_tensor(means, dtype=torch.float32), torch.as_tensor(variances, dtype=torch.float32)
    else:
        # log E_w[N(s)]: the mass the Gaussian puts on better configurations, padded to the largest pool.
        width = max(len(e[2]) for e in examples)
        steps = np.zeros((len(examples), width, examples[0][1].shape[1]))
        log_w = np.full((len(examples), width), -np.inf)
        for i, (_, s, w) in enumerate(examples):
            steps[i, : len(w)] = s
            log_w[i, : len(w)] = np.log(w)
        s_t, log_w_t = torch.as_tensor(steps, dtype=torch.float32), torch.as_tensor(log_w, dtype=torch.float32)
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3, weight_decay=1e-5)
    network.train()
    loss = torch.tensor(0.0)
    for _ in range(epochs):
        optimiser.zero_grad()
        mu, log_sigma = network(x)
        if objective == "moments":
            loss = torch.mean(torch.sum(0.5 * (v + (m - mu) ** 2) * torch.exp(-2.0 * log_sigma) + log_sigma, dim=1))
        else:
            z = (s_t - mu[:, None, :]) * torch.exp(-log_sigma)[:, None, :]
            log_density = torch.sum(-0.5 * z**2 - log_sigma[:, None, :], dim=2)
            loss = -torch.mean(torch.logsumexp(log_w_t + log_density, dim=1))
        loss.backward()
        optimiser.step()
    network.eval()
    return float(loss.detach())


#: The learned scale's range in the unit cube: below, steps would round to the same configuration.
LOG_SIGMA_RANGE = (float(np.log(0.01)), 0.0)


def _StepNetwork(n_inputs: int, n_outputs: int, hidden: int):
    """Inputs -> (mu in [-1, 1]^d, log sigma); the class is defined on first use (torch stays lazy)."""
    nn = torch.nn
    low, high = LOG_SIGMA_RANGE

    class StepNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_inputs, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
            self.mu = nn.Linear(hidden, n_outputs)
            self.log_sigma = nn.Linear(hidden, n_outputs)

        def forward(self, x):
            h = self.body(x)
            return torch.tanh(self.mu(h)), low + (high - low) * torch.sigmoid(self.log_sigma(h))

    return StepNetwork()


def _copy_network(network):
    return copy.deepcopy(network)
