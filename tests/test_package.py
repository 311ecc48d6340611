"""The package's shape: no import cycles, small modules, a cheap ``import zoomingonline``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import zoomingonline

PACKAGE = Path(zoomingonline.__file__).parent
MAX_LINES = 800


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``name`` imports anywhere (functions too), typing-only aside."""
    tree = ast.parse(path.read_text(), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def test_no_module_is_too_long() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in modules().items()}
    assert {n: k for n, k in long.items() if k > MAX_LINES} == {}


def test_no_import_cycles() -> None:
    mods = modules()
    known = set(mods)
    graph = {n: imports_of(n, p, known) for n, p in mods.items()}
    # The package root only re-exports on demand; submodules never import it for a name.
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycles.append([*stack[stack.index(m) :], m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert cycles == []


def test_the_graph_sees_late_imports() -> None:
    # The check above must count imports inside functions: the CLI imports its library
    # lazily, inside the commands.
    mods = modules()
    found = imports_of("zoomingonline.cli.convert", mods["zoomingonline.cli.convert"], set(mods))
    assert "zoomingonline.convert" in found


def test_import_loads_no_server_cloud_or_cluster_library() -> None:
    heavy = ("aiohttp", "boto3", "botocore", "dask", "distributed", "numpy", "zarr", "h5py")
    code = (
        "import sys, zoomingonline; print(' '.join(sorted(set(sys.modules) & set(sys.argv[1:]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *heavy], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []


def test_public_names_resolve_lazily() -> None:
    code = (
        "import zoomingonline as z;"
        "assert callable(z.convert) and callable(z.generate) and callable(z.serve);"
        "import zoomingonline.serve.http, zoomingonline.convert;"
        "assert callable(z.convert) and callable(z.serve);"
        "print(sorted(n for n in z.__all__ if getattr(z, n, None) is None))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
