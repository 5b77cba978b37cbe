"""The import rules of ARCHITECTURE.md, checked on the source.

- Layers: every module of core/ has a rank (LAYERS below); a module imports only modules of a lower
  rank, or modules of its own package. components/ sit above core's pure rules, pages/ above
  components, app.py on top.
- No cycle in the import graph of core/, pages/, components/ and app.py, imports inside functions
  included (the walk reads every import statement of the file, not only the top-level ones).
- core/ imports nothing from Dash; components/ never touch the database; core/dispatch is pure; only
  core/gateway (and the simulator) speaks OCPP or runs a scheduler.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Low to high. A module may import a lower rank, or a module of its own package.
LAYERS: list[tuple[str, ...]] = [
    ("core.config", "core.supervisor"),  # the bottom: stdlib only
    ("core.clock",),
    ("core.rules", "core.errors", "core.windows", "core.dispatch", "core.security", "core.audit_text"),
    ("core.charging_profiles",),
    ("core.models",),
    ("core.migrations",),  # Alembic: env.py reads the models; core.db's init_db runs the upgrade
    ("core.db",),
    ("core.sites", "core.audit"),
    ("core.users", "core.demo_files"),
    ("core.signals",),
    ("core.controls", "core.meters"),  # core.meters: site meter config, readers, status
    ("core.departures",),
    ("core.reports",),
    ("core.planning",),
    ("core.telemetry",),
    ("core.auth", "core.web_headers"),
    ("core.admin",),  # the admin services: sites, chargers, vehicles, people (they end sessions: core.auth)
    ("core.demo",),  # seeds the demo site through core.admin
    ("core.gateway", "core.simulator"),
    ("components",),
    ("pages",),
    ("app",),
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


# --- the import graph --------------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for folder in ("core", "pages", "components"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that `name` is or lies in (`core.models.Site` -> `core.models`)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules that `path` imports anywhere in the file (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from core import models` imports the module core.models; `from core.db import x`, core.db.
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            names = [n for n in names if _resolve(n, known) is not None]
            if any(_resolve(n, known) != _resolve(base, known) for n in names[:-1]):
                names = names[:-1]  # submodules were named: the package itself is not what is imported
        for name in names:
            target = _resolve(name, known)
            if target is not None and target != this:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = project_files()
    known = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, known) for p in files}


def unit_of(module: str) -> str | None:
    """The layer unit a module belongs to (`core.signals.prices` -> `core.signals`)."""
    return _resolve(module, set(RANK))


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        unit = unit_of(module)
        for target in sorted(targets):
            other = unit_of(target)
            if unit is None or other is None or other == unit:
                continue
            if RANK[other] >= RANK[unit]:
                found.append(f"{module} (rank {RANK[unit]}) imports {target} (rank {RANK[other]})")
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_every_core_module_has_a_layer():
    missing = [m for m in import_graph() if m != "core" and unit_of(m) is None]
    assert missing == [], f"add these to LAYERS (and to ARCHITECTURE.md): {missing}"


def test_imports_point_down_the_layers():
    assert layer_violations(import_graph()) == []


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None


def test_the_layer_and_cycle_checks_can_fail():
    """The checkers themselves can fail: an upward import and a cycle are both reported."""
    upward = {"core.db": {"core.telemetry"}, "core.telemetry": set()}
    assert layer_violations(upward) == [f"core.db (rank {RANK['core.db']}) imports core.telemetry (rank {RANK['core.telemetry']})"]
    cyclic = {"core.signals.prices": {"core.signals.ledger"}, "core.signals.ledger": {"core.signals.prices"}}
    assert layer_violations(cyclic) == []  # sideways inside a package is allowed ...
    assert find_cycle(cyclic) == ["core.signals.ledger", "core.signals.prices", "core.signals.ledger"]  # ... a cycle is not


def test_imports_inside_functions_are_seen(tmp_path, monkeypatch):
    """An import hidden in a function body is an edge like any other."""
    fake = tmp_path / "core"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "db.py").write_text("def f():\n    from core import telemetry\n    return telemetry\n")
    (fake / "telemetry.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    known = {"core", "core.db", "core.telemetry"}
    assert imports_of(fake / "db.py", known) == {"core.telemetry"}


# --- the rules of which library lives where -------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offending(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where} imports {name}")
    return found


def test_core_imports_nothing_from_the_ui():
    assert offending(python_files("core"), ("dash", "dash_bootstrap_components", "plotly", "pages", "components")) == []


def test_components_never_touch_the_database():
    forbidden = ("core.db", "core.models", "sqlmodel", "sqlalchemy", "core.telemetry", "core.planning", "core.controls")
    assert offending(python_files("components"), forbidden) == []


def test_pages_hold_no_queries():
    """Pages call services; the models, the session and SQL stay in core."""
    assert offending(python_files("pages"), ("core.db", "core.models", "sqlmodel", "sqlalchemy")) == []


def test_dispatch_is_pure_computation():
    files = python_files("core/dispatch")
    assert files, "core/dispatch is missing"
    forbidden = ("core.db", "core.models", "sqlmodel", "sqlalchemy", "ocpp", "websockets", "apscheduler", "pandas", "dash")
    assert offending(files, forbidden) == []


def test_shared_rules_and_profiles_are_pure():
    files = python_files("core/rules") + [ROOT / "core" / "charging_profiles.py"]
    forbidden = ("core.db", "core.models", "sqlmodel", "sqlalchemy", "ocpp", "websockets", "pandas")
    assert offending(files, forbidden) == []


def test_only_the_gateway_speaks_ocpp_or_schedules():
    outside = [
        p for p in python_files("core") + python_files("pages") + python_files("components") + [ROOT / "app.py"]
        if "gateway" not in p.parts and "simulator" not in p.parts
    ]
    assert offending(outside, ("ocpp", "websockets", "apscheduler", "openleadr")) == []


def test_nothing_imports_gateway_or_simulator_but_their_entry_points():
    outside = [
        p for p in python_files("core") + python_files("pages") + python_files("components")
        if "gateway" not in p.parts and "simulator" not in p.parts
    ]
    assert offending(outside, ("core.gateway", "core.simulator")) == []


def test_the_protocol_rule_lives_in_one_place():
    """"Can this protocol discharge" is decided in core/rules; only the wire layer (the profile
    builder, the gateway's handlers) and the simulator name a protocol version otherwise."""
    allowed = ("core/rules/", "core/charging_profiles.py", "core/gateway/", "core/simulator/")
    found = []
    for path in python_files("core") + python_files("pages") + python_files("components"):
        where = str(path.relative_to(ROOT))
        if where.startswith(allowed):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value in ("1.6", "2.0.1", "2.1") for c in [node.left, *node.comparators]
            ):
                found.append(f"{where}:{node.lineno}")
    assert found == []


def test_the_rules_catch_a_violation(tmp_path):
    """The checker itself can fail: a file that imports dash is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import dash\nfrom core.db import session_scope\n")
    assert offending([bad], ("dash",)) != []
    assert offending([bad], ("core.db",)) != []


def test_no_core_module_is_too_long():
    """One concern per file: nothing in core/ over ~450 lines but the optimiser (one LP model)."""
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in python_files("core")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 460 and p.name != "optimiser.py"
    ]
    assert long == []
