"""The layering of the package, read from the source with `ast`: no import goes up a layer, no import cycle.

Why a test: a function-level import hides a cycle or an upward dependency from Python (it only runs later), not
from a reader; the rule is only kept if something checks every import, module-level and function-level alike.

Layers, bottom-up (README "Architecture"); a module may import its own layer and those below:

    0 core        rl_aug (the package root), rl_aug.augment, errors, extras, precision, host_memory, gl, media, files
    1 strategies  rl_aug.strategies (the agent-strategy protocol: rl_aug/strategies/protocol.py)
    2 envs        rl_aug.wrappers, rl_aug.envs (and envs.ccil's tasks), rl_aug.ccil (labels, dynamics)
    3 agents      rl_aug.agents' networks, vit, replay, base, sac, drqv2, bc, pixel_bc; rl_aug.sb3;
                  rl_aug.evaluation (rollouts, statistics, reports, invariance)
    4 harness     rl_aug.agents (package root, re-exports load_policy), config, overrides, train, checkpoint,
                  callbacks, run_lock, provenance, policy, evaluate, sweep, ray_tune
    5 cli         rl_aug.cli
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# import name of each source folder (agents/ and envs/ install as rl_aug.agents and rl_aug.envs)
PACKAGES = {"rl_aug": ROOT / "rl_aug", "rl_aug.agents": ROOT / "agents", "rl_aug.envs": ROOT / "envs"}

CORE, STRATEGIES, ENVS, AGENTS, HARNESS, CLI = range(6)
LAYER_NAMES = ("core", "strategies", "envs", "agents", "harness", "cli")
# module (or package prefix) -> layer; the longest matching prefix wins
LAYERS: dict[str, int] = {
    "rl_aug": CORE,
    "rl_aug.augment": CORE,
    "rl_aug.errors": CORE,
    "rl_aug.extras": CORE,
    "rl_aug.precision": CORE,
    "rl_aug.host_memory": CORE,
    "rl_aug.gl": CORE,
    "rl_aug.media": CORE,
    "rl_aug.files": CORE,
    "rl_aug.strategies": STRATEGIES,
    "rl_aug.wrappers": ENVS,
    "rl_aug.envs": ENVS,
    "rl_aug.ccil": ENVS,
    "rl_aug.agents": HARNESS,
    **{f"rl_aug.agents.{m}": AGENTS for m in ("networks", "image_input", "vit", "replay", "base", "sac", "drqv2", "bc",
                                                    "pixel_bc")},
    "rl_aug.sb3": AGENTS,
    "rl_aug.evaluation": AGENTS,
    "rl_aug.cli": CLI,
}


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module's import name -> (file, is a package's __init__)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join([package, *(parts[:-1] if is_package else parts)])] = (path, is_package)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module of the package -> line of the first such import}, every import statement
    counted, at module level or inside a function."""
    mods = modules()

    def resolve(name: str) -> str | None:  # "rl_aug.augment.parse" -> "rl_aug.augment"
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_package) in mods.items():
        here = name if is_package else name.rpartition(".")[0]
        edges = graph.setdefault(name, {})
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                # `from pkg import sub` imports the submodule; `from pkg import name` the package
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in targets:
                module = resolve(target) if target.split(".")[0] == "rl_aug" else None
                if module is not None and module != name:
                    edges.setdefault(module, node.lineno)
    return graph


def layer(module: str) -> int:
    prefix = module
    while prefix not in LAYERS:
        prefix = prefix.rpartition(".")[0]
    return LAYERS[prefix]


def cycles(graph: dict[str, dict[str, int]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root, children in graph.items():
        if root in index:
            continue
        work = [(root, iter(children))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_every_module_has_a_layer():
    assert all(layer(m) in range(len(LAYER_NAMES)) for m in modules())
    assert "rl_aug.agents.policy" in modules() and "rl_aug.cli.evaluate" in modules()  # the walk found the tree


def test_no_import_goes_up_a_layer():
    graph = import_graph()
    upward = [f"{m} ({LAYER_NAMES[layer(m)]}) imports {t} ({LAYER_NAMES[layer(t)]}) at line {line}"
              for m, edges in sorted(graph.items()) for t, line in sorted(edges.items()) if layer(t) > layer(m)]
    assert upward == []


def test_no_import_cycle_at_all():
    assert [sorted(c) for c in cycles(import_graph())] == []


def test_the_checker_sees_function_level_imports_and_cycles(tmp_path, monkeypatch):
    """The checker itself: a function-level import counts, and a cycle through one is found."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from rl_aug.b import x\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from rl_aug import a\n    from . import c\n")
    (tmp_path / "pkg" / "c.py").write_text("")
    monkeypatch.setitem(globals(), "PACKAGES", {"rl_aug": tmp_path / "pkg"})
    graph = import_graph()
    assert graph["rl_aug.b"] == {"rl_aug.a": 2, "rl_aug.c": 3}
    assert cycles(graph) == [{"rl_aug.a", "rl_aug.b"}]
