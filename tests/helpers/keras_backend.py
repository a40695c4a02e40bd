"""Keras 3 on its torch backend for the tests that run a Keras model (no TensorFlow is installed)."""

from __future__ import annotations

from typing import Any

import pytest


def keras_on_torch(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``keras`` module on its torch backend; the test is skipped without torch or keras, or when keras was
    imported earlier on another backend (the backend is read when keras is first imported)."""
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported earlier on its {keras.backend.backend()} backend")
    return keras
