"""Figures of the package's structure: import cycles, pool set-ups, error roots, sizes.

Run ``python benchmarks/structure.py [SRC]`` (default ``src/corridor``). It reads the
source with :mod:`ast` only (nothing is imported), so it can measure an old checkout too::

    git worktree add /tmp/before f31e0c4 && python benchmarks/structure.py /tmp/before/src/corridor

``tests/test_design.py`` holds the package to the targets these figures report.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

# Calls that start a pool of worker processes or a cluster client.
POOL_CALLS = {"ProcessPoolExecutor", "Pool", "Client", "LocalCluster"}


def module_name(root: Path, path: Path) -> str:
    """Dotted module name of ``path`` inside the package folder ``root``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules(root: Path) -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package, parsed."""
    return {module_name(root, p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(root.rglob("*.py"))}


def imports(name: str, path: Path, tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (any depth: inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return groups


def _called_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def measure(root: Path) -> dict[str, Any]:
    """The structure figures of the package in folder ``root``."""
    mods = modules(root)
    known = set(mods)
    # Importing a package runs its __init__, so a submodule import depends on the parents too.
    graph = {n: imports(n, p, t, known) for n, (p, t) in mods.items()}
    pool_modules = sorted(
        n
        for n, (_, t) in mods.items()
        if any(isinstance(c, ast.Call) and _called_name(c) in POOL_CALLS for c in ast.walk(t))
    )
    classes: dict[str, list[str]] = {}
    for _, t in mods.values():
        for c in ast.walk(t):
            if isinstance(c, ast.ClassDef):
                classes[c.name] = [ast.unparse(b).rpartition(".")[2] for b in c.bases]

    def derives_from_root(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "CorridorError":
            return True
        return any(b not in seen and derives_from_root(b, seen | {name}) for b in classes.get(name, []))

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        bases = classes.get(name)
        if bases is None:
            return name.endswith(("Error", "Exception")) or name in {"Exception", "BaseException"}
        return any(b not in seen and is_exception(b, seen | {name}) for b in bases)

    exceptions = sorted(c for c in classes if is_exception(c))
    functions = []
    for n, (_, t) in mods.items():
        for f in ast.walk(t):
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((f.end_lineno - f.lineno + 1, f"{n}.{f.name}"))  # type: ignore[operator]
    functions.sort(reverse=True)
    sizes = sorted(((len(p.read_text().splitlines()), n) for n, (p, _) in mods.items()), reverse=True)
    return {
        "modules": len(mods),
        "lines": sum(s for s, _ in sizes),
        "import_cycles": cycles(graph),
        "pool_modules": pool_modules,
        "exceptions": len(exceptions),
        "exceptions_without_root": [e for e in exceptions if not derives_from_root(e)],
        "longest_functions": functions[:5],
        "largest_modules": sizes[:5],
    }


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "src/corridor").resolve()
    print(json.dumps(measure(root), indent=1))


if __name__ == "__main__":
    main()
