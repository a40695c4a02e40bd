"""A skorch net read as the PyTorch training loop it runs.

skorch wraps a ``torch.nn.Module`` in a scikit-learn estimator that trains it:
``NeuralNetClassifier(MLP, module__hidden=hidden, lr=lr, max_epochs=epochs,
optimizer=torch.optim.Adam, optimizer__weight_decay=wd)``. The module is built, and the
optimiser called, inside skorch, so the objective's source holds neither call and the
source reader would not see a training loop. :func:`what_skorch_runs` writes them out as
statements the reader understands, which the reader puts after the statement that builds the
net, in (a copy of) the objective, so that they stand under the same branches:

- the module built with the ``module__`` arguments (``MLP(hidden=hidden)``; a module
  passed already built, ``ClassifierModule(trial)`` in Optuna's skorch example, is a call
  the objective makes itself);
- the optimiser called with the ``optimizer__`` arguments and ``lr``
  (``torch.optim.Adam(None, lr=lr, weight_decay=wd)``; skorch's default optimiser is SGD).

``max_epochs`` and ``batch_size`` are read from the net's call itself (:data:`SKORCH_ROLES`).
"""

from __future__ import annotations

import ast

from ._syntax import argument, call_statement, dotted

__all__ = ["SKORCH_NETS", "SKORCH_ROLES", "is_skorch_net", "what_skorch_runs"]

#: skorch's nets, which train a torch module.
SKORCH_NETS = frozenset(("NeuralNet", "NeuralNetClassifier", "NeuralNetRegressor", "NeuralNetBinaryClassifier"))
#: A net's arguments that set a role of the training loop (read from the net's call), by argument.
SKORCH_ROLES = {"max_epochs": "max_epochs", "batch_size": "batch_size", "iterator_train__batch_size": "batch_size"}
#: skorch's default optimiser (``NeuralNet(optimizer=torch.optim.SGD)``).
_DEFAULT_OPTIMIZER = "torch.optim.SGD"


def is_skorch_net(path: str) -> bool:
    """``skorch.NeuralNetClassifier``, or the class imported by its name."""
    parts = path.split(".")
    return parts[-1] in SKORCH_NETS and (len(parts) == 1 or "skorch" in parts[:-1])


def what_skorch_runs(call: ast.Call) -> list[ast.stmt]:
    """When ``call`` builds a skorch net, the module's construction and the optimiser's call it runs, as
    statements (see the module's docstring); else none."""
    if not is_skorch_net(dotted(call.func) or ""):
        return []
    statements: list[ast.stmt] = []
    module = argument(call, "module", 0)
    prefixed: dict[str, dict[str, ast.expr]] = {"module": {}, "optimizer": {}}
    for kw in call.keywords:
        prefix, _, name = (kw.arg or "").partition("__")
        if name and prefix in prefixed:
            prefixed[prefix][name] = kw.value
    if module is not None and not isinstance(module, ast.Call) and prefixed["module"]:
        statements.append(call_statement(module, prefixed["module"]))
    learning_rate = argument(call, "lr")
    if learning_rate is not None:
        prefixed["optimizer"].setdefault("lr", learning_rate)
    optimizer = argument(call, "optimizer") or ast.parse(_DEFAULT_OPTIMIZER, mode="eval").body
    statements.append(call_statement(optimizer, prefixed["optimizer"], first=ast.Constant(None)))
    return statements
