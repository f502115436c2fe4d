"""The package's shape: no import circle, and the results-folder contract spelled in one module."""

import ast
from pathlib import Path

from support import REPO_ROOT
from tao_skill_bank.gaps import contract

SRC = REPO_ROOT / "src"
PACKAGE = "tao_skill_bank"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Package modules `path` imports anywhere (top level, functions, under TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            # the deepest known module the import names (a `from pkg import name` may name a module)
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(path, name, known) for name, path in modules.items()}
    # importing a.b.c runs a/__init__ and a/b/__init__ first: those edges are real too, but a
    # package's __init__ importing its own submodules is the usual facade, not a circle
    return {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return stack[stack.index(child):] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 40 and graph["tao_skill_bank.oi.rules"]  # the graph was really built
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_function_level_cycle(tmp_path):
    # the same walk over two modules that import each other inside functions
    (tmp_path / "a.py").write_text("def f():\n    from b import g\n")
    (tmp_path / "b.py").write_text("def g():\n    import a\n")
    known = {"a", "b"}
    graph = {"a": _imports(tmp_path / "a.py", "a", known), "b": _imports(tmp_path / "b.py", "b", known)}
    assert find_cycle(graph) == ["a", "b", "a"]


RESULT_FILE_NAMES = {contract.SPEC, contract.PARQUET, contract.THRESHOLD, contract.BREAKDOWN, contract.METRICS,
                     contract.UNREACHABLE, contract.RUN_RECORD, contract.SCORE_PLOT, contract.IMAGES_DIR,
                     contract.CONTACT_SHEET, contract.SPOTCHECK, contract.DRAFT_REPORT, contract.REPORT,
                     contract.PACKAGE_DIR, contract.BRIDGE_DIR, contract.COMPLETE, contract.CLAIM}


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value.rstrip("/")


def test_results_folder_file_names_are_spelled_in_one_module():
    spelled: dict[str, set[str]] = {}
    for name, path in _modules().items():
        for value in _string_constants(path):
            if value in RESULT_FILE_NAMES:
                spelled.setdefault(value, set()).add(name)
    assert set(spelled) == RESULT_FILE_NAMES  # each is spelled somewhere (the contract)
    elsewhere = {value: sorted(mods - {"tao_skill_bank.gaps.contract"}) for value, mods in spelled.items()
                 if mods != {"tao_skill_bank.gaps.contract"}}
    assert elsewhere == {}, f"use tao_skill_bank.gaps.contract instead of the literal: {elsewhere}"


def test_the_contract_module_imports_nothing_heavy():
    # the hooks import it on every tool call: standard library only
    imported = {alias.split(".")[0] for alias in _imports(SRC / PACKAGE / "gaps" / "contract.py",
                                                           "tao_skill_bank.gaps.contract", set(_modules()))}
    tree = ast.parse((SRC / PACKAGE / "gaps" / "contract.py").read_text())
    top = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | \
        {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == set() and top <= {"__future__", "pathlib", "json", "os", "stat"}


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                offenders += [f"{name}: from {node.module} import {a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]
    assert offenders == []
