"""The import contract: the package's layers, checked on the code rather than claimed.

Every module of ``jupyter_metahpo`` belongs to one layer (:data:`LAYERS`). A module may
import modules of its own layer or of the layers below it, never above; the package's
modules import each other at module top only (so the import graph is what a reader
sees); and no chain of imports between them comes back to where it started. Heavy
third-party libraries stay lazy through :class:`jupyter_metahpo._imports.LazyImport`.

The checker walks the syntax tree of every module (imports at module top and inside
functions, relative imports resolved, ``importlib.import_module`` with a literal name),
so it needs no import of the package and sees imports that have not run yet.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "jupyter_metahpo"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE

#: The layers, top to bottom. A module may import its own layer or lower ones. Each
#: name is the first component of a module's path inside the package (``meta`` holds
#: ``jupyter_metahpo.meta`` and everything under it; ``progress`` is the top-level
#: ``progress.py``, ``widgets/progress.py`` belongs to ``widgets``). The package root
#: (``jupyter_metahpo/__init__.py``) is in no layer: it re-exports the public API, so it
#: may import anything, and anything importing it imports upwards. Names of modules
#: that do not exist yet are listed where they will go.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("magics", "cell", "cli", "demo", "server"),  # entry points (cell: how the magic reads a cell)
    ("search_cv",),  # scikit-learn front end over tune()
    ("api", "racing", "suggestions", "pipeline", "past_selection", "curve_sources"),  # one study pipeline and its callers
    ("widgets", "progress"),  # render the snapshots they are given
    ("study", "parallel", "parallel_reports", "reporting", "keras_pruning", "lightning_pruning"),  # the ask/tell loop (parallel: on Dask workers; parallel_reports: their curves and pruning); a running trial's `trial` handle (keras_pruning, lightning_pruning: reported from Keras's and Lightning's fit)
    ("samplers", "pruners"),  # propose configurations; stop trials early from their learning curves
    ("meta",),  # meta-features, warm-start strategies
    ("store", "prior", "builtin_spaces", "torch_mlp"),  # where past studies come from
    (  # shapes and helpers
        "result", "warm_report", "experience", "trial", "space", "suggest_calls", "param_distributions", "_imports",
        "_threads", "_version",
        "_text", "_capture", "_deadline", "_figures",
    ),
)

#: Upward imports allowed by name: deprecated aliases that keep old import paths working
#: (each with a DeprecationWarning that gives the new path). (importing module, imported module).
DEPRECATED_ALIASES = {("jupyter_metahpo.widgets", "jupyter_metahpo.racing")}

#: Third-party modules that ``import jupyter_metahpo`` and ``%load_ext jupyter_metahpo``
#: must not import (each costs from a tenth of a second to seconds).
HEAVY_MODULES = (
    "torch", "botorch", "gpytorch", "sklearn", "ipywidgets", "pandas", "matplotlib", "dask", "distributed", "cloudpickle",
    "keras", "lightning", "pytorch_lightning",
)


# ---------------------------------------------------------------------------- the checker


@dataclass(frozen=True)
class Import:
    """One import of a package module by another, where it is written."""

    source: str  # the importing module, e.g. "jupyter_metahpo.meta.neural"
    target: str  # the imported module, e.g. "jupyter_metahpo.meta.strategies"
    path: Path
    line: int
    deferred: bool  # inside a function: hidden from a reader of the module's imports

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root.parent).as_posix()}:{self.line}"


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package by its dotted name (``pkg.sub`` for ``pkg/sub/__init__.py``)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def package_imports(package_dir: Path) -> list[Import]:
    """All imports of the package's own modules, in every module of the package."""
    found: list[Import] = []
    for name, path, finder in _scanned(package_dir):
        unique = dict.fromkeys(finder.found)  # `from .m import a, b` is one import of .m
        found.extend(Import(name, target, path, line, deferred) for target, line, deferred in unique)
    return found


def other_imports_in_functions(package_dir: Path) -> list[str]:
    """Imports of other libraries (the standard library too) inside functions, by file and line."""
    return [
        f"{path.relative_to(package_dir.parent).as_posix()}:{line}: {name} imports {target} inside a function"
        for name, path, finder in _scanned(package_dir)
        if name != package_dir.name  # the root defers the heavy entry points on purpose
        for target, line in dict.fromkeys(finder.other_in_functions)
    ]


