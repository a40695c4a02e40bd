"""A small dataset shaped like the live benchmarks' (``benchmarks.bench_live.load_live_dataset``), for their tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd


def toy_dataset(task: str, n_rows: int = 40) -> SimpleNamespace:
    """Two numeric columns and one text column; a balanced binary target, or a noisy linear one for regression."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n_rows), "b": rng.normal(size=n_rows),
                      "c": rng.choice(["u", "v"], size=n_rows)})
    y = np.array([0, 1] * (n_rows // 2)) if task == "classification" else X["a"].to_numpy() * 2 + rng.normal(size=n_rows)
    return SimpleNamespace(name="toy", task=task, X=X, y=y, categorical_columns=["c"], numeric_columns=["a", "b"])
