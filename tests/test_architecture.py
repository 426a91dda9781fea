"""The folders are the architecture: every import, at the top of a module or inside a function,
points down the stages (cli → services → advice / pilot / render → probing / data / knowledge /
probes → schema), and the modules imported at load time form no cycle."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO

ROOTS = {"advisor": REPO / "advisor", "advisor.probes": REPO / "probes"}
ROOTS["advisor.knowledge"] = REPO / "knowledge"

GROUND = "ground"
"""The modules at the top of ``advisor/`` that every stage may use: the version, errors, writing
files, progress reports, the allocator setting, and how the process runs beside others."""

MAY_IMPORT = {
    "schema": {"schema"},
    GROUND: {GROUND},
    "probes": {"probes"},
    "knowledge": {"knowledge", "schema", GROUND},
    "data": {"data", "schema", GROUND},
    "probing": {"probing", "data", "knowledge", "probes", "schema", GROUND},
    "advice": {"advice", "knowledge", "schema", GROUND},
    "pilot": {"pilot", "probing", "data", "schema", GROUND},
    "render": {"render", "schema"},
    "services": {  # render too: the report service turns documents into a page
        "services",
        "advice",
        "pilot",
        "render",
        "probing",
        "data",
        "knowledge",
        "schema",
        GROUND,
    },
    "cli": {"cli", "services", "render", "schema", GROUND},
    "api": {"api", "services", "render", "schema", GROUND},
}
CLI_SETTINGS = {
    "advisor.pilot.settings",
    "advisor.pilot.budget",
    "advisor.pilot.interrupt",
    "advisor.probing.settings",
    "advisor.advice.settings",
    "advisor.data.shapes",
}
"""What the command line builds from its options and passes to a service (settings, a budget,
the synthetic world's parameters), or catches from one (a pilot's interruption)."""


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in MAY_IMPORT:
        return parts[1]
    return GROUND


def _imports(path: Path, top_level_only: bool) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in MODULES else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_the_stages_are_folders_and_cover_every_module() -> None:
    stages = {_stage(module) for module in MODULES}
    assert stages == set(MAY_IMPORT)
    ground = sorted(m for m in MODULES if _stage(m) == GROUND)
    assert ground == [
        "advisor",
        "advisor.__main__",
        "advisor.errors",
        "advisor.memory",
        "advisor.output",
        "advisor.processes",
        "advisor.progress",
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_stages(module: str) -> None:
    stage = _stage(module)
    upward = [
        target
        for target in _imports(MODULES[module], top_level_only=False)
        if target.startswith("advisor")
        and _stage(target) not in MAY_IMPORT[stage]
        and not (stage in ("cli", "api") and target in CLI_SETTINGS)
        and not (module == "advisor.__main__" and target == "advisor.cli")
    ]
    assert not upward, f"{module} ({stage}) imports {upward}"


def test_no_import_cycle_at_load_time() -> None:
    graph = {
        module: {t for t in _imports(path, top_level_only=True) if t in MODULES and t != module}
        for module, path in MODULES.items()
    }
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            if state.get(target) == 1:
                cycle = trail[trail.index(target) :] if target in trail else trail
                pytest.fail(" -> ".join([*cycle, target]))
            if target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_schema_imports_nothing_above_it() -> None:
    for module, path in MODULES.items():
        if _stage(module) == "schema":
            outside = [t for t in _imports(path, False) if t.startswith("advisor.")]
            assert all(t.startswith("advisor.schema") for t in outside), (module, outside)


def test_errors_below_the_command_line_name_parameters_not_flags() -> None:
    """An ``InputError`` raised below the command line says ``output`` or `force`, never
    ``-o`` or ``--force``: how an option is spelt is the command line's business."""
    flag = re.compile(r"(?<![\w-])-(-[a-z][a-z-]+|[a-z])\b")
    spelt = []
    for module, path in MODULES.items():
        if _stage(module) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InputError":
                texts = [
                    part.value
                    for arg in node.args
                    for part in ast.walk(arg)
                    if isinstance(part, ast.Constant) and isinstance(part.value, str)
                ]
                spelt += [(module, node.lineno, t) for t in texts if flag.search(t)]
    assert not spelt


def test_every_package_is_installed() -> None:
    """A folder of modules missing from pyproject's list installs without them (``pip install .``
    left the Python API out once)."""
    import tomllib

    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {module for module, path in MODULES.items() if path.name == "__init__.py"}
    assert packages <= listed, sorted(packages - listed)
