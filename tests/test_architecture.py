"""The layout the design card asks for, checked: one-way imports, no cycles, small files, no private reach-ins.

Imports are read with ``ast`` from every module of the package, including imports inside functions
(a lower layer must not import a higher one even lazily, except that choosing a backend may load the
backend implementations).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "bigplan"

# Layers, low to high.  A module may import only modules of its own layer or lower ones.
LAYERS = [
    {"errors"},
    {"_arrays", "_atomic"},
    {"_backend_api", "_kernel_sigs", "cpu", "gpu", "_jax_shard"},
    {"backend"},
    {"_inputs", "_evidence", "_options", "_highs"},
    {"_sparse", "spectral", "_econfile"},
    {"economy"},
    {"_methods"},
    {"_krylov_ops", "solvers"},
    {"static", "synthetic", "_synth_base", "_synth_tech"},
    {"_replan", "_consumer", "_store", "_dynamic", "_activity", "_distributed"},
    {"inventory", "store", "dynamic", "activity", "distributed"},
    {"io", "plot"},
    {"cli", "_cli", "__main__", "__init__"},
]
#: Lazy imports allowed against the layering: choosing a backend loads its implementation.
ALLOWED_UP = {("backend", "cpu"), ("backend", "gpu")}

MAX_LINES = 850  # "about 800"


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        yield ".".join(rel.parts), path


def _top(name: str) -> str:
    """The layer key of a bigplan module name ('_store.ledger' -> '_store')."""
    return name.split(".", 1)[0]


def _rank(name: str) -> int:
    top = _top(name)
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"bigplan.{name} has no layer in tests/test_architecture.py: add it to LAYERS")


def _resolve(mod: str, node: ast.ImportFrom) -> list[str]:
    pkg = mod.split(".")[:-1] if not mod.endswith("__init__") else mod.split(".")[:-1]
    if node.level:
        base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
        target = ".".join(base + ([node.module] if node.module else []))
        if node.module is None:
            return [".".join(base + [a.name]) for a in node.names]
        return [target]
    if node.module and (node.module == "bigplan" or node.module.startswith("bigplan.")):
        rest = node.module[len("bigplan"):].lstrip(".")
        if not rest:
            return [a.name for a in node.names]
        return [rest]
    return []


def _imports():
    graph: dict[str, set[str]] = {}
    private: list[str] = []
    mods = dict(_modules())
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        deps = graph.setdefault(mod, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for target in _resolve(mod, node):
                    target = target.strip(".")
                    if not target or target == mod:
                        continue
                    deps.add(target)
                    same_pkg = _top(target) == _top(mod) and "." in mod
                    for a in node.names:
                        if not a.name.startswith("_") or a.name.startswith("__") or same_pkg:
                            continue
                        sub = f"{target}.{a.name}" if target else a.name
                        if sub in mods or (ROOT / sub.replace(".", "/")).is_dir() or sub == "_kernels":
                            continue  # a (private) module, not a private name
                        private.append(f"bigplan.{mod} imports the private name {a.name} from bigplan.{target}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("bigplan."):
                        deps.add(a.name[len("bigplan."):])
    return graph, private


def test_no_import_cycles():
    graph, _ = _imports()
    tops: dict[str, set[str]] = {}
    for mod, deps in graph.items():
        tops.setdefault(_top(mod), set()).update(_top(d) for d in deps if _top(d) != _top(mod))
    seen, stack, cycles = set(), [], []

    def visit(node, path):
        if node in path:
            cycles.append(path[path.index(node):] + [node])
            return
        if node in seen:
            return
        path.append(node)
        for d in sorted(tops.get(node, ())):
            visit(d, path)
        path.pop()
        seen.add(node)

    for m in sorted(tops):
        visit(m, stack)
    assert not cycles, f"import cycles: {cycles}"


def test_lower_layers_never_import_higher_ones():
    graph, _ = _imports()
    bad = []
    for mod, deps in graph.items():
        for d in deps:
            if (_top(mod), _top(d)) in ALLOWED_UP or _top(d) == _top(mod):
                continue
            if _rank(d) > _rank(mod):
                bad.append(f"bigplan.{mod} (layer {_rank(mod)}) imports bigplan.{d} (layer {_rank(d)})")
    assert not bad, "\n".join(sorted(bad))


def test_no_private_names_across_modules():
    _, private = _imports()
    assert not private, "\n".join(private)


@pytest.mark.parametrize("mod,path", list(_modules()), ids=[m for m, _ in _modules()])
def test_files_stay_small(mod, path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"bigplan/{path.relative_to(ROOT)} has {n} lines (limit about 800): split it by concern"


MAX_CLASS_LINES = 480  # "about 400", docstrings included


def test_classes_stay_small():
    big = []
    for mod, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                big.append(f"bigplan.{mod}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not big, "classes over about 400 lines (split by concern): " + ", ".join(big)
