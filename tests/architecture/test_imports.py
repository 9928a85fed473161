"""The direction of imports (docs/architecture.md): no circles, and nothing imports upwards.

Read from the source (every import, at module level or inside a function), so a circle hidden by a
function-level import is found too."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("checks", "assets", "shelfguard")
LAYERS = {
    "checks": ("checks",),
    "assets": ("assets", "checks", "shelfguard.settings"),
    "shelfguard.review": ("shelfguard.review", "checks", "assets", "shelfguard.settings"),
}
"""What each package may import from the project: checks nothing above it; the pipeline steps and
their Dagster wiring checks and the settings; the review checks and the pipeline steps. Nothing
below the command line imports it (`shelfguard.cli`, `shelfguard.commands`); importing the
`shelfguard` package itself (allocator settings) is allowed everywhere."""


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules `name` imports (a `from package import module` names the module)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return components


def test_no_import_circles() -> None:
    assert _cycles() == []


def test_nothing_imports_upwards() -> None:
    wrong = []
    for name, targets in GRAPH.items():
        layer = max(
            (prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")),
            key=len,
            default=None,
        )
        if layer is None:
            continue
        allowed = LAYERS[layer]
        for target in sorted(targets - {"shelfguard"}):
            if not any(target == a or target.startswith(a + ".") for a in allowed) or (
                target.startswith(("shelfguard.cli", "shelfguard.commands"))
            ):
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_only_public_dagster_apis() -> None:
    private = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.append(node.module)
            private += [f"{name} imports {m}" for m in modules if m.startswith("dagster._")]
    assert private == []
