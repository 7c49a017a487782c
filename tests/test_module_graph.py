"""The package's modules import each other without a cycle (docs/architecture.md).

Every relative import counts, the ones inside functions too (an import deferred to dodge a
cycle is still the cycle); only ``if TYPE_CHECKING:`` blocks, which never run, are left out.
"""

import ast
from pathlib import Path

import jacobian_nn

PACKAGE = Path(jacobian_nn.__file__).parent


def imports_of(path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    annotation_only = {id(node) for block in ast.walk(tree)
                       if isinstance(block, ast.If) and getattr(block.test, "id", "") ==
                       "TYPE_CHECKING" for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in annotation_only:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return found & modules


def module_graph() -> dict[str, set[str]]:
    paths = {path.stem: path for path in PACKAGE.glob("*.py")}
    return {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                return path[path.index(dep):] + [name, dep] if dep in path else [name, dep]
            if dep not in state and (cycle := visit(dep, path + [name])):
                return cycle
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name, [])):
            return cycle
    return None


def test_the_module_graph_has_no_cycle_counting_imports_inside_functions():
    graph = module_graph()
    assert graph["network"] >= {"layers", "batch", "curvature"}  # the graph is really read
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_deferred_import_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
