"""Heavy third-party modules, imported on first use.

``import jupyter_metahpo`` and ``%load_ext jupyter_metahpo`` must stay quick, yet the
package's own modules import each other at module top (so that the import graph is
what a reader sees, and a test can check its layers). The heavy libraries (torch,
botorch, scikit-learn, ipywidgets, ...) therefore go through :class:`LazyImport`:
the module object stands in for the library and imports it when an attribute is
first read. This follows Optuna's ``optuna._imports._LazyImport``.

A missing optional library fails at that first use, with the command that installs it.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["LazyImport"]


class LazyImport(types.ModuleType):
    """A stand-in for the module ``name`` that imports it when first used.

    Parameters
    ----------
    name:
        The module's import path, e.g. ``"torch"`` or ``"scipy.optimize"``.
    install:
        What to run when the module is missing, e.g. ``'pip install "jupyter-metahpo[dev]"'``;
        by default ``pip install <top-level package>``.
    """

    def __init__(self, name: str, install: str | None = None) -> None:
        super().__init__(name)
        self._lazy_name = name
        self._lazy_install = install or f"pip install {name.split('.')[0]}"
        self._lazy_module: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        if self._lazy_module is None:
            try:
                module = importlib.import_module(self._lazy_name)
            except ImportError as missing:
                raise ImportError(
                    f"jupyter_metahpo needs the module {self._lazy_name!r} here, but it could not be imported "
                    f"({missing}): run `{self._lazy_install}`."
                ) from missing
            self._lazy_module = module
            self.__dict__.update(module.__dict__)
        return self._lazy_module

    def __getattr__(self, item: str) -> Any:
        return getattr(self._load(), item)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "imported" if self._lazy_module is not None else "not imported yet"
        return f"<LazyImport {self._lazy_name!r} ({state})>"