def _scanned(package_dir: Path) -> Iterator[tuple[str, Path, _ImportFinder]]:
    modules = package_modules(package_dir)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        finder = _ImportFinder(name, path.name == "__init__.py", package_dir.name, set(modules))
        finder.visit(tree)
        yield name, path, finder


class _ImportFinder(ast.NodeVisitor):
    """Collects ``(target module, line, deferred)`` for each import of the package's modules."""

    def __init__(self, module: str, is_package: bool, package: str, modules: set[str]) -> None:
        self.module = module
        self.anchor = module if is_package else module.rpartition(".")[0]  # what "." means here
        self.package = package
        self.modules = modules
        self.depth = 0  # how many functions enclose the current node
        self.found: list[tuple[str, int, bool]] = []
        self.other_in_functions: list[tuple[str, int]] = []  # (module, line) of other libraries

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, target: str, node: ast.AST, deferred: bool = False) -> None:
        if target == self.package or target.startswith(self.package + "."):
            self.found.append((target, node.lineno, deferred or self.depth > 0))
        elif self.depth > 0 and not isinstance(node, ast.Call):
            self.other_in_functions.append((target, node.lineno))

    def _submodule_or_self(self, base: str, name: str) -> str:
        """``from base import name`` imports the submodule ``base.name`` if there is one, else ``base``."""
        return f"{base}.{name}" if f"{base}.{name}" in self.modules else base

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(node.module or "", node.level, self.anchor)
        for alias in node.names:
            self._add(self._submodule_or_self(base, alias.name), node)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if called not in ("import_module", "LazyImport") or not node.args:
            return
        name = node.args[0]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            return  # a computed name cannot be checked; the tests below ask for literal ones
        anchor = self._anchor_argument(node)
        if name.value.startswith("."):
            if anchor is None:
                return
            level = len(name.value) - len(name.value.lstrip("."))
            target = _resolve(name.value.lstrip("."), level, anchor)
        else:
            target = name.value
        # A LazyImport at module top is an import a reader sees where the others are (it
        # only loads later): an edge of the graph like any other, not a hidden one.
        self._add(target, node)

    def _anchor_argument(self, node: ast.Call) -> str | None:
        """The ``package`` argument of ``import_module(".x", package)``, when it can be read."""
        values = list(node.args[1:2]) + [k.value for k in node.keywords if k.arg == "package"]
        if not values:
            return None
        value = values[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        if isinstance(value, ast.Name) and value.id == "__name__":
            return self.module
        if isinstance(value, ast.Name) and value.id == "__package__":
            return self.anchor
        return None


def _resolve(name: str, level: int, anchor: str) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in package ``anchor``."""
    if level == 0:
        return name
    parts = anchor.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def layer_index(module: str, package: str, layers: Sequence[Sequence[str]]) -> int | None:
    """The module's layer, counted from the top (0); -1 for the package root; None if unlisted."""
    if module == package:
        return -1
    top = module.split(".")[1]
    return next((i for i, names in enumerate(layers) if top in names), None)


def layer_name(index: int, layers: Sequence[Sequence[str]]) -> str:
    if index < 0:
        return "the package root (above every layer)"
    return f"layer {index + 1} ({', '.join(layers[index])})"


def unlisted_modules(package_dir: Path, imports: Sequence[Import], layers: Sequence[Sequence[str]]) -> list[str]:
    """Modules, existing or imported, that the layer table does not place."""
    package = package_dir.name
    names = set(package_modules(package_dir)) | {i.target for i in imports}
    return sorted(
        f"{name}: add {name.split('.')[1]!r} to the layer table (LAYERS in tests/test_import_layers.py)"
        for name in names
        if layer_index(name, package, layers) is None
    )


def upward_imports(
    package_dir: Path, imports: Sequence[Import], layers: Sequence[Sequence[str]], allowed=frozenset()
) -> list[str]:
    """Each import that points to a higher layer (but the ``allowed`` pairs), with its file, line and both layers."""
    package = package_dir.name
    found = []
    for imp in imports:
        if imp.source == package or (imp.source, imp.target) in allowed:  # the root re-exports the public API
            continue
        source = layer_index(imp.source, package, layers)
        target = layer_index(imp.target, package, layers)
        if source is None or target is None:  # reported by unlisted_modules
            continue
        if target < source:
            found.append(
                f"{imp.where(package_dir)}: {imp.source} in {layer_name(source, layers)} imports "
                f"{imp.target} in {layer_name(target, layers)}, a higher layer"
            )
    return found


def import_cycles(imports: Sequence[Import]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each group of modules that import each other in a ring."""
    graph = _graph(imports)
    return [_cycle_through(component, graph) for component in _strongly_connected(graph) if len(component) > 1]


def _graph(imports: Sequence[Import]) -> dict[str, set[str]]:
    """Each module's imported modules (a module importing itself is no cycle worth naming)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    return graph


def _strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit), in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            child = next(successors, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _cycle_through(component: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return [*reversed(chain), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{component} is not a cycle")  # a strongly connected component always has one


def describe_cycle(cycle: Sequence[str], imports: Sequence[Import], package_dir: Path) -> str:
    """The cycle's modules, each step with the file and line of (one of) its imports."""
    steps = []
    for source, target in zip(cycle, cycle[1:]):
        imp = next(i for i in imports if i.source == source and i.target == target)
        steps.append(f"{source} -> {target} ({imp.where(package_dir)})")
    return "cycle: " + "; ".join(steps)


def describe_cycles(imports: Sequence[Import], package_dir: Path) -> list[str]:
    """Each group of modules that import each other in a ring: one cycle's path, and the group."""
    out = []
    for cycle in import_cycles(imports):
        text = describe_cycle(cycle, imports, package_dir)
        group = next(g for g in _strongly_connected(_graph(imports)) if cycle[0] in g)
        if len(group) > len(cycle) - 1:  # breaking this cycle may leave others in the group
            text += f" (in a group of {len(group)} modules importing each other: {', '.join(group)})"
        out.append(text)
    return out


def deferred_imports(package_dir: Path, imports: Sequence[Import]) -> list[str]:
    """Imports of the package's own modules inside functions, by file and line."""
    package = package_dir.name
    return [
        f"{imp.where(package_dir)}: {imp.source} imports {imp.target} inside a function"
        for imp in imports
        if imp.deferred and imp.source != package  # the root defers the heavy entry points on purpose
    ]


# ---------------------------------------------------------------------------- the contract


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return package_imports(PACKAGE_DIR)


def test_every_module_has_a_layer(imports):
    unlisted = unlisted_modules(PACKAGE_DIR, imports, LAYERS)
    assert not unlisted, "modules in no layer:\n" + "\n".join(unlisted)


def test_no_module_imports_a_higher_layer(imports):
    upward = upward_imports(PACKAGE_DIR, imports, LAYERS, DEPRECATED_ALIASES)
    assert not upward, f"{len(upward)} upward imports:\n" + "\n".join(upward)


def test_no_import_cycles(imports):
    cycles = describe_cycles(imports, PACKAGE_DIR)
    assert not cycles, f"{len(cycles)} import cycles:\n" + "\n".join(cycles)


def test_the_package_imports_its_own_modules_at_module_top(imports):
    deferred = deferred_imports(PACKAGE_DIR, imports)
    assert not deferred, f"{len(deferred)} function-level imports of the package's modules:\n" + "\n".join(deferred)


def test_other_libraries_are_imported_at_module_top():
    # A heavy library that must not load with the package is a LazyImport at module top
    # (jupyter_metahpo/_imports.py), not an import inside the function that first uses it.
    inside = other_imports_in_functions(PACKAGE_DIR)
    assert not inside, f"{len(inside)} function-level imports of other libraries:\n" + "\n".join(inside)


def test_importing_the_package_and_the_magics_imports_no_heavy_library():
    code = (
        "import sys, jupyter_metahpo, jupyter_metahpo.magics; "
        f"print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PACKAGE_DIR.parent
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], f"`import jupyter_metahpo, jupyter_metahpo.magics` imported {done.stdout.strip()}"


def test_importing_the_package_root_alone_loads_no_layer_below_it():
    # A Jupyter server imports the package root before ``jupyter_metahpo.server``: the root
    # must not import the samplers (scipy) or the pipeline to do so.
    code = (
        "import sys, jupyter_metahpo; "
        "print(' '.join(m for m in sys.modules if m.startswith(('scipy', 'jupyter_metahpo.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PACKAGE_DIR.parent
    )
    assert done.returncode == 0, done.stderr
    loaded = [m for m in done.stdout.split() if m not in ("jupyter_metahpo._version",)]
    assert loaded == [], f"`import jupyter_metahpo` imported {loaded}"


def test_every_public_name_of_the_package_root_resolves_to_its_module():
    import jupyter_metahpo

    assert len(jupyter_metahpo.__all__) == len(set(jupyter_metahpo.__all__))
    for name in jupyter_metahpo.__all__:
        value = getattr(jupyter_metahpo, name)
        if name != "__version__":
            assert value.__module__.startswith("jupyter_metahpo."), (name, value.__module__)
        assert name in dir(jupyter_metahpo)
    from jupyter_metahpo import tune
    from jupyter_metahpo.api import tune as tune_in_its_module

    assert tune is tune_in_its_module
    with pytest.raises(AttributeError, match="no attribute 'tuned'"):
        jupyter_metahpo.tuned  # noqa: B018


# ---------------------------------------------------------------------------- the checker can fail


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


FAKE_LAYERS = (("top",), ("low",), ("base",))


@pytest.fixture()
def fake_package(tmp_path) -> Path:
    """``fakepkg``: ``low/a.py`` imports ``top`` (upward); ``low/a`` and ``low/b`` import each other."""
    _write(
        tmp_path,
        {
            "fakepkg/__init__.py": "from .top import run\n",
            "fakepkg/top.py": "def run():\n    return 1\n",
            "fakepkg/low/__init__.py": "",
            "fakepkg/low/a.py": "import os\n\nfrom .. import top\nfrom . import b\nimport fakepkg.base\n",
            "fakepkg/low/b.py": (
                "import importlib\n\n"
                "def helper():\n"
                "    from .a import thing\n"
                "    return thing, importlib.import_module('..base.c', __package__)\n\n"
                "def table():\n"
                "    import pandas as pd\n"
                "    return pd\n"
            ),
            "fakepkg/base/__init__.py": "from .c import VALUE\n",
            "fakepkg/base/c.py": "VALUE = 1\n",
        },
    )
    return tmp_path / "fakepkg"


def test_the_checker_resolves_relative_function_level_and_importlib_imports(fake_package):
    found = {(i.source, i.target, i.line, i.deferred) for i in package_imports(fake_package)}
    assert found == {
        ("fakepkg", "fakepkg.top", 1, False),
        ("fakepkg.low.a", "fakepkg.top", 3, False),
        ("fakepkg.low.a", "fakepkg.low.b", 4, False),
        ("fakepkg.low.a", "fakepkg.base", 5, False),
        ("fakepkg.low.b", "fakepkg.low.a", 4, True),
        ("fakepkg.low.b", "fakepkg.base.c", 5, True),
        ("fakepkg.base", "fakepkg.base.c", 1, False),
    }


def test_the_checker_reports_an_upward_import_with_its_file_line_and_layers(fake_package):
    upward = upward_imports(fake_package, package_imports(fake_package), FAKE_LAYERS)
    assert upward == [
        "fakepkg/low/a.py:3: fakepkg.low.a in layer 2 (low) imports fakepkg.top in layer 1 (top), a higher layer"
    ]


def test_the_checker_reports_a_cycle_with_its_path(fake_package):
    found = package_imports(fake_package)
    assert import_cycles(found) == [["fakepkg.low.a", "fakepkg.low.b", "fakepkg.low.a"]]
    assert describe_cycles(found, fake_package) == [
        "cycle: fakepkg.low.a -> fakepkg.low.b (fakepkg/low/a.py:4); fakepkg.low.b -> fakepkg.low.a (fakepkg/low/b.py:4)"
    ]


def test_the_checker_reports_function_level_imports_and_unlisted_modules(fake_package):
    found = package_imports(fake_package)
    assert deferred_imports(fake_package, found) == [
        "fakepkg/low/b.py:4: fakepkg.low.b imports fakepkg.low.a inside a function",
        "fakepkg/low/b.py:5: fakepkg.low.b imports fakepkg.base.c inside a function",
    ]
    assert other_imports_in_functions(fake_package) == [
        "fakepkg/low/b.py:8: fakepkg.low.b imports pandas inside a function"
    ]
    assert unlisted_modules(fake_package, found, (("top",), ("low",))) == [
        "fakepkg.base.c: add 'base' to the layer table (LAYERS in tests/test_import_layers.py)",
        "fakepkg.base: add 'base' to the layer table (LAYERS in tests/test_import_layers.py)",
    ]
