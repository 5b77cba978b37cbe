"""`python -m core.dispatch` run as a real subprocess: plan, evaluate, compare, and malformed input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.dispatch.builders import EXAMPLE_FILES, ROOT, worked_example, worked_schedule

EXAMPLE = next(p for p in EXAMPLE_FILES if p.stem == "pub_home3_nl_winter")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.dispatch", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path, doc) -> str:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_plan_writes_a_schedule_that_evaluates_feasible(tmp_path):
    out = tmp_path / "schedule.json"
    planned = run("plan", EXAMPLE, "-o", out, "--time-limit", "5")
    assert planned.returncode == 0, planned.stderr
    assert "status      optimal" in planned.stdout
    assert "shortfalls  none" in planned.stdout
    schedule = json.loads(out.read_text())
    assert schedule["format"] == "v2g-schedule/1" and schedule["scenario"] == "pub_home3_nl_winter"

    checked = run("evaluate", EXAMPLE, out)
    assert checked.returncode == 0, checked.stdout
    assert "FEASIBLE" in checked.stdout
    # The cost evaluate prints is the objective plan printed.
    objective = float(planned.stdout.split("objective")[1].split()[0])
    cost = float(checked.stdout.split("cost")[1].split()[0])
    assert cost == pytest.approx(objective, abs=1e-4)


def test_evaluate_prints_cost_parts_and_exit_code_1_for_violations(tmp_path):
    scenario = write(tmp_path / "s.json", worked_example())
    schedule = worked_schedule()
    schedule["power_kw"]["B"][3] = 11  # S1: net 19 kW over the 18 kW cap
    result = run("evaluate", scenario, write(tmp_path / "p.json", schedule))
    assert result.returncode == 1
    assert "S1" in result.stdout and "above its bound 18 kW" in result.stdout
    assert "energy" in result.stdout and "demand" in result.stdout and "degradation" in result.stdout
    assert "peak import" in result.stdout


def test_evaluate_feasible_worked_example_costs_1_85(tmp_path):
    result = run(
        "evaluate",
        write(tmp_path / "s.json", worked_example()),
        write(tmp_path / "p.json", worked_schedule()),
    )
    assert result.returncode == 0
    assert (
        "cost        1.8500 = energy 1.4000 + demand 2.0000 + degradation 0.2000 - rewards 1.7500"
        in result.stdout
    )


def test_evaluate_malformed_schedule_exit_code_2(tmp_path):
    schedule = worked_schedule()
    schedule["power_kw"]["A"] = [1, 2]
    result = run(
        "evaluate", write(tmp_path / "s.json", worked_example()), write(tmp_path / "p.json", schedule)
    )
    assert result.returncode == 2
    assert "power_kw.A: must be a list of 4 finite numbers" in result.stdout


def test_compare_prints_the_three_plans():
    result = run("compare", EXAMPLE)
    assert result.returncode == 0, result.stderr
    for name in ("optimised (optimal)", "uncontrolled", "smart charging"):
        assert name in result.stdout
    assert "targets met" in result.stdout and "discharged kWh" in result.stdout


@pytest.mark.parametrize("command", ["plan", "evaluate", "compare"])
def test_malformed_scenario_is_named_without_traceback(tmp_path, command):
    doc = worked_example()
    doc["vehicles"][1]["soc_floor"] = 1.5
    scenario = write(tmp_path / "bad.json", doc)
    args = {
        "plan": [scenario, "-o", tmp_path / "out.json"],
        "evaluate": [scenario, scenario],
        "compare": [scenario],
    }[command]
    result = run(command, *args)
    assert result.returncode == 2
    assert "vehicles[1].soc_floor: must be <= 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_json_is_refused_cleanly(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run("compare", bad)
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr and "Traceback" not in result.stderr
