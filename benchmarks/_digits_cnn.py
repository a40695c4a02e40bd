"""Notebook 3's digits CNN (``notebooks/03-your-own-training-loop.ipynb``) as a benchmark task.

The same network (two 3x3 convolution blocks, a hidden layer, 10 outputs), training loop
(Adam, the given batch size, ``torch.manual_seed(seed)`` before the model is built) and
split (75% / 25% stratified, ``random_state=0``) as the notebook's ``train_and_score``,
on one thread; ``curve`` returns the validation accuracy after every epoch. The tasks are
the notebook's clean and noisy (sigma 0.3) digits and a noisier scanner (sigma 0.5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

#: Task name -> pixel noise of the scanner (the notebook's clean and noisy digits, and a noisier one).
TASKS = {"digits": 0.0, "noisy-digits": 0.3, "noisier-digits": 0.5}


def space() -> dict[str, Any]:
    """The notebook's first space."""
    from jupyter_metahpo import choice, intrange, loguniform

    return {
        "learning_rate": loguniform(1e-4, 3e-2),
        "batch_size": choice(16, 32, 64, 128),
        "channels": intrange(4, 32, log=True),
        "hidden": intrange(16, 256, log=True),
    }


@lru_cache(maxsize=None)
def images(task: str) -> tuple[np.ndarray, np.ndarray]:
    """The task's images in [0, 1] and labels (the noise drawn as in the notebook, seed 0)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images / 16.0).astype("float32")
    sigma = TASKS[task]
    if sigma:
        noise = np.random.default_rng(0).normal(0.0, sigma, size=pixels.shape).astype("float32")
        pixels = np.clip(pixels + noise, 0.0, 1.0)
    return pixels, digits.target


def make_cnn(channels: int, hidden: int):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, channels, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * channels * 2 * 2, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def train(task: str, config: Mapping[str, Any], epochs: int, seed: int = 0,
          on_epoch: Callable[[int, float], None] | None = None) -> list[float]:
    """Train the CNN on ``task`` with ``config``; the validation accuracy after each epoch.

    ``on_epoch(epoch, accuracy)`` is called after every epoch (it may raise to stop the
    training, as a pruned trial does).
    """
    import torch
    from sklearn.model_selection import train_test_split
    from torch import nn

    torch.set_num_threads(1)
    pixels, labels = images(task)
    X_train, X_val, y_train, y_val = train_test_split(pixels, labels, test_size=0.25, stratify=labels,
                                                      random_state=0)
    torch.manual_seed(seed)
    model = make_cnn(int(config["channels"]), int(config["hidden"]))
    optimiser = torch.optim.Adam(model.parameters(), lr=float(config["learning_rate"]))
    X_train, y_train = torch.from_numpy(X_train).unsqueeze(1), torch.from_numpy(y_train).long()
    X_val = torch.from_numpy(X_val).unsqueeze(1)
    batch_size = int(config["batch_size"])
    curve = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(X_train))
        for start in range(0, len(X_train), batch_size):
            batch = order[start:start + batch_size]
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(X_train[batch]), y_train[batch]).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            accuracy = float((model(X_val).argmax(dim=1).numpy() == y_val).mean())
        curve.append(accuracy)
        if on_epoch is not None:
            on_epoch(epoch, accuracy)
    return curve
