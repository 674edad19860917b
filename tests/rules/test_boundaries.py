"""`canhgac_rules` is a library the server calls: it imports nothing from the server (`canhgac_collector`,
`canhgac_api`), not even inside a function, and its modules import each other without cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import canhgac_rules

PACKAGE = Path(canhgac_rules.__file__).parent
SERVER = ("canhgac_collector", "canhgac_api")


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports anywhere in it (module level or in a function)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_no_server_import_anywhere_in_the_source() -> None:
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            n for n in imported_modules(path) if n.startswith(SERVER)
        )
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_module_loads_nothing_of_the_server() -> None:
    code = (
        "import pkgutil, sys, canhgac_rules\n"
        "for info in pkgutil.walk_packages(canhgac_rules.__path__, 'canhgac_rules.'):\n"
        "    __import__(info.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('canhgac_rules')).__len__())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('canhgac_collector', 'canhgac_api')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    count, server = proc.stdout.splitlines()
    assert int(count) >= 20  # every module of the library was imported
    assert server == "[]"


def test_no_import_cycle_between_rules_modules() -> None:
    modules = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    graph = {
        name: {m for m in imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    # A submodule importing its own package's __init__ (checks/compare.py → checks) is not a cycle unless
    # the __init__ imports it back, which the walk below would find.
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str], done: set[str]) -> None:
        if node in stack:
            cycles.append([*stack[stack.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            walk(nxt, [*stack, node], done)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        walk(name, [], done)
    assert cycles == []
