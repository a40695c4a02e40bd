"""The helpers an objective calls, inlined into it so that the source reader sees what they build.

Users factor their code: ``def build(lr, leaves): return HistGradientBoostingClassifier(...)``
called from the objective, or a PyTorch ``class Net(nn.Module)`` defined in an earlier cell
and built as ``Net(hidden, dropout)``. What a parameter sets then lies in the helper, not
in the objective's own body. :func:`inline_helpers` appends each helper's body to (a copy
of) the objective, its arguments bound to the expressions the call passes
(``build(lr, leaves)`` -> ``_h1_lr = lr``), its other names renamed so that they cannot
clash with the objective's, and for a class every method's body with ``self.attr`` read
as one name, so that ``self.p = p`` in ``__init__`` and ``nn.Dropout(self.p)`` in
``forward`` connect.

Which helpers are followed is a *finder*'s answer (a name -> the helper's syntax tree, and
the finder for the names in its body):

- :func:`module_finder`: the functions and classes defined at the top of the same
  source text (a cell given as text);
- :func:`namespace_finder`: the functions and classes that the objective's globals
  and closure hold and that were defined in the objective's own module (a notebook's
  ``__main__``, a script) or in another file of the user's (``from train_utils import
  build``: a file outside the Python installation's library folders and this package),
  the names in their bodies looked up in their own modules. A library's functions
  (``cross_val_score``) are never read.

Helpers of helpers are followed too, up to :data:`MAX_DEPTH` calls deep and
:data:`MAX_HELPERS` inlined calls in all; a helper is never inlined into itself.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import os
import site
import sysconfig
import textwrap
import tokenize
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_HELPERS",
    "argument_list",
    "bound_names",
    "class_node",
    "function_namespace",
    "function_node",
    "in_users_file",
    "inline_helpers",
    "module_finder",
    "namespace_finder",
    "parse",
]

#: How many calls deep helpers are followed (the objective's own calls are depth 1).
MAX_DEPTH = 3
#: The most helper calls inlined into one objective.
MAX_HELPERS = 16

Helper = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
#: A name -> the helper it names and the finder for the names in that helper's body; None for no helper.
Finder = Callable[[str], "tuple[Helper, Finder] | None"]
_Function = ast.FunctionDef | ast.AsyncFunctionDef


def parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):  # ValueError: null bytes in the text
        return None


def function_node(function: Any) -> _Function | None:
    """The syntax tree of a Python function's definition (``inspect.getsource``), or None."""
    try:
        text = inspect.getsource(function)
    except (OSError, TypeError, SyntaxError, tokenize.TokenError):
        return None
    module = parse(textwrap.dedent(text))
    if module is None or not module.body:
        return None
    first = module.body[0]
    if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)) and first.name == function.__name__:
        return first
    return None


def argument_list(arguments: ast.arguments) -> list[ast.arg]:
    """Every argument of a signature: positional, keyword-only, then ``*args`` and ``**kwargs``."""
    listed = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    return listed + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]


def bound_names(body: list[ast.stmt]) -> set[str]:
    """Names the body binds (its local variables, nested functions and their arguments)."""
    bound: set[str] = set()
    declared: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                bound.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                declared.update(node.names)
    return bound - declared


# Finders ------------------------------------------------------------------------------


def module_finder(module: ast.Module) -> Finder:
    """The functions and classes defined at the top level of ``module``."""
    defined = {
        node.name: node for node in module.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }

    def find(name: str) -> tuple[Helper, Finder] | None:
        return (defined[name], find) if name in defined else None

    return find


def function_namespace(function: Any) -> dict[str, Any]:
    """What ``function`` can name: its module's globals and its closure's variables."""
    namespace = dict(getattr(function, "__globals__", {}))
    closure = getattr(function, "__closure__", None) or ()
    for name, cell in zip(function.__code__.co_freevars, closure):
        try:
            namespace[name] = cell.cell_contents
        except ValueError:  # a closure variable not assigned yet
            continue
    return namespace


