"""No module of the package imports itself back through others (report -> formats ->
report was one), and imports go down the layers docs/architecture.md draws: data flows one
way, and a module can be read without the ones above it.

Read statically with ``ast``. An import counts wherever it stands, at module level or
inside a function (a lazy import back up the house is a cycle all the same); an import
under ``if TYPE_CHECKING:`` does not (it never runs). An edge goes to the module named
(``from pytest_paramform import formats`` names ``formats``), not to the packages it sits
in: Python initialises a package before its modules, and a package's ``__init__`` that
loads its modules lazily is not a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest_paramform

PACKAGE = Path(pytest_paramform.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
# The 0.1 spellings report.to_yaml() & co. import formats back until 0.3 removes them.
DEPRECATED_SHIMS = {("pytest_paramform.report", "pytest_paramform.formats")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child):
            for rest in child.orelse:
                yield from _imports(rest)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _named(statement: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The package's modules one import statement names."""
    if isinstance(statement, ast.Import):
        return {alias.name for alias in statement.names if alias.name in MODULES}
    base = statement.module or ""
    if statement.level:  # relative: from the package this module sits in
        here = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(statement.level - 1):
            here = here.rpartition(".")[0]
        base = f"{here}.{base}".rstrip(".")
    named = {f"{base}.{alias.name}" for alias in statement.names}
    return {name for name in named if name in MODULES} or ({base} & set(MODULES))


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {n for s in _imports(tree) for n in _named(s, module)} - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per cycle found by a depth-first walk (enough to name what to untie)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in path:
                found.append([*path[path.index(target) :], target])
            elif target not in done:
                walk(target, [*path, target])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            walk(module, [module])
    return found


def test_the_reader_sees_the_imports_that_run() -> None:
    graph = import_graph()
    assert "pytest_paramform.formats" in graph["pytest_paramform.options"]  # module level
    assert "pytest_paramform.plugin.fixture" in graph["pytest_paramform.plugin"]  # in a function
    assert "pytest_paramform.report" not in graph["pytest_paramform.formats"]  # TYPE_CHECKING


def test_the_walk_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    for module, target in DEPRECATED_SHIMS:
        assert target in graph[module], "the shims are gone: drop them from DEPRECATED_SHIMS"
        graph[module].discard(target)
    assert cycles(graph) == []


def test_the_report_imports_formats_only_in_its_deprecated_shims() -> None:
    tree = ast.parse(MODULES["pytest_paramform.report"].read_text(encoding="utf-8"))
    shims = {"render", "parse", "to_yaml", "to_markdown", "from_yaml", "from_markdown"}
    importing = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            "pytest_paramform.formats" in _named(s, "pytest_paramform.report")
            for s in _imports(node)
        )
    }
    assert importing == shims


# The layers docs/architecture.md draws, top first: a module imports from its own room or
# from a layer below, never from beside or above.
LAYERS: tuple[dict[str, tuple[str, ...]], ...] = (
    {"skin": ("plugin", "cli", "__main__")},
    {
        "public API": ("",),
        "options": ("options", "settings"),
        "budgets": ("budgets",),
        "chart": ("chart",),
    },
    {"sources": ("sources",), "formats": ("formats",), "comparison": ("comparison",)},
    {"data": ("report", "forward_report")},
    {
        "base": (
            "errors",
            "values",
            "files",
            "heavy_imports",
            "gc_pause",
            "torch_warnings",
            "weight_memory",
        )
    },
)


def _room(module: str) -> tuple[int, str]:
    """The layer and room a module sits in: by its own name, else by its package's."""
    inside = module.removeprefix("pytest_paramform").removeprefix(".")
    for depth, rooms in enumerate(LAYERS):
        for room, names in rooms.items():
            if any(inside == n or (n and inside.startswith(f"{n}.")) for n in names):
                return depth, room
    raise AssertionError(f"{module} is in no layer of docs/architecture.md: place it there")


def against_the_layers(graph: dict[str, set[str]]) -> list[str]:
    """Each import from beside or above the importing module's room."""
    return [
        f"{module} -> {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if _room(target) != _room(module) and _room(target)[0] <= _room(module)[0]
    ]


def test_imports_go_down_the_layers_the_architecture_document_draws() -> None:
    graph = import_graph()
    for module, target in DEPRECATED_SHIMS:
        graph[module].discard(target)
    assert against_the_layers(graph) == []


def test_the_layer_check_sees_an_import_beside_or_above() -> None:
    sources, report = "pytest_paramform.sources.kinds", "pytest_paramform.report"
    graph = {
        sources: {report, "pytest_paramform.sources.specs"},  # down, and its own room
        report: {sources},  # up
        "pytest_paramform.formats.yaml_format": {"pytest_paramform.comparison.core"},  # beside
    }
    assert against_the_layers(graph) == [
        "pytest_paramform.formats.yaml_format -> pytest_paramform.comparison.core",
        f"{report} -> {sources}",
    ]
