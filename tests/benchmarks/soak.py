"""Soak benchmark (issue "The live loop keeps every promise"): the whole stack for a simulated week.

The gateway (`python -m core.gateway`, with its dispatch job) and the simulator (`python -m
core.simulator`, one charger ignoring its profile, a journal of what it did) run as real child
processes on a free loopback port over a fresh SQLite file seeded with the demo site, sharing one
sped-up clock (V2G_CLOCK_SPEED / V2G_CLOCK_START / V2G_CLOCK_ANCHOR_EPOCH). Faults on a fixed seed:
gateway kill -9s (some right after a plug-in session is stored) each followed by a restart a few real
seconds later, charger disconnects (SIGUSR1 to the simulator: a group of chargers loses its
connection and stays away an hour), a price spike and an export (flexibility) request. Afterwards
the figures come from the database and the journal (soak_figures.py) and are printed with their
goals, PASS or FAIL. Exit 0 whatever the figures (a benchmark); `--assert` exits 1 when a goal is missed.

    python tests/benchmarks/soak.py [--days 7] [--speed 600] [--seed 7] [--assert] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks.soak_figures import Figures, measure  # noqa: E402
from tests.benchmarks.soak_support import TIMEZONE, RunLog, SoakConfig, Stack, run_soak  # noqa: E402


def run_and_measure(config: SoakConfig, *, say=print) -> tuple[Stack, RunLog, Figures]:
    """One soak run and its figures."""
    stack, log = run_soak(config, say=say)
    figures = measure(
        database_url=stack.database_url, journal_path=stack.journal, start=config.start, end=log.stopped_at,
        headroom=config.headroom, speed=config.speed, min_real_dispatch_interval_s=config.min_real_dispatch_interval_s,
        meter_interval_s=config.meter_interval_s, outages=log.outages,
    )  # fmt: skip
    return stack, log, figures


def format_summary(config: SoakConfig, log: RunLog, figures: Figures, command: str) -> str:
    """The printed summary: how it ran, the faults, each goal with PASS/FAIL, the other figures."""
    span = f"{config.start.astimezone(TIMEZONE):%Y-%m-%d %H:%M} -> {log.stopped_at.astimezone(TIMEZONE):%Y-%m-%d %H:%M}"
    cpu = ", ".join(f"{name} {seconds / log.real_s * 100:.0f} %" for name, seconds in log.cpu_s.items())
    down_min = sum(((o.up_at or log.stopped_at) - o.down_at).total_seconds() for o in log.outages) / 60
    lines = [
        f"== soak: {config.days:g} simulated days on the demo site, faults on seed {config.seed}",
        f"command : {command}",
        f"machine : {os.cpu_count()} cores (nproc), {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; load average {' -> '.join(f'{x:.1f}' for x in log.load)} (start -> end)",
        f"clock   : {config.speed:g}x; meter values every {config.meter_interval_s:g} s console; dispatch at most "
        f"every {config.min_real_dispatch_interval_s:g} s real (V2G_MIN_REAL_DISPATCH_INTERVAL_S)",
        f"run     : {span} {TIMEZONE.key} in {log.real_s / 60:.1f} real min; CPU (of one core) {cpu}",
        f"faults  : {log.kills} gateway kill -9 ({log.kills_after_start} right after a plug-in session was stored; "
        f"down {down_min:.0f} min console in all), {log.disconnects} charger disconnects of "
        f"{config.drop_for_s / 60:.0f} min, {config.ignore_profile} ignores its profile"
        + (", a price spike" if config.price_spike else "") + (", an export request" if config.flex_request else ""),
    ]  # fmt: skip
    lines += [f"  {event}" for event in log.events]
    lines += [f"  UNEXPECTED {death}" for death in log.unexpected_deaths]
    lines.append("goals:")
    for g in figures.goals:
        lines.append(f"  {'PASS' if g.passed else 'FAIL'}  {g.name} (goal {g.goal}): {g.figure}")
    lines.append("figures:")
    lines += [f"  {name}: {value}" for name, value in figures.info]
    if figures.short_departures:
        lines.append(f"short departures ({len(figures.short_departures)}, first 10):")
        lines += [f"  {line}" for line in figures.short_departures[:10]]
    failed = figures.failed
    lines.append(
        f"result: {len(figures.goals) - len(failed)} of {len(figures.goals)} goals met"
        + (f" (FAIL: {', '.join(g.key for g in failed)})" if failed else "")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    defaults = SoakConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=defaults.days, help="simulated days (default 7)")
    parser.add_argument("--speed", type=float, default=defaults.speed, help="clock speed (default 600)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the faults (default 7)")
    parser.add_argument("--meter-interval", type=float, default=defaults.meter_interval_s, help="console seconds between readings (120)")
    parser.add_argument("--min-real-dispatch-s", type=float, default=defaults.min_real_dispatch_interval_s,
                        help="V2G_MIN_REAL_DISPATCH_INTERVAL_S of the gateway (default 2)")  # fmt: skip
    parser.add_argument("--ignore-profile", default=defaults.ignore_profile, help="the charger that ignores its profile")
    parser.add_argument("--kills", type=int, default=defaults.kills, help="gateway kill -9 at random times (3)")
    parser.add_argument("--kills-after-start", type=int, default=defaults.kills_after_start,
                        help="gateway kill -9 right after a plug-in session is stored (2)")  # fmt: skip
    parser.add_argument("--disconnects", type=int, default=defaults.disconnects, help="charger disconnects (3)")
    parser.add_argument("--no-price-spike", action="store_true")
    parser.add_argument("--no-flex-request", action="store_true")
    parser.add_argument("--headroom", type=float, default=defaults.headroom, help="fraction above a limit (0.02)")
    parser.add_argument("--workdir", type=Path, help="keep the database, journal and logs here")
    parser.add_argument("--assert", dest="check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="v2g-soak-"))
    config = SoakConfig(
        days=args.days, speed=args.speed, seed=args.seed, meter_interval_s=args.meter_interval,
        min_real_dispatch_interval_s=args.min_real_dispatch_s, ignore_profile=args.ignore_profile, kills=args.kills,
        kills_after_start=args.kills_after_start, disconnects=args.disconnects, price_spike=not args.no_price_spike,
        flex_request=not args.no_flex_request, headroom=args.headroom, workdir=workdir,
    )  # fmt: skip
    command = "python tests/benchmarks/soak.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"soak: {config.days:g} days at {config.speed:g}x, about {config.days * 86400 / config.speed / 60:.0f} real "
          f"minutes; files in {workdir}", flush=True)  # fmt: skip
    try:
        _, log, figures = run_and_measure(config, say=lambda line: print(line, flush=True))
        print(format_summary(config, log, figures, command.strip()))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if args.check and figures.failed else 0


if __name__ == "__main__":
    sys.exit(main())