def namespace_finder(function: Any, namespace: dict[str, Any]) -> Finder:
    """The functions and classes in ``namespace`` (:func:`function_namespace`) that ``function``'s own module or
    another file of the user's defines."""
    module = function.__module__

    def find(name: str) -> tuple[Helper, Finder] | None:
        value = namespace.get(name)
        # Only plain functions and classes are asked anything: other objects of the user's may misbehave.
        if not (inspect.isfunction(value) or inspect.isclass(value)):
            return None
        if value.__module__ != module and not in_users_file(value):
            return None
        if inspect.isfunction(value):
            value = inspect.unwrap(value)
            node: Helper | None = function_node(value)
            inner = namespace_finder(value, function_namespace(value)) if value.__module__ != module else find
        else:
            node = class_node(value)
            inner = find if value.__module__ == module else _class_finder(value)
        return None if node is None else (node, inner)

    return find


def _class_finder(cls: type) -> Finder:
    """Names in a class's methods, looked up in its module (through any of its methods' globals)."""
    methods = [m for m in vars(cls).values() if inspect.isfunction(m)]
    return namespace_finder(methods[0], function_namespace(methods[0])) if methods else (lambda name: None)


#: Folders of installed code: a function defined under one is a library's, never read as a helper.
_LIBRARY_FOLDERS = tuple(
    os.path.realpath(folder) + os.sep
    for folder in {
        *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
        *getattr(site, "getsitepackages", lambda: [])(), site.getusersitepackages(),
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # this package
    }
)


def in_users_file(value: Any) -> bool:
    """Whether ``value`` was defined in a file of the user's (a module of theirs, not an installed library)."""
    try:
        path = inspect.getsourcefile(value)
    except TypeError:  # built in
        return False
    if not path or not os.path.isfile(path):
        return False
    return not (os.path.realpath(path) + os.sep).startswith(_LIBRARY_FOLDERS)


def class_node(cls: type) -> ast.ClassDef | None:
    """A class's methods as a class definition (read one by one: a notebook's class has no file of its own)."""
    methods = [function_node(m) for m in vars(cls).values() if inspect.isfunction(m)]
    body: list[ast.stmt] = [m for m in methods if m is not None]
    if not body:
        return None
    node = ast.ClassDef(name=cls.__name__, bases=[], keywords=[], body=body, decorator_list=[])
    if "type_params" in ast.ClassDef._fields:  # Python 3.12+
        node.type_params = []
    return node


# Inlining -----------------------------------------------------------------------------


def inline_helpers(function: _Function, find: Finder) -> list[Helper]:
    """Append to ``function``'s body the body of every helper it calls (see the module docstring).

    ``function`` is changed in place (give a copy); the helpers followed are returned,
    each once, in the order first called.
    """
    followed: dict[str, Helper] = {}
    found: dict[tuple[int, str], tuple[Helper, Finder] | None] = {}
    numbers = itertools.count(1)
    pending: list[tuple[list[ast.stmt], int, frozenset[str], Finder]] = [
        (function.body, 1, frozenset((function.name,)), find)
    ]
    appended: list[ast.stmt] = []
    inlined = 0
    while pending and inlined < MAX_HELPERS:
        statements, depth, stack, finder = pending.pop(0)
        for call in _calls(statements):
            name = call.func.id  # type: ignore[attr-defined]
            if name in stack:
                continue
            key = (id(finder), name)
            if key not in found:
                found[key] = finder(name)
            if found[key] is None:
                continue
            helper, inner = found[key]  # type: ignore[misc]
            body = _inlined_call(call, helper, f"_h{next(numbers)}_")
            followed.setdefault(name, helper)
            appended.extend(body)
            inlined += 1
            if depth < MAX_DEPTH:
                pending.append((body, depth + 1, stack | {name}, inner))
            if inlined >= MAX_HELPERS:
                break
    function.body = [*function.body, *appended]
    return list(followed.values())


