"""`python -m core.simulator`: the demo site's chargers and vehicles, speaking OCPP to a central system.

    python -m core.simulator [--url ws://127.0.0.1:9000/ocpp] [--only CP-BUS-01,CP-CAR-01]
                             [--all-plugged] [--meter-interval 10] [--speed 60] [--ca-file ca.pem]
                             [--ideal] [--ignore-profile CP-VAN-02] [--journal PATH]
                             [--drop-on-signal "CP-BUS-01;CP-VAN-05,CP-VAN-06"] [--drop-for-s 3600]
                             [--drain-s 5]

Every charger of data/demo/site.json connects as "<url>/<charger id>" with its demo password and its
OCPP version; its home vehicle arrives and leaves at its usual times (site time zone) or, with
--all-plugged, is plugged in from the start and stays. Runs until SIGTERM/SIGINT.

The stations behave like real ones (core/simulator/realism.py): a new profile takes effect after a
few seconds, power ramps, meters are a little noisy and batteries taper near full. `--ideal` turns
that off; `--ignore-profile` makes the named chargers accept every profile and charge at full power.

For the soak benchmark (tests/benchmarks/soak.py): `--journal` appends what the stations did as JSON
lines (core/simulator/journal.py); each SIGUSR1 cuts the connections of the next group of
`--drop-on-signal` (groups separated by ";", cycling), which stay away `--drop-for-s` console
seconds; `--drain-s` gives the queues that long (real seconds) to be sent when stopping.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import signal
import ssl
import sys
import time
from dataclasses import replace

from core.clock import clock_from_settings, get_clock, set_clock
from core.config import get_settings
from core.demo import read_demo
from core.simulator.chargepoint import SimCharger, SimulatedChargePoint
from core.simulator.journal import Journal
from core.simulator.realism import DEMO_REALISM, Realism
from core.simulator.vehicle import SimVehicle

log = logging.getLogger("core.simulator")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.simulator", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", help="central system base URL; each charger appends /<id> (default: V2G_GATEWAY_URL)"
    )
    parser.add_argument(
        "--only", help="comma-separated charger ids to simulate (default: all of the demo site)"
    )
    parser.add_argument("--all-plugged", action="store_true", help="every vehicle plugged in from the start")
    parser.add_argument(
        "--meter-interval", type=float, help="seconds between meter values (default: V2G_METER_INTERVAL_S)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        help="clock speed: 60 makes an hour pass in a minute (default: V2G_CLOCK_SPEED)",
    )
    parser.add_argument("--ca-file", help="CA certificate(s) to trust for a wss:// central system")
    parser.add_argument("--ideal", action="store_true", help="stations follow profiles at once, exactly, with no taper")
    parser.add_argument("--ignore-profile", default="", help="comma-separated charger ids that ignore their profiles")
    parser.add_argument("--journal", help="append acknowledged readings and connection changes here (JSON lines)")
    parser.add_argument(
        "--drop-on-signal", default="", help='charger groups ("A,B;C") whose connections each SIGUSR1 cuts, in turn'
    )
    parser.add_argument(
        "--drop-for-s", type=float, default=0.0, help="console seconds a cut station stays away (default 0)"
    )
    parser.add_argument(
        "--drain-s", type=float, default=0.0, help="on stop, real seconds to send what is queued (default 0)"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ... (default INFO)")
    return parser


def build_charge_points(
    *,
    url: str,
    only: set[str] | None = None,
    all_plugged: bool = False,
    meter_interval_s: float,
    ssl_context: ssl.SSLContext | None = None,
    demo_dir=None,
    realism: Realism = DEMO_REALISM,
    ignoring: set[str] | None = None,
) -> list[SimulatedChargePoint]:
    """One SimulatedChargePoint per demo charger (or those in `only`), each with its home vehicle."""
    demo = read_demo(demo_dir or get_settings().demo_dir)
    known = {c.id for c in demo.chargers}
    if only:
        unknown = sorted(only - known)
        if unknown:
            raise SystemExit(
                f"error: no demo charger {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
    vehicles = {v.home_charger_id: v for v in demo.vehicles}
    charge_points = []
    for charger in demo.chargers:
        if only and charger.id not in only:
            continue
        home = vehicles.get(charger.id)
        options = replace(realism, ignores_profile=True) if charger.id in (ignoring or set()) else realism
        charge_points.append(
            SimulatedChargePoint(
                charger=SimCharger.from_demo(charger),
                vehicle=None if home is None else SimVehicle.from_demo(home, demo.site["timezone"], taper=options.taper),
                realism=options,
                url=f"{url.rstrip('/')}/{charger.id}",
                meter_interval_s=meter_interval_s,
                presence="plugged" if all_plugged else "schedule",
                ssl_context=ssl_context,
            )
        )
    return charge_points


async def run(
    charge_points: list[SimulatedChargePoint],
    *,
    journal_path: str | None = None,
    drop_groups: list[list[str]] | None = None,
    drop_for_s: float = 0.0,
    drain_s: float = 0.0,
) -> None:
    """Start every charge point and run until SIGTERM/SIGINT, then stop them all.

    `drop_groups`: each SIGUSR1 cuts the connections of the next group (see the module docstring)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    journal = Journal(journal_path) if journal_path else None
    if journal is not None:
        journal.start()
        for charge_point in charge_points:
            charge_point.journal = journal
    if drop_groups:
        by_id = {cp.charger.id: cp for cp in charge_points}
        turns = itertools.cycle(drop_groups)

        def drop_next_group() -> None:
            group = next(turns)
            log.warning("SIGUSR1: cutting the connections of %s for %g s", ", ".join(group), drop_for_s)
            for charger_id in group:
                by_id[charger_id].drop_connection(away_s=drop_for_s)

        loop.add_signal_handler(signal.SIGUSR1, drop_next_group)
    for charge_point in charge_points:
        await charge_point.start()
    log.info("simulating %d charge points", len(charge_points))
    await stop.wait()
    log.info("stopping")
    await asyncio.gather(*(cp.stop(drain_s=drain_s) for cp in charge_points), return_exceptions=True)
    if journal is not None:
        for cp in charge_points:
            if cp.pending:  # taken, never acknowledged: the journal says how many were left
                journal.write({"e": "pending", "cp": cp.charger.id, "n": cp.pending})
        await journal.close()


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status (0 on a clean stop)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    settings = get_settings()
    if args.speed is not None:
        if args.speed <= 0:
            print(f"error: --speed must be positive, got {args.speed}", file=sys.stderr)
            return 2
        set_clock(
            clock_from_settings(args.speed, settings.clock_start, settings.clock_anchor_epoch or time.time())
        )
    meter_interval_s = args.meter_interval if args.meter_interval is not None else settings.meter_interval_s
    if meter_interval_s <= 0:
        print(f"error: --meter-interval must be positive, got {meter_interval_s}", file=sys.stderr)
        return 2
    ssl_context = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    only = {part.strip() for part in args.only.split(",") if part.strip()} if args.only else None
    charge_points = build_charge_points(
        url=args.url or settings.gateway_url,
        only=only,
        all_plugged=args.all_plugged,
        meter_interval_s=meter_interval_s,
        ssl_context=ssl_context,
        realism=Realism() if args.ideal else DEMO_REALISM,
        ignoring={part.strip() for part in args.ignore_profile.split(",") if part.strip()},
    )
    drop_groups = [
        [part.strip() for part in group.split(",") if part.strip()] for group in args.drop_on_signal.split(";")
    ]
    drop_groups = [group for group in drop_groups if group]
    unknown = sorted({c for group in drop_groups for c in group} - {cp.charger.id for cp in charge_points})
    if unknown:
        print(f"error: --drop-on-signal names chargers not simulated: {', '.join(unknown)}", file=sys.stderr)
        return 2
    log.info("clock: %s, now %s", type(get_clock()).__name__, get_clock().now().isoformat())
    asyncio.run(
        run(charge_points, journal_path=args.journal, drop_groups=drop_groups, drop_for_s=args.drop_for_s,
            drain_s=args.drain_s)
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
