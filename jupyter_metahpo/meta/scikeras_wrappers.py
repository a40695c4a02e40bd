"""A SciKeras wrapper read as the Keras model and the training it runs.

SciKeras wraps a function that builds a Keras model in a scikit-learn estimator:
``KerasClassifier(model=get_model, hidden=hidden, optimizer="adam", optimizer__learning_rate=lr,
epochs=epochs, batch_size=batch_size)``. SciKeras calls the function, compiles the model and fits
it, so the objective's own source holds neither the optimiser nor ``fit``, and the reader would
see no model. :func:`what_scikeras_runs` writes out what the wrapper runs, as statements that
:mod:`.keras_models` reads, after the statement that builds the wrapper (so that they stand under
the same branches):

- the model function called with the ``model__`` arguments and with the wrapper's other
  arguments that are not SciKeras's own (SciKeras passes both to it): ``get_model(hidden=hidden)``,
  which the reader inlines as any helper (a model passed already built is a call the objective
  makes itself);
- the optimiser, with the ``optimizer__`` arguments: a class passed (``keras.optimizers.Adam``)
  called with them; a name (``"adam"``; SciKeras's default is ``"rmsprop"``) as the class it names,
  and as ``compile(optimizer=name)``, so that a choice of names reads as in a Keras cell;
- ``fit`` with the wrapper's ``epochs`` (SciKeras's default is 1) and ``batch_size`` (Keras's 32
  when left out), or their ``fit__`` forms.
"""

from __future__ import annotations

import ast

from ._syntax import argument, call_statement, dotted, literal
from .keras_models import KERAS_OPTIMIZER_NAMES

__all__ = ["SCIKERAS_WRAPPERS", "is_scikeras_wrapper", "what_scikeras_runs"]

#: SciKeras's wrappers, which build, compile and fit a Keras model.
SCIKERAS_WRAPPERS = frozenset(("KerasClassifier", "KerasRegressor"))
#: The wrappers' own constructor arguments (SciKeras 0.13); any other argument goes to the model function.
_OWN_ARGUMENTS = frozenset((
    "model", "build_fn", "warm_start", "random_state", "optimizer", "loss", "metrics", "batch_size",
    "validation_batch_size", "verbose", "callbacks", "validation_split", "shuffle", "run_eagerly", "epochs",
    "class_weight",
))
#: SciKeras's defaults for what the reader reads.
_DEFAULT_OPTIMIZER = "rmsprop"
_DEFAULT_EPOCHS = 1
#: The name the written-out statements call the model by.
_MODEL = "_scikeras_model"


def is_scikeras_wrapper(path: str) -> bool:
    """``scikeras.wrappers.KerasClassifier``, ``wrappers.KerasRegressor``, or one imported by its name."""
    parts = path.split(".")
    return parts[-1] in SCIKERAS_WRAPPERS and (len(parts) == 1 or bool({"scikeras", "wrappers"} & set(parts[:-1])))


def what_scikeras_runs(call: ast.Call) -> list[ast.stmt]:
    """When ``call`` builds a SciKeras wrapper, what it runs as statements (see the module's docstring); else none."""
    if not is_scikeras_wrapper(dotted(call.func) or ""):
        return []
    routed: dict[str, dict[str, ast.expr]] = {"model": {}, "optimizer": {}, "fit": {}}
    plain: dict[str, ast.expr] = {}
    for kw in call.keywords:
        prefix, _, name = (kw.arg or "").partition("__")
        if name and prefix in routed:
            routed[prefix][name] = kw.value
        elif kw.arg is not None and not name and kw.arg not in _OWN_ARGUMENTS:
            plain[kw.arg] = kw.value
    statements = []
    model = argument(call, "model", 0) or argument(call, "build_fn")
    if model is not None and not isinstance(model, ast.Call):
        statements.append(call_statement(model, {**plain, **routed["model"]}))
    optimizer = argument(call, "optimizer") or ast.Constant(_DEFAULT_OPTIMIZER)
    statements.extend(_optimizer_statements(optimizer, routed["optimizer"]))
    fit = {"epochs": routed["fit"].get("epochs") or argument(call, "epochs") or ast.Constant(_DEFAULT_EPOCHS)}
    batch_size = routed["fit"].get("batch_size") or argument(call, "batch_size")
    if batch_size is not None and literal(batch_size) is not None:  # None: Keras's 32, which fit's reading supplies
        fit["batch_size"] = batch_size
    statements.append(call_statement(ast.Attribute(ast.Name(_MODEL, ast.Load()), "fit", ast.Load()), fit))
    return statements


def _optimizer_statements(optimizer: ast.expr, arguments: dict[str, ast.expr]) -> list[ast.stmt]:
    """The optimiser SciKeras builds: a class called with ``arguments``; a name as its class (when it has arguments)
    and as ``compile``'s optimiser."""
    compiled = call_statement(ast.Attribute(ast.Name(_MODEL, ast.Load()), "compile", ast.Load()),
                              {"optimizer": optimizer})
    name = literal(optimizer)
    if isinstance(name, str):
        known = KERAS_OPTIMIZER_NAMES.get(name.lower())
        if known is None or not arguments:
            return [compiled]
        return [call_statement(ast.parse(f"keras.optimizers.{known}", mode="eval").body, arguments), compiled]
    if isinstance(optimizer, (ast.Name, ast.Attribute)) and (dotted(optimizer) or "").rpartition(".")[2][:1].isupper():
        return [call_statement(optimizer, arguments)]  # a class: keras.optimizers.Adam, or Adam imported by its name
    # Chosen when the trial runs (a parameter naming it): its learning rate is an optimiser's, whichever it is.
    chosen = ast.parse("keras.optimizers.Optimizer", mode="eval").body
    return [call_statement(chosen, arguments), compiled] if arguments else [compiled]