def _calls(statements: list[ast.stmt]) -> Iterator[ast.Call]:
    """Calls of a plain name (``build(...)``, ``Net(...)``), in the order they are written."""
    calls = [n for s in statements for n in ast.walk(s) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return iter(sorted(calls, key=lambda c: (getattr(c, "lineno", 0), getattr(c, "col_offset", 0))))


def _inlined_call(call: ast.Call, helper: Helper, prefix: str) -> list[ast.stmt]:
    """The helper's arguments assigned what ``call`` passes, then its body, its names prefixed."""
    if isinstance(helper, ast.ClassDef):
        methods = [m for m in helper.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        init = next((m for m in methods if m.name == "__init__"), None)
        statements = _bindings(call, init, prefix, skip_first=True) if init is not None else []
        for method in methods:
            statements.extend(_renamed_body(method, prefix, self_name=_first_argument(method)))
        return statements
    return [*_bindings(call, helper, prefix, skip_first=False), *_renamed_body(helper, prefix, self_name=None)]


def _first_argument(method: _Function) -> str | None:
    positional = [*method.args.posonlyargs, *method.args.args]
    return positional[0].arg if positional else None


def _bindings(call: ast.Call, helper: _Function, prefix: str, skip_first: bool) -> list[ast.stmt]:
    """``prefix + argument = value`` for each of the helper's arguments the call (or a default) gives a value."""
    signature = helper.args
    positional = [a.arg for a in (*signature.posonlyargs, *signature.args)][1 if skip_first else 0:]
    values: dict[str, ast.expr] = {}
    for name, value in zip(positional, call.args):
        if isinstance(value, ast.Starred):
            break
        values[name] = value
    named = set(positional) | {a.arg for a in signature.kwonlyargs}
    unpacked = []
    for keyword in call.keywords:
        if keyword.arg is None:
            unpacked.append(keyword.value)
        elif keyword.arg in named:
            values.setdefault(keyword.arg, keyword.value)
    for holder in unpacked:  # build(**config): each argument is config["argument"]
        for name in named - set(values):
            values[name] = ast.Subscript(value=copy.deepcopy(holder), slice=ast.Constant(name), ctx=ast.Load())
    defaults = dict(zip([a.arg for a in (*signature.posonlyargs, *signature.args)][::-1], signature.defaults[::-1]))
    defaults.update((a.arg, d) for a, d in zip(signature.kwonlyargs, signature.kw_defaults) if d is not None)
    for name, default in defaults.items():
        values.setdefault(name, default)
    return [
        ast.Assign(targets=[ast.Name(id=prefix + name, ctx=ast.Store())], value=copy.deepcopy(value), lineno=0)
        for name, value in values.items()
    ]


def _renamed_body(helper: _Function, prefix: str, self_name: str | None) -> list[ast.stmt]:
    local = bound_names(helper.body) | {a.arg for a in argument_list(helper.args)}
    renamer = _Prefixer(local, prefix, self_name)
    return [renamer.visit(copy.deepcopy(statement)) for statement in helper.body]


class _Prefixer(ast.NodeTransformer):
    """Prefixes a helper's own names; ``self.attr`` becomes the one name ``prefix + "self_" + attr``."""

    def __init__(self, local: set[str], prefix: str, self_name: str | None) -> None:
        self._local, self._prefix, self._self = local, prefix, self_name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self._local:
            node.id = self._prefix + node.id
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        if node.arg in self._local:
            node.arg = self._prefix + node.arg
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name in self._local:
            node.name = self._prefix + node.name
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        if self._self is not None and isinstance(node.value, ast.Name) and node.value.id == self._self:
            return ast.copy_location(ast.Name(id=f"{self._prefix}self_{node.attr}", ctx=node.ctx), node)
        self.generic_visit(node)
        return node
