"""Dispatch benchmark: the example scenarios and generated fleets of 50 to 1000 vehicles over 96 steps.

    python tests/benchmarks/bench_dispatch.py [--sizes 50 200 500 1000] [--seed 1] [--repeat 3]

Each case runs in its own process so its peak memory is its own: the growth of the process's maximum
resident set size (ru_maxrss) while planning. "build+solve" is the optimiser's time (model build and
HiGHS, best of --repeat runs); "plan" adds evaluation and explanations. Every optimised schedule is checked
with `evaluate` and the script exits 1 if one breaks a rule. Goals: 500 vehicles < 2 s, 1000 < 5 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOALS_S = {500: 2.0, 1000: 5.0}


def run_case(case: str, seed: int, repeat: int) -> dict:
    """Plan one case in this process and measure it (called in a child process)."""
    sys.path.insert(0, str(ROOT))
    from core.dispatch import evaluate, generate_fleet_scenario, parse_scenario, plan
    from core.dispatch.baselines import smart_charging_plan, uncontrolled_plan

    if case.startswith("fleet"):
        doc = generate_fleet_scenario(int(case.removeprefix("fleet")), seed)
    else:
        doc = json.loads((ROOT / "data" / "scenarios" / f"{case}.json").read_text(encoding="utf-8"))
    scenario = parse_scenario(doc)
    _ = scenario.fleet, scenario.site  # derived arrays are part of reading, not of planning

    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = plan(scenario)
    plan_s = time.perf_counter() - started
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before_kb) / 1024
    solve_times = [result.solve_time_s] + [plan(scenario).solve_time_s for _ in range(repeat - 1)]

    optimised = evaluate(scenario, result.power_kw)
    uncontrolled = evaluate(scenario, uncontrolled_plan(scenario))
    smart = evaluate(scenario, smart_charging_plan(scenario))
    return {
        "case": case,
        "vehicles": len(scenario.vehicles),
        "steps": scenario.horizon_steps,
        "status": result.status,
        "solve_s": min(solve_times),
        "plan_s": plan_s,
        "peak_mb": peak_mb,
        "cost": optimised.cost.total,
        "objective": result.objective,
        "feasible": optimised.feasible,
        "uncontrolled": uncontrolled.cost.total,
        "uncontrolled_feasible": uncontrolled.feasible,
        "smart": smart.cost.total,
        "smart_feasible": smart.feasible,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 200, 500, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.seed, args.repeat)))
        return 0

    examples = sorted(p.stem for p in (ROOT / "data" / "scenarios").glob("*.json"))
    cases = examples + [f"fleet{n}" for n in args.sizes]
    header = (
        f"{'scenario':<24} {'veh':>5} {'steps':>5} {'status':>8} {'build+solve s':>13} {'plan s':>7} "
        f"{'peak MB':>8} {'optimised':>11} {'uncontrolled':>16} {'smart':>16}  evaluate"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for case in cases:
        child = subprocess.run(
            [sys.executable, __file__, "--one", case, "--seed", str(args.seed), "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(f"{case:<24} FAILED\n{child.stderr}")
            all_ok = False
            continue
        r = json.loads(child.stdout)
        goal = GOALS_S.get(r["vehicles"]) if case.startswith("fleet") else None
        goal_note = (
            "" if goal is None else (f"  (goal < {goal:g} s: {'met' if r['solve_s'] < goal else 'MISSED'})")
        )
        all_ok &= r["feasible"] and r["status"] == "optimal"
        print(
            f"{case:<24} {r['vehicles']:>5} {r['steps']:>5} {r['status']:>8} {r['solve_s']:>13.3f} "
            f"{r['plan_s']:>7.3f} {r['peak_mb']:>8.1f} {r['cost']:>11.2f} "
            f"{_baseline(r['uncontrolled'], r['uncontrolled_feasible']):>16} "
            f"{_baseline(r['smart'], r['smart_feasible']):>16}  "
            f"{'feasible' if r['feasible'] else 'INFEASIBLE'}{goal_note}"
        )
    return 0 if all_ok else 1


def _baseline(cost: float, feasible: bool) -> str:
    return f"{cost:.2f} {'ok' if feasible else 'broken'}"


if __name__ == "__main__":
    sys.exit(main())
