"""The import rules of ARCHITECTURE.md, checked on the source.

core/ imports nothing from Dash, pages/ or components/; components/ never touches the database;
core/dispatch is pure; only core/gateway (and the simulator) speaks OCPP or runs a scheduler;
nothing outside their entry points and tests imports core/gateway or core/simulator.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def test_dispatch_is_pure_computation():
    files = python_files("core/dispatch")
    assert files, "core/dispatch is missing"
    forbidden = ("core.db", "core.models", "sqlmodel", "sqlalchemy", "ocpp", "websockets", "apscheduler", "pandas", "dash")
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
    # core/charging_profiles.py is pure (no ocpp import) and is the one place that builds charging
    # profiles; core/planning uses it to fill the outbox (see ARCHITECTURE.md note in README).
    found = [o for o in offending(outside, ("core.gateway", "core.simulator")) if "core.charging_profiles" not in o]
    assert found == []


def test_the_rules_catch_a_violation(tmp_path):
    """The checker itself can fail: a file that imports dash is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import dash\nfrom core.db import session_scope\n")
    assert offending([bad], ("dash",)) != []
    assert offending([bad], ("core.db",)) != []
