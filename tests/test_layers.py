"""The package's import graph keeps its layers, has no circles, and keeps kernel code apart.

Layers, top to bottom (a module may import its own layer and the ones below, never above)::

    app → handlers → services → chat, audit, reports → agents, memory, tws, llm → shared utilities

``mcp`` (the MCP server, ``resync-mcp``) is an entry point beside ``app``, and ``evaluation``
(``resync-eval``, which composes the chat turn service) sits beside ``services``. Shared
utilities are the modules directly under ``resync_ext/`` (``redact``, ``errors``, ``files``,
``paths``, ``metrics``, ``config_check``, ``scheduler``...). ``resync_ext/kernel/`` holds the code
that runs in a kernel (panels, runbook helpers, report data): no server module imports it, and of
the server's packages it uses only ``tws`` (the read-only client and tools) and the utilities.
Imports inside functions count (they tie modules at run time all the same); imports under
``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "resync_ext"
KERNEL = "resync_ext.kernel"
# Rank of each top-level part of the package; anything not named is a shared utility (rank 1).
RANK = {
    "app": 6,
    # resync-mcp is an entry point of its own, beside the extension app: it builds the services it
    # serves (or answers from the running extension's), reading the app's traits for its settings.
    "mcp": 6,
    "handlers": 5,
    "services": 4,
    # resync-eval composes the chat turn service with agents, memory and tws, like services.
    "evaluation": 4,
    "chat": 3,
    "audit": 3,
    "reports": 3,
    "agents": 2,
    "memory": 2,
    "tws": 2,
    "llm": 2,
}
UTILITY = 1
# Kernel code runs in its own process and reaches the server's services through its REST API,
# never by opening them (ARCHITECTURE.md "One owner process"): of the server's packages it uses
# only the read-only TWS client and tools (runbooks read the plan directly), and the utilities.
KERNEL_MAY_IMPORT = {"tws"}

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """Return the dotted module name of ``path`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _typing_only(tree: ast.AST) -> set[int]:
    """Return the ids of every node under an ``if TYPE_CHECKING:`` block."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _targets(node: ast.AST, package: str, modules: set[str]) -> list[str]:
    """Return the dotted names an import statement asks for (submodules when they are modules)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    source = node.module or ""
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    if not source:
        return []
    subs = [f"{source}.{alias.name}" for alias in node.names]
    return [s for s in subs if s in modules] or [source]


def import_graph(root: Path = PACKAGE) -> Graph:
    """Return module → the package's modules it imports (inside functions too)."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(paths)
    graph: Graph = {m: set() for m in paths}
    for mod, path in paths.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _typing_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            for target in _targets(node, package, modules):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != mod and target.startswith(root.name):
                    graph[mod].add(target)
    return graph


def is_kernel(mod: str) -> bool:
    """Whether ``mod`` is kernel-side code."""
    return mod == KERNEL or mod.startswith(KERNEL + ".")


def rank(mod: str) -> int | None:
    """Return the layer of a server module (higher is nearer the top); None off the layers."""
    parts = mod.split(".")
    if len(parts) == 1 or is_kernel(mod):
        # The package root is Jupyter's entry point (it only names the app); kernel code is
        # checked by ``kernel_reach_edges``.
        return None
    return RANK.get(parts[1], UTILITY)


def upward_edges(graph: Graph) -> list[str]:
    """Return ``a -> b`` for every import of a higher layer by a lower one."""
    out = []
    for a, targets in graph.items():
        for b in targets:
            ra, rb = rank(a), rank(b)
            if ra is None or rb is None:
                continue
            if rb > ra:
                out.append(f"{a} -> {b}")
    return sorted(out)


def server_to_kernel_edges(graph: Graph) -> list[str]:
    """Return ``a -> b`` for every server module importing kernel-side code."""
    return sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        for b in targets
        if is_kernel(b) and not is_kernel(a)
    )


def kernel_reach_edges(graph: Graph) -> list[str]:
    """Return ``a -> b`` for every kernel module importing a server package it must not open."""
    return sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        if is_kernel(a)
        for b in targets
        if rank(b) is not None and rank(b) != UTILITY and b.split(".")[1] not in KERNEL_MAY_IMPORT
    )


def circles(graph: Graph) -> list[list[str]]:
    """Return the import circles (strongly connected components of two or more modules).

    A package whose ``__init__`` re-exports its own submodules, which import back from it, is a
    circle only Python's import order resolves; it is not counted.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Tarjan's algorithm, iteratively: the graph is a few hundred modules deep at most, but
        # a recursion limit should not decide whether a test passes.
        work: list[tuple[str, Iterator[str]]] = []

        def enter(v: str) -> None:
            index[v] = low[v] = len(index)
            stack.append(v)
            on_stack.add(v)
            work.append((v, iter(sorted(graph.get(v, ())))))

        enter(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    enter(w)
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [c for c in found if not all(x == c[0] or x.startswith(c[0] + ".") for x in c)]


def circle_edges(graph: Graph, circle: list[str]) -> list[str]:
    """Return the edges that close ``circle``."""
    members = set(circle)
    return sorted(f"{a} -> {b}" for a in circle for b in graph.get(a, ()) if b in members)


def test_no_module_imports_a_higher_layer() -> None:
    edges = upward_edges(import_graph())
    assert not edges, "imports that run up the layers:\n  " + "\n  ".join(edges)


def test_no_server_module_imports_kernel_code() -> None:
    edges = server_to_kernel_edges(import_graph())
    assert not edges, "server modules importing kernel-side code:\n  " + "\n  ".join(edges)


def test_kernel_code_uses_only_tws_and_the_utilities_of_the_server() -> None:
    edges = kernel_reach_edges(import_graph())
    assert not edges, "kernel code importing server packages:\n  " + "\n  ".join(edges)


def test_no_import_circle() -> None:
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles:\n  " + "\n  ".join(
        ", ".join(circle_edges(graph, c)) for c in found
    )


def test_the_walk_sees_what_it_must(tmp_path: Path) -> None:
    """Imports in functions and relative imports count; ``TYPE_CHECKING`` imports do not."""
    pkg = tmp_path / "resync_ext"
    for sub in ("memory", "handlers", "chat", "kernel", "tws"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "redact.py").write_text("")
    (pkg / "memory" / "store.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from resync_ext.handlers import base\n"
        "def late():\n    from resync_ext.chat import turns\n"
    )
    (pkg / "handlers" / "base.py").write_text("from ..memory import store\n")
    (pkg / "chat" / "turns.py").write_text(
        "import resync_ext.memory.store\nfrom resync_ext import redact\n"
    )
    (pkg / "files.py").write_text("def f():\n    import resync_ext.kernel.client\n")
    (pkg / "kernel" / "client.py").write_text("from resync_ext.handlers import base\n")
    (pkg / "tws" / "client.py").write_text("")
    (pkg / "kernel" / "runbook.py").write_text(
        "from resync_ext.tws.client import TWSClient\nfrom resync_ext import files, redact\n"
        "def peek():\n    from resync_ext.memory.store import MemoryStore\n"
    )
    graph = import_graph(pkg)
    assert graph["resync_ext.memory.store"] == {"resync_ext.chat.turns"}
    assert graph["resync_ext.handlers.base"] == {"resync_ext.memory.store"}
    assert graph["resync_ext.chat.turns"] == {"resync_ext.memory.store", "resync_ext.redact"}
    assert upward_edges(graph) == ["resync_ext.memory.store -> resync_ext.chat.turns"]
    assert kernel_reach_edges(graph) == [
        "resync_ext.kernel.client -> resync_ext.handlers.base",
        "resync_ext.kernel.runbook -> resync_ext.memory.store",
    ]
    assert server_to_kernel_edges(graph) == ["resync_ext.files -> resync_ext.kernel.client"]
    assert circles(graph) == [["resync_ext.chat.turns", "resync_ext.memory.store"]]
    assert circle_edges(graph, circles(graph)[0]) == [
        "resync_ext.chat.turns -> resync_ext.memory.store",
        "resync_ext.memory.store -> resync_ext.chat.turns",
    ]
