"""Import structure: no cycles, imports go downward, and the library stays free of the deployment.

Two views. Statically, the module-level imports of every file (not those inside functions or
under ``TYPE_CHECKING``) form a graph that must have no cycle, whether or not today's import
order happens to work. At run time, every module is imported first in a fresh process (forked
from one that has loaded only third-party packages), then all the others in a random order.
"""

from __future__ import annotations

import ast
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "amp_features"
# Packages whose modules may not be imported by amp_features, at any level (the DAG and the
# spark-submit scripts depend on the library, never the other way round).
DEPLOYMENT = ("airflow", "dags", "jobs")
# The modules that add CLI subcommands (read from cli.py, so a new one is checked too).
CLI = "amp_features.cli"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Absolute names imported by a module; with ``top_level``, only what runs at import time
    (function bodies and ``if TYPE_CHECKING:`` blocks are skipped)."""

    def __init__(self, module: str, *, top_level: bool) -> None:
        self.package = (
            module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        )
        self.top_level = top_level
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not self.top_level:
            self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        if not self.top_level:
            self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if self.top_level and _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
        self.names.add(base)
        # ``from amp_features.offline import snapshots`` imports the submodule too.
        self.names.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)


def imports_of(module: str, *, top_level: bool) -> set[str]:
    visitor = _Imports(module, top_level=top_level)
    visitor.visit(ast.parse(MODULES[module].read_text()))
    return visitor.names


def internal(names: set[str]) -> set[str]:
    """Our modules among ``names``, with the packages whose ``__init__`` an import runs."""
    out: set[str] = set()
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in MODULES and prefix != "amp_features":
                out.add(prefix)
    return out


def graph() -> dict[str, set[str]]:
    return {m: internal(imports_of(m, top_level=True)) - {m} for m in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            # A package's __init__ importing its own submodule is not a cycle with it.
            if v.startswith(w + ".") or w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_cycle() -> None:
    # The checker itself can fail: a made-up cycle a -> b -> c -> a is reported.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_circular_imports_at_module_level() -> None:
    assert len(MODULES) > 50
    assert cycles(graph()) == []


def test_every_module_imports_first_in_a_fresh_process() -> None:
    """Each module imported first (what a cycle breaks), then the rest in a random order."""
    seed = int(os.environ.get("AMP_IMPORT_SEED", random.randrange(1_000_000)))
    script = textwrap.dedent(
        """
        import importlib, os, random, sys, traceback
        import pyspark.sql, pandas  # third-party only: the parent never imports amp_features
        modules, seed = sys.argv[2:], int(sys.argv[1])
        failures = []
        for first in modules:
            pid = os.fork()
            if pid == 0:
                try:
                    others = [m for m in modules if m != first]
                    random.Random(seed).shuffle(others)
                    for name in [first, *others]:
                        importlib.import_module(name)
                    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {deployment})
                    if leaked:
                        raise ImportError(f"amp_features imported {{leaked}}")
                except BaseException:
                    traceback.print_exc()
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if status:
                failures.append(first)
        print("FAILED:", " ".join(failures) if failures else "none")
        sys.exit(1 if failures else 0)
        """
    ).format(deployment=set(DEPLOYMENT))
    result = subprocess.run(
        [sys.executable, "-c", script, str(seed), *MODULES],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, f"seed {seed}:\n{result.stdout}\n{result.stderr[-6000:]}"
    assert "FAILED: none" in result.stdout


def test_tiles_do_not_import_rollup() -> None:
    # At any level: daily states are built before, and independently of, the window roll-up.
    for module in (m for m in MODULES if m.startswith("amp_features.tiles")):
        rollup = {
            n for n in imports_of(module, top_level=False) if n.startswith("amp_features.rollup")
        }
        assert not rollup, f"{module} imports {sorted(rollup)}"


def _command_modules() -> list[str]:
    tree = ast.parse(MODULES[CLI].read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "COMMAND_MODULES" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            return list(value)
    raise AssertionError("amp_features/cli.py has no COMMAND_MODULES")


def test_the_cli_and_its_commands_do_not_import_each_other_at_load() -> None:
    commands = _command_modules()
    assert "amp_features.pipeline.commands" in commands and len(commands) >= 5
    assert all(c in MODULES for c in commands), commands
    # cli.py loads its command modules by name when it builds the parser, never at import.
    assert not internal(imports_of(CLI, top_level=True)) & set(commands)
    # A command module never imports the CLI back at load time (that is a cycle waiting to
    # happen, and drags every other command's imports in).
    for module in commands:
        assert CLI not in internal(imports_of(module, top_level=True)), module


def test_amp_features_never_imports_the_deployment() -> None:
    for module in MODULES:
        names = imports_of(module, top_level=False)
        bad = sorted(n for n in names if n.split(".")[0] in DEPLOYMENT)
        assert not bad, f"{module} imports {bad}"
