"""Command line: plan, evaluate and compare `v2g-scenario/1` files.

    python -m core.dispatch plan SCENARIO.json -o SCHEDULE.json [--time-limit S]
    python -m core.dispatch evaluate SCENARIO.json SCHEDULE.json
    python -m core.dispatch compare SCENARIO.json [--time-limit S]

Exit codes: 0 success (for evaluate: the schedule is feasible), 1 the schedule breaks a rule,
2 malformed input (the message names the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import DEFAULT_TIME_LIMIT_S, ScenarioError, evaluate, parse_scenario, plan, to_schedule
from .baselines import smart_charging_plan, summarise, uncontrolled_plan
from .evaluate import CostBreakdown

EXIT_OK, EXIT_VIOLATIONS, EXIT_MALFORMED = 0, 1, 2


class InputError(Exception):
    """A file that cannot be read as the input it should be."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (InputError, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_MALFORMED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.dispatch", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    plan_cmd = commands.add_parser("plan", help="plan a scenario and write its schedule")
    plan_cmd.add_argument("scenario", type=Path)
    plan_cmd.add_argument("-o", "--output", type=Path, required=True, help="where to write the schedule JSON")
    plan_cmd.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, metavar="S")
    plan_cmd.set_defaults(run=_plan)

    evaluate_cmd = commands.add_parser("evaluate", help="check a schedule against every rule and cost it")
    evaluate_cmd.add_argument("scenario", type=Path)
    evaluate_cmd.add_argument("schedule", type=Path)
    evaluate_cmd.set_defaults(run=_evaluate)

    compare_cmd = commands.add_parser(
        "compare", help="optimised plan against uncontrolled and smart charging"
    )
    compare_cmd.add_argument("scenario", type=Path)
    compare_cmd.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, metavar="S")
    compare_cmd.set_defaults(run=_compare)
    return parser


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: the {what} is not valid JSON: {exc}") from None


def _read_scenario(path: Path):
    try:
        return parse_scenario(_read_json(path, "scenario"))
    except ScenarioError as exc:
        raise InputError(f"{path}: {exc}") from None


def _plan(args) -> int:
    scenario = _read_scenario(args.scenario)
    result = plan(scenario, time_limit_s=args.time_limit)
    args.output.write_text(json.dumps(to_schedule(result), indent=1) + "\n", encoding="utf-8")
    status = result.status if not result.status_reason else f"{result.status} ({result.status_reason})"
    print(f"scenario    {result.scenario_name}: {len(result.vehicle_ids)} vehicles")
    print(f"status      {status}")
    print(f"objective   {result.objective:.4f}")
    _print_cost(result.cost, result.peak_import_kw)
    print(f"solve time  {result.solve_time_s:.3f} s")
    if result.shortfalls:
        print("shortfalls:")
        for s in result.shortfalls:
            print(f"  {s.vehicle_id}: {s.missing_kwh:.2f} kWh short of its target ({s.cause}: {s.detail})")
    else:
        print("shortfalls  none: every vehicle reaches its target")
    for rule in result.violations:
        if rule.rule in ("S1", "S2"):
            print(f"  site: {rule.message}")
    print(f"schedule written to {args.output}")
    return EXIT_OK


def _evaluate(args) -> int:
    scenario = _read_scenario(args.scenario)
    schedule = _read_json(args.schedule, "schedule")
    evaluation = evaluate(scenario, schedule)
    _print_cost(evaluation.cost, evaluation.peak_import_kw)
    print(f"violation   {evaluation.violation_kwh:.6g} kWh (section 10)")
    for problem in evaluation.malformed:
        print(f"malformed   {args.schedule}: {problem}")
    for violation in evaluation.violations:
        print(f"{violation.rule:<4} {violation.message}")
    if evaluation.malformed:
        print("MALFORMED schedule (counts as infeasible)")
        return EXIT_MALFORMED
    if evaluation.violations:
        print(f"INFEASIBLE: {len(evaluation.violations)} violation(s)")
        return EXIT_VIOLATIONS
    print("FEASIBLE: every rule holds")
    return EXIT_OK


def _compare(args) -> int:
    scenario = _read_scenario(args.scenario)
    result = plan(scenario, time_limit_s=args.time_limit)
    rows = [
        summarise(scenario, f"optimised ({result.status})", result.power_kw),
        summarise(scenario, "uncontrolled", uncontrolled_plan(scenario)),
        summarise(scenario, "smart charging", smart_charging_plan(scenario)),
    ]
    money = scenario.currency or ""
    print(f"{scenario.name}: {len(scenario.vehicles)} vehicles, {scenario.horizon_steps} steps")
    print(
        f"{'plan':<22} {'cost ' + money:>12} {'peak kW':>9} {'discharged kWh':>15} {'targets met':>12}  rules"
    )
    for row in rows:
        rules = "all kept" if row.feasible else f"{row.violations} broken"
        print(
            f"{row.name:<22} {row.cost:>12.2f} {row.peak_import_kw:>9.1f} {row.discharged_kwh:>15.1f} "
            f"{f'{row.targets_met}/{row.vehicles}':>12}  {rules}"
        )
    return EXIT_OK


def _print_cost(cost: CostBreakdown, peak_import_kw: float) -> None:
    print(
        f"cost        {cost.total:.4f} = energy {cost.energy:.4f} + demand {cost.demand:.4f} "
        f"+ degradation {cost.degradation:.4f} - rewards {cost.rewards:.4f}"
    )
    print(f"peak import {peak_import_kw:.3f} kW")


if __name__ == "__main__":
    sys.exit(main())
