"""The package's layers only look down, and no module imports itself round a circle.

Read from the source with ``ast`` (nothing is imported), counting every import, also those
made inside a function, but not those under ``if TYPE_CHECKING:`` (names for annotations,
never imported when the code runs). Layers, lowest first: a module may import its own package and any
package of a lower layer, never a package beside it or above it (see docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("atomic", "safe_read", "realtime", "logging_setup", "argtypes", "memory_limits", "progress",
     "compiled_library"),
    ("config",),
    ("core",),
    ("hardware", "audio", "runtime", "service"),
    ("controls",),
    ("instrument", "ui"),
    ("ml",),
    ("app",),
    ("cli",),
    ("__main__",),
)
LAYER_OF = {name: level for level, names in enumerate(LAYERS) for name in names}

# The toolbox (torch) is imported by the commands that train, trim, evaluate and resynthesise,
# and by the benchmarks; nothing the module runs may import it.
ML_IMPORTERS = ("neurorack.ml", "neurorack.cli.ml", "neurorack.cli.trim", "neurorack.cli.resynth", "neurorack_bench")
# The benchmarks are a package of their own; the runtime names them once, to add `neurorack bench`.
BENCH_IMPORTERS = ("neurorack_bench", "neurorack.cli")
# Hardware libraries are imported by the hardware backends only.
HARDWARE_LIBRARIES = ("RPi", "Jetson", "lgpio", "spidev", "smbus", "smbus2", "board", "busio", "digitalio",
                      "adafruit_mcp3xxx", "luma")
HARDWARE_IMPORTERS = ("neurorack.hardware", "neurorack_bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute, at any depth of its code."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # a submodule, if it is one
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in (child, *_runtime_nodes(child)))
            continue
        yield node
        yield from _runtime_nodes(node)


def source_modules() -> dict[str, set[str]]:
    """Every module of the two packages -> the modules of the two packages it imports."""
    files = [*ROOT.joinpath("neurorack").rglob("*.py"), *ROOT.joinpath("neurorack_bench").rglob("*.py")]
    modules = {module_name(f): f for f in files}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def third_party_imports() -> dict[str, set[str]]:
    files = [*ROOT.joinpath("neurorack").rglob("*.py"), *ROOT.joinpath("neurorack_bench").rglob("*.py")]
    return {module_name(f): {m.split(".")[0] for m in imports_of(f)} for f in files}


def package_of(module: str) -> str:
    """``neurorack.audio.engine`` -> ``audio``; ``neurorack.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if parts[0] == "neurorack" and len(parts) > 1 else parts[0]


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for importer, targets in sorted(graph.items()):
        if not importer.startswith("neurorack.") or importer == "neurorack":
            continue
        for target in sorted(targets):
            if target == "neurorack":
                continue  # the package's face: its version
            if target.startswith("neurorack_bench"):
                if not within(importer, BENCH_IMPORTERS):
                    problems.append(f"{importer} imports the benchmarks ({target})")
                continue
            if within(target, ("neurorack.ml",)) and not within(importer, ML_IMPORTERS):
                problems.append(f"{importer} imports the toolbox ({target}): only the ml commands may")
                continue
            mine, theirs = package_of(importer), package_of(target)
            if mine == theirs or theirs == "ml":
                continue
            if mine not in LAYER_OF or theirs not in LAYER_OF:
                problems.append(f"{importer} -> {target}: {mine if mine not in LAYER_OF else theirs} has no layer")
            elif LAYER_OF[theirs] >= LAYER_OF[mine]:
                side = "beside" if LAYER_OF[theirs] == LAYER_OF[mine] else "above"
                problems.append(f"{importer} imports {target}, {side} it ({theirs} is layer {LAYER_OF[theirs]}, "
                                f"{mine} layer {LAYER_OF[mine]})")
    return problems


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_import_looks_down():
    assert wrong_way(source_modules()) == []


def test_no_module_imports_itself_round_a_circle():
    assert circles(source_modules()) == []


def test_hardware_libraries_are_imported_by_the_hardware_backends_only():
    wrong = [f"{module} imports {library}" for module, libraries in sorted(third_party_imports().items())
             for library in sorted(libraries & set(HARDWARE_LIBRARIES)) if not within(module, HARDWARE_IMPORTERS)]
    assert wrong == []


# -- the check itself catches what it is for ---------------------------------------------

def test_the_check_finds_an_import_that_looks_up_or_sideways():
    graph = {"neurorack.audio.engine": {"neurorack.ui.render", "neurorack.runtime.loader", "neurorack.core.events"},
             "neurorack.runtime.loader": {"neurorack.ml.model"}}
    assert wrong_way(graph) == [
        "neurorack.audio.engine imports neurorack.runtime.loader, beside it (runtime is layer 4, audio layer 4)",
        "neurorack.audio.engine imports neurorack.ui.render, above it (ui is layer 6, audio layer 4)",
        "neurorack.runtime.loader imports the toolbox (neurorack.ml.model): only the ml commands may"]


def test_the_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("source, expected", [
    ("from . import engine", {"neurorack.audio", "neurorack.audio.engine"}),
    ("from ..core.events import GateEdge", {"neurorack.core.events", "neurorack.core.events.GateEdge"}),
    ("def f():\n    import neurorack.ml.model\n", {"neurorack.ml.model"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from neurorack.ui import menu\nelse:\n    import os\n",
     {"typing", "typing.TYPE_CHECKING", "os"}),
])
def test_relative_and_function_level_imports_are_read(tmp_path, monkeypatch, source, expected):
    package = tmp_path / "neurorack" / "audio"
    package.mkdir(parents=True)
    (package / "x.py").write_text(source)
    import tests.test_layers as layers

    monkeypatch.setattr(layers, "ROOT", tmp_path)
    assert layers.imports_of(package / "x.py") == expected
