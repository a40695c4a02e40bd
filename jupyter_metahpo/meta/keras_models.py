"""A Keras model read as the multi-layer perceptron and the training it runs.

Keras 3 (on its torch, JAX or TensorFlow backend) builds an MLP from ``keras.layers.Dense``
and trains it with ``model.fit``: the model the bundled prior's torch MLP studies tuned, as
a PyTorch loop or skorch builds it. What each call sets, read here for :mod:`.source`:

- ``Dense(units)`` the width of a hidden layer (``hidden_width``). A ``Dense`` whose
  activation is ``"softmax"``, ``"sigmoid"``, ``"linear"``, ``None`` or left out is the
  output layer when its units are a literal: its width is the number of outputs, not a
  width to fix;
- ``Dropout(rate)`` (``AlphaDropout``, ``GaussianDropout``) the dropout;
- an optimiser of ``keras.optimizers`` its ``learning_rate`` and ``weight_decay``. One left at
  its default rate, or named by a string in ``model.compile(optimizer="adam")``, fixes no rate:
  the past is not read at Keras's default rate, as it is not at torch's (measured on Optuna's
  PyTorch Lightning example, whose Adam runs at its default 0.001: reading the prior there did no
  better than reading it at every rate, 0.286 / 0.095 / 0.072 against 0.247 / 0.086 / 0.065 at
  trials 1 / 5 / 10, p 0.4 / 0.02 / 0.5 over 60 paired runs);
- ``model.fit(x, y, batch_size=..., epochs=...)`` the batch size and the epochs (Keras's
  batch size is 32 when left out).

A loop or comprehension over ``range(n)`` that builds ``Dense`` layers sets the number of
layers, as one building torch's ``nn.Linear`` does. A parameter passed as ``compile``'s
optimiser (``"adam"``, ``"sgd"``) or as a layer's activation (``"relu"``, ``"tanh"``)
chooses that class (:func:`keras_chosen`), as a torch loop's table does. Convolutional,
recurrent, embedding and attention layers make another model: not an MLP.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ._syntax import argument, calls_in, dotted, literal
from .torch_choices import ACTIVATION_NAMES, KERAS_ACTIVATION, KERAS_OPTIMIZER, ChoiceKind

__all__ = [
    "DEFAULT_BATCH_SIZE", "FIT_TARGET", "KERAS_OPTIMIZER_NAMES", "KerasArgument", "is_keras_layer", "is_keras_mlp",
    "keras_arguments", "keras_chosen", "keras_named_classes", "uses_keras",
]

#: The optimisers ``compile`` takes by name, by that name.
KERAS_OPTIMIZER_NAMES = {name.lower(): name for name in KERAS_OPTIMIZER.classes}
#: ``model.fit``'s batch size when the call leaves it out.
DEFAULT_BATCH_SIZE = 32
#: The target of the roles that ``model.fit`` gives.
FIT_TARGET = "keras.Model.fit"
#: Keras's dropout layers (their first argument is the rate).
_DROPOUT_LAYERS = frozenset(("Dropout", "AlphaDropout", "GaussianDropout"))
#: Layers that make a model other than an MLP.
_OTHER_LAYERS = frozenset(
    ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Convolution1D",
     "Convolution2D", "Convolution3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
     "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "Embedding",
     "MultiHeadAttention", "GroupQueryAttention", "Attention", "AdditiveAttention", "EinsumDense")
)
_LAYERS = frozenset(("Dense", "Activation", *_DROPOUT_LAYERS, *_OTHER_LAYERS))
#: A ``Dense`` with one of these activations (or none) outputs the model's prediction.
_OUTPUT_ACTIVATIONS = frozenset(("softmax", "sigmoid", "linear", None))


class KerasArgument(NamedTuple):
    """One role a Keras call sets: its target (``"keras.layers.Dense"``), the argument (``"units"``), the role
    (``"hidden_width"``), the expression passed, or when the call leaves it out (``expression`` None) Keras's own
    ``default`` (None when it has none to read)."""

    target: str
    argument: str
    role: str
    expression: ast.expr | None
    default: Any = None


def uses_keras(paths: Iterable[str]) -> bool:
    """Whether calls of these dotted paths build a Keras model: a ``keras.`` path (``tf.keras`` too) or a
    ``Dense`` layer (``layers.Dense``, or imported by its name)."""
    return any("keras" in path.split(".")[:-1] or _is_dense(path) for path in paths)


def _is_dense(path: str) -> bool:
    parts = path.split(".")
    return parts[-1] == "Dense" and (len(parts) == 1 or parts[-2] == "layers")


def is_keras_layer(path: str) -> bool:
    """Whether ``path`` names a Keras layer (``layers.Dense``, ``keras.layers.Dropout``, an imported ``Dense``)."""
    parts = path.split(".")
    return parts[-1] in _LAYERS and (len(parts) == 1 or "layers" in parts[:-1] or "keras" in parts[:-1])


def is_keras_mlp(paths: Iterable[str]) -> bool:
    """Whether calls of these paths (in a Keras objective) build an MLP and train it: a ``Dense`` layer, no
    convolutional, recurrent or attention layer, and an optimiser, ``compile`` or ``fit``."""
    paths = list(paths)
    names = {p.rpartition(".")[2] for p in paths if is_keras_layer(p)}
    trains = any(_optimizer_name(p) is not None or p.rpartition(".")[2] in ("compile", "fit") for p in paths)
    return "Dense" in names and not names & _OTHER_LAYERS and trains


def _optimizer_name(path: str) -> str | None:
    """``Adam`` for ``keras.optimizers.Adam``, ``optimizers.Adam`` or an imported ``Adam`` (``Optimizer`` for one
    chosen when the trial runs, :func:`.torch_choices.name_chosen`); None for another path."""
    parts = path.split(".")
    known = parts[-1] in KERAS_OPTIMIZER.classes or parts[-1] == "Optimizer"
    return parts[-1] if known and (len(parts) == 1 or "optimizers" in parts[:-1]) else None


def keras_arguments(call: ast.Call, path: str) -> list[KerasArgument] | None:
    """What a call of a Keras objective sets (see the module's docstring); None when it is no call read here."""
    parts = path.split(".")
    name = parts[-1]
    optimizer = _optimizer_name(path)
    if optimizer is not None:
        target = f"keras.optimizers.{optimizer}"
        rate, passed_as = argument(call, "learning_rate", 0), "learning_rate"
        if rate is None and argument(call, "lr") is not None:  # Keras 2's name for it
            rate, passed_as = argument(call, "lr"), "lr"
        found = [KerasArgument(target, passed_as, "learning_rate", rate)]
        weight_decay = argument(call, "weight_decay")
        if weight_decay is not None:
            found.append(KerasArgument(target, "weight_decay", "weight_decay", weight_decay))
        return found
    if not is_keras_layer(path) and len(parts) > 1 and name == "fit" and _is_keras_fit(call):
        return [KerasArgument(FIT_TARGET, "batch_size", "batch_size", argument(call, "batch_size", 2),
                              DEFAULT_BATCH_SIZE),
                KerasArgument(FIT_TARGET, "epochs", "max_epochs", argument(call, "epochs", 3))]
    if not is_keras_layer(path):
        return None
    if name == "Dense":
        units = argument(call, "units", 0)
        activation = argument(call, "activation", 1)
        if (activation is None or literal(activation) in _OUTPUT_ACTIVATIONS) and isinstance(literal(units), int):
            return []  # the output layer: its units are the number of outputs
        return [KerasArgument("keras.layers.Dense", "units", "hidden_width", units)]
    if name in _DROPOUT_LAYERS:
        return [KerasArgument(f"keras.layers.{name}", "rate", "dropout", argument(call, "rate", 0))]
    return []


def _is_keras_fit(call: ast.Call) -> bool:
    """``model.fit(...)`` as Keras's: it passes ``epochs`` or ``batch_size`` (by name, or four positions);
    scikit-learn's ``scaler.fit(X)`` does not."""
    named = {kw.arg for kw in call.keywords}
    return bool(named & {"epochs", "batch_size"}) or len(call.args) >= 4


def keras_chosen(function: ast.AST) -> list[tuple[ChoiceKind, ast.expr, dict[Any, str]]]:
    """Each expression that chooses the Keras optimiser or an activation by its name (``compile(optimizer=name)``,
    ``Dense(units, activation=activation)``, ``Activation(activation)``): its kind, the expression and what each
    name runs (``"adam"`` runs ``Adam``, ``"relu"`` runs ``ReLU``). Which are parameters, the caller reads."""
    return [(kind, expression, dict(runs)) for kind, expression, runs in _named_by_string(_keras_calls(function))
            if not isinstance(expression, ast.Constant)]


def keras_named_classes(function: ast.AST) -> tuple[str, ...]:
    """The Keras optimisers and activations ``function`` runs by name, as ``keras.optimizers.Adam`` and
    ``keras.activations.ReLU`` (an activation as torch names its class), sorted: what a study that never chose them
    ran (:func:`.as_it_ran.past_class`). An optimiser called (``keras.optimizers.Adam(...)``) or named in ``compile``
    (``"adam"``); an activation named in a ``Dense`` or an ``Activation`` layer (``activation="relu"``)."""
    calls = _keras_calls(function)
    called = (_optimizer_name(dotted(call.func) or "") for call in calls)
    found = {f"{KERAS_OPTIMIZER.module}.{name}" for name in called if name not in (None, "Optimizer")}
    for kind, expression, runs in _named_by_string(calls):
        name = str(literal(expression))
        named = runs.get(name.lower() if kind is KERAS_OPTIMIZER else name)
        if named is not None:
            found.add(f"{kind.module}.{named}")
    return tuple(sorted(found))


def _keras_calls(function: ast.AST) -> list[ast.Call]:
    """The calls of ``function`` when it builds a Keras model; none otherwise (``re.compile(pattern)`` is no Keras
    model's)."""
    calls = calls_in([function])
    return calls if uses_keras(dotted(call.func) or "" for call in calls) else []


def _named_by_string(calls: list[ast.Call]) -> list[tuple[ChoiceKind, ast.expr, Mapping[str, str]]]:
    """Where Keras takes a class by its name: ``compile``'s optimiser (``"adam"``), a ``Dense``'s or an
    ``Activation`` layer's activation (``"relu"``): the kind, the expression passed and what each name runs."""
    found: list[tuple[ChoiceKind, ast.expr, Mapping[str, str]]] = []
    for call in calls:
        path = dotted(call.func) or ""
        name = path.rpartition(".")[2]
        if name == "compile" and "." in path and not is_keras_layer(path):
            kind, expression, runs = KERAS_OPTIMIZER, argument(call, "optimizer", 0), KERAS_OPTIMIZER_NAMES
        elif is_keras_layer(path) and name in ("Dense", "Activation"):
            kind, runs = KERAS_ACTIVATION, ACTIVATION_NAMES
            expression = argument(call, "activation", 1 if name == "Dense" else 0)
        else:
            continue
        if expression is not None:
            found.append((kind, expression, runs))
    return found
