"""The shape of the code: imports run one way, modules stay small, the docs map every command.

The import graph is read from the source (the AST), not from what Python happens to import, so a
function-level import counts as much as one at the top of a module: both make the modules depend
on each other. Importing `pipeline.a.b` also runs `pipeline/a/__init__.py`, so it depends on the
package `pipeline.a` too (unless the importer sits inside that package): a package `__init__` that
re-exports its modules must not be imported by anything those modules import.

Two ratchets hold what is not fixed yet. KNOWN_CIRCLES and KNOWN_LARGE may only shrink: a new
circle or a new large module fails, and so does an entry that no longer applies (delete it).
"""

import ast
import inspect
import re
from pathlib import Path

import click
import pytest

from pipeline.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pipeline"
DOCS = ROOT / "docs"

MAX_LINES = 500

# train calls evaluate's cross-validation for its manifest, evaluate calls train's fitting. The
# classifier rewrite moves fitting into a model module and cross-validation into one shared module.
KNOWN_CIRCLES: list = []

# Only files that are above MAX_LINES now may be listed (none are).
KNOWN_LARGE: set = set()


# ---- the import graph ---------------------------------------------------------------------------


def module_files() -> dict:
    """{dotted module name: path} of every module of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_package(name: str, modules: dict) -> bool:
    return modules[name].name == "__init__.py"


def _existing(name: str, modules: dict):
    """`name`, or its longest prefix that is a module (an attribute import names its module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(name: str, tree: ast.AST, modules: dict) -> list:
    """(target module, line) for every import of a pipeline module in `tree`, at any depth."""
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _existing(alias.name, modules)
                if target:
                    found.append((target, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "pipeline":
                continue
            for alias in node.names:
                target = _existing(f"{base}.{alias.name}", modules) if alias.name != "*" else None
                if target != f"{base}.{alias.name}":  # a name defined in `base`, not a submodule
                    target = _existing(base, modules)
                if target:
                    found.append((target, node.lineno))
    return found


def import_graph() -> dict:
    """{module: {imported module: (file, line) of the first such import}}, implicit packages included."""
    modules = module_files()
    graph = {}
    for name, path in modules.items():
        edges = {}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, line in imported_modules(name, tree, modules):
            where = (path.relative_to(ROOT).as_posix(), line)
            edges.setdefault(target, where)
            parent = target.rpartition(".")[0]
            while parent:  # importing pipeline.a.b runs pipeline/a/__init__.py first
                if parent in modules and not (name == parent or name.startswith(parent + ".")):
                    edges.setdefault(parent, where)
                parent = parent.rpartition(".")[0]
        edges.pop(name, None)  # a package __init__ importing a name it defines itself
        graph[name] = edges
    return graph


def strongly_connected(graph: dict) -> list:
    """The circles of the graph: its strongly connected components with more than one module,
    or one module importing itself (Tarjan's algorithm)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def describe_circle(component: set, graph: dict) -> str:
    """One path round the circle, each step with the file and line of its import."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                path = paths[node] + [start]
                steps = [f"{a} -> {b} ({graph[a][b][0]}:{graph[a][b][1]})" for a, b in zip(path, path[1:])]
                return "; ".join(steps)
            if target in component and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return " <-> ".join(sorted(component))  # pragma: no cover - a component always has a cycle


def test_the_import_graph_sees_every_kind_of_import():
    modules = {"pipeline": PACKAGE / "__init__.py", "pipeline.agreement": PACKAGE / "agreement" / "__init__.py",
               "pipeline.agreement.units": PACKAGE / "agreement" / "units.py",
               "pipeline.agreement.statistics": PACKAGE / "agreement" / "statistics.py",
               "pipeline.records": PACKAGE / "records.py", "pipeline.files": PACKAGE / "files.py"}
    source = ("from ..records import Coding\n"
              "import pipeline.files\n"
              "def f():\n"
              "    from . import units\n"
              "    from pipeline.agreement import something\n")
    found = imported_modules("pipeline.agreement.statistics", ast.parse(source), modules)
    assert found == [("pipeline.records", 1), ("pipeline.files", 2), ("pipeline.agreement.units", 4),
                     ("pipeline.agreement", 5)]


def test_a_circle_through_a_package_init_is_found():
    graph = {"pipeline.report": {"pipeline.aggregate": ("pipeline/report.py", 3)},
             "pipeline.aggregate": {"pipeline.aggregate.run": ("pipeline/aggregate/__init__.py", 9)},
             "pipeline.aggregate.run": {"pipeline.report": ("pipeline/aggregate/run.py", 12)}}
    (circle,) = strongly_connected(graph)
    assert circle == set(graph)
    assert describe_circle(circle, graph).startswith("pipeline.aggregate -> pipeline.aggregate.run "
                                                     "(pipeline/aggregate/__init__.py:9)")


def test_no_import_circles_beyond_the_known_ones():
    graph = import_graph()
    circles = strongly_connected(graph)
    new = [c for c in circles if c not in KNOWN_CIRCLES]
    assert not new, "import circles in pipeline/ (imports must run one way, from the CLI down to " \
                    "the records):\n" + "\n".join(describe_circle(c, graph) for c in new)


def test_known_circles_still_exist():
    circles = strongly_connected(import_graph())
    gone = [c for c in KNOWN_CIRCLES if c not in circles]
    assert not gone, f"no longer a circle, remove from KNOWN_CIRCLES: {gone}"


def test_command_modules_import_only_the_common_module_of_the_command_line():
    """pipeline/cli/: each command module adds its commands to the group of common.py; only
    __init__.py (and __main__.py, through it) brings them together."""
    graph = import_graph()
    commands = [name for name in graph if name.startswith("pipeline.cli.")
                and name not in ("pipeline.cli.common", "pipeline.cli.__main__")]
    assert len(commands) >= 8
    for name in commands + ["pipeline.cli.common"]:
        inside = {target: where for target, where in graph[name].items()
                  if target == "pipeline.cli" or target.startswith("pipeline.cli.")}
        allowed = {"pipeline.cli.common"} if name != "pipeline.cli.common" else set()
        wrong = {target: where for target, where in inside.items() if target not in allowed}
        assert not wrong, f"{name} imports {wrong}: command modules import pipeline/cli/common.py only"
        if name != "pipeline.cli.common":
            assert "pipeline.cli.common" in inside, f"{name} adds no commands to the group of common.py"
    assert set(commands) <= set(graph["pipeline.cli"]), "pipeline/cli/__init__.py must import every command module"


# ---- module size ------------------------------------------------------------------------------


def module_lines() -> dict:
    return {path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
            for path in module_files().values()}


def test_no_module_above_the_size_limit():
    large = {name: n for name, n in module_lines().items() if n > MAX_LINES and name not in KNOWN_LARGE}
    assert not large, f"modules above {MAX_LINES} lines; split them where their parts separate: {large}"


def test_known_large_modules_are_still_large():
    lines = module_lines()
    small = sorted(name for name in KNOWN_LARGE if lines.get(name, 0) <= MAX_LINES)
    assert not small, f"no longer above {MAX_LINES} lines (or gone), remove from KNOWN_LARGE: {small}"


# ---- the documentation maps the code -----------------------------------------------------------


def _commands(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_every_command_help_names_its_manual_page(path, command):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    pages = re.findall(r"Manual: (docs/[\w-]+\.md)", result.output)
    assert pages, f"'capcode {' '.join(path)} --help' does not say where its manual is ('Manual: docs/....md')"
    for page in pages:
        assert (ROOT / page).is_file(), f"'capcode {' '.join(path)} --help' names {page}, which does not exist"


def _run_modules(command) -> set:
    """The modules a command's function imports its work from (`from ..x.y import run_z` in
    pipeline/cli/), as paths without their suffix; the command line's own modules and config left out."""
    callback = inspect.unwrap(command.callback)  # @click.pass_context wraps the function
    path = Path(callback.__code__.co_filename)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                    and node.name == callback.__name__)
    package = path.resolve().relative_to(ROOT).parent.parts  # ("pipeline", "cli")
    found = set()
    for node in ast.walk(function):
        if isinstance(node, ast.ImportFrom) and node.level and node.module:
            base = package[: len(package) - (node.level - 1)]
            found.add("/".join(base + tuple(node.module.split("."))))
    return {module for module in found if module != "pipeline/config" and not module.startswith("pipeline/cli/")}


def test_the_work_of_every_command_is_found():
    """The check below reads where each command imports its work from; it must find some for all."""
    commands = [command for _, command in COMMANDS if not isinstance(command, click.Group)]
    for command in commands:
        assert all((ROOT / (m + ".py")).is_file() or (ROOT / m).is_dir() for m in _run_modules(command))
    assert _run_modules(cli.commands["train"]) == {"pipeline/train"}
    assert _run_modules(cli.commands["agreement"]) == {"pipeline/agreement/run", "pipeline/agreement/span_run"}
    assert sum(bool(_run_modules(command)) for command in commands) == len(commands)


def test_architecture_page_names_the_module_of_every_command():
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    for path, command in COMMANDS:
        if isinstance(command, click.Group):
            continue
        name = "capcode " + " ".join(path)
        assert f"`{name}`" in page, f"docs/architecture.md does not name `{name}`"
        for module in _run_modules(command):
            shown = module + (".py" if (ROOT / (module + ".py")).is_file() else "/")
            assert shown in page, f"docs/architecture.md does not name {shown}, where `{name}` does its work"


def test_architecture_page_names_every_module():
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    missing = [name for name in module_lines() if name not in page and not name.endswith("__init__.py")]
    assert not missing, f"docs/architecture.md does not say what these modules own: {missing}"


def test_dvc_stages_depend_on_code_that_exists():
    """A stage's code dependencies in dvc.yaml follow the code when it moves."""
    import yaml

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    code = [(name, dep) for name, spec in stages.items() for dep in spec.get("deps", [])
            if str(dep).startswith("pipeline/")]
    assert code, "no stage depends on its code"
    missing = [(name, dep) for name, dep in code if not (ROOT / dep).exists()]
    assert not missing, f"dvc.yaml names code that does not exist: {missing}"
