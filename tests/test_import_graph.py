"""The import graph of the project's own packages, read with ``ast`` (imports
inside functions included): no cycles, the pipeline's direction kept, and no
import by string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("registry", "extract", "crawler", "sample_site")
# Function-level imports of project modules that are there on purpose: each
# keeps a heavy or optional dependency out of every command's start-up.
ALLOWED_LOCAL_IMPORTS = {
    # Scrapy is imported only when a refresh actually crawls
    ("registry.refresh.refresh", "crawler.pipelines"),
    ("registry.refresh.crawls", "crawler.spiders.base"),
    ("registry.refresh.crawls", "crawler.pipelines"),
    # the report readers compile many patterns: imported on the first parse,
    # so the sandbox's parent and the command line never pay for them (the
    # workers' forkserver preloads them)
    ("extract.reports", "extract.normalise"),
    ("extract.reports", "extract.report_dates"),
    ("extract.reports", "extract.report_fields"),
    ("extract.reports", "extract.report_judgements"),
    ("extract.reports", "extract.report_mentions"),
    ("extract.reports", "extract.report_requirements"),
    ("extract.reports", "extract.report_text"),
    ("registry.refresh.canary", "crawler.markup"),
    ("registry.refresh.canary", "crawler.settings"),
    # the sample site needs the `demo` extra (reportlab, openpyxl)
    ("registry.publish.demo", "sample_site.server"),
    ("sample_site.cli", "sample_site.server"),
    ("sample_site.server", "sample_site.reports"),
}
IMPORT_BY_STRING = {"import_module", "__import__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


MODULES = project_modules()


def _resolve(name: str) -> str | None:
    """The project module an imported name refers to (None: not ours)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [
        ".".join(parts[:i])
        for i in range(1, len(parts))
        if ".".join(parts[:i]) in MODULES
    ]


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.depth = 0
        self.edges: list[tuple[str, bool, int]] = []  # (target, in a function, line)
        self.by_string: list[str] = []

    def _add(self, name: str, line: int) -> None:
        target = _resolve(name)
        if target and target != self.module:
            self.edges.append((target, self.depth > 0, line))

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function  # noqa: N815

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in MODULES else base, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in IMPORT_BY_STRING:
            self.by_string.append(f"{self.module}:{node.lineno} {name}(...)")
        elif name in {"find_spec", "spec_from_file_location"} and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and str(first.value).split(".")[0] in PACKAGES
            ):
                self.by_string.append(
                    f"{self.module}:{node.lineno} {name}({first.value!r})"
                )
        self.generic_visit(node)


def scan() -> tuple[dict[str, list[tuple[str, bool, int]]], list[str]]:
    graph, by_string = {}, []
    for name, path in MODULES.items():
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        edges = list(visitor.edges)
        # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        for target, local, line in visitor.edges:
            edges += [(p, local, line) for p in _parents(target) if p != name]
        graph[name] = edges
        by_string += visitor.by_string
    return graph, by_string


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
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
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


GRAPH, BY_STRING = scan()


def test_the_scan_sees_the_project():
    assert {"registry.cli.main", "registry.schema.db", "extract.kinds"} <= set(MODULES)
    assert ("registry.writes", False) in {
        (t, f) for t, f, _ in GRAPH["registry.cli.loading"]
    }
    # a function-level import is seen, and seen as one
    assert ("crawler.pipelines", True) in {
        (t, f) for t, f, _ in GRAPH["registry.refresh.refresh"]
    }


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    graph = {name: {t for t, _, _ in edges} for name, edges in GRAPH.items()}
    assert find_cycles(graph) == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("extract", ("registry", "crawler", "sample_site")),
        ("crawler", ("registry", "extract", "sample_site")),
    ],
)
def test_the_pipeline_flows_one_way(package, forbidden):
    wrong = [
        f"{name}:{line} imports {target}"
        for name, edges in GRAPH.items()
        if name.split(".")[0] == package
        for target, _, line in edges
        if target.split(".")[0] in forbidden
    ]
    assert wrong == []


def test_no_import_by_string():
    assert BY_STRING == []


def test_function_level_imports_only_where_meant():
    local = sorted(
        f"{name}:{line} imports {target} inside a function"
        for name, edges in GRAPH.items()
        for target, in_function, line in edges
        if in_function
        and target not in _parents(name)
        and (name, target) not in ALLOWED_LOCAL_IMPORTS
        and not any(
            target in _parents(t) for n, t in ALLOWED_LOCAL_IMPORTS if n == name
        )
    )
    assert local == []


def test_datasette_assets_are_not_a_package():
    assert not (ROOT / "datasette" / "__init__.py").exists()


# Only the `cli` package parses arguments: the rooms keep no click import.


def _imports_click(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "click" for name in names):
            return True
    return False


def test_only_the_cli_package_imports_click():
    importing = {
        name
        for name, path in MODULES.items()
        if not name.startswith(("registry.cli.", "sample_site."))
        and name not in {"registry.cli", "sample_site"}
        and _imports_click(path)
    }
    assert importing == set()
    # the check sees click where it is
    assert _imports_click(MODULES["registry.cli.main"])
