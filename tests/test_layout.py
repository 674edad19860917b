"""The house rules of the code base, read from the source: package direction, no import cycles, no private
names imported across modules, no product module over 700 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "canhgac_agent": ROOT / "agent" / "canhgac_agent",
    "canhgac_rules": ROOT / "rules" / "canhgac_rules",
    "canhgac_collector": ROOT / "collector" / "canhgac_collector",
    "canhgac_api": ROOT / "api" / "canhgac_api",
}
MAX_LINES = 700
# The one collector module that may import the HTTP face: the composition root.
COMPOSITION_ROOT = "canhgac_collector.server"


def _modules() -> Iterator[tuple[str, Path]]:
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            yield ".".join([package, *parts]), path


MODULES = dict(_modules())


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.Module, *, top_level_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements, outside `if TYPE_CHECKING:` blocks; with `top_level_only`, only those that
    run at import time (not inside functions)."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for inner in ast.walk(node)
    }
    if top_level_only:
        pending: list[ast.AST] = list(tree.body)
        nodes: list[ast.AST] = []
        while pending:
            node = pending.pop()
            nodes.append(node)
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                pending.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
            yield node


def _imports(name: str, path: Path, *, top_level_only: bool) -> Iterator[tuple[str, list[str]]]:
    """(imported module, imported names) for each import of the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _import_nodes(tree, top_level_only=top_level_only):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names = [a.name for a in node.names]
        yield base, [n for n in names if f"{base}.{n}" not in MODULES]
        for n in names:
            if f"{base}.{n}" in MODULES:
                yield f"{base}.{n}", []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for imported, _names in _imports(name, path, top_level_only=True):
            module = imported
            while module and module not in MODULES:
                module = module.rpartition(".")[0]
            if module and module != name:
                targets.add(module)
        graph[name] = targets
    return graph


ALLOWED = {
    "canhgac_agent": set(),
    "canhgac_rules": {"canhgac_agent"},  # the plugin helper
    "canhgac_collector": {"canhgac_agent", "canhgac_rules"},
    "canhgac_api": {"canhgac_agent", "canhgac_rules", "canhgac_collector"},
}


def test_packages_point_one_way() -> None:
    """Even imports inside functions count: the agent's base install has no server packages."""
    wrong = []
    for name, path in MODULES.items():
        top = name.split(".")[0]
        allowed = ALLOWED[top] | ({"canhgac_api"} if name == COMPOSITION_ROOT else set())
        for module, _ in _imports(name, path, top_level_only=False):
            target = module.split(".")[0]
            if target in PACKAGES and target != top and target not in allowed:
                wrong.append(f"{name} imports {module}")
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_no_private_names_imported_across_modules() -> None:
    private = [
        f"{name}: from {module} import {n}"
        for name, path in MODULES.items()
        for module, names in _imports(name, path, top_level_only=False)
        for n in names
        if n.startswith("_") and not n.startswith("__") and module != name
    ]
    assert private == []


def test_no_module_over_700_lines() -> None:
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_LINES
    }
    assert long == {}
