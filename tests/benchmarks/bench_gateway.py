"""Benchmark of the OCPP gateway: N simulated chargers on one gateway process.

The gateway runs as `python -m core.gateway` in its own process over a fresh SQLite file; this
process is the load generator: N `SimulatedChargePoint`s (a third each OCPP 1.6, 2.0.1 and 2.1),
vehicles plugged in, a meter reading every 10 s each (1.6: MeterValues, 2.x: TransactionEvent
Updated, the message a 2.x station uses for meter values in a transaction). They connect over a
ramp, then the measurement window runs for `--seconds`. Reported:

* chargers connected (as the load generator sees them and as the gateway's database says);
* CALLs handled per second and the gateway's handling time per CALL, p50/p99 (measured in the
  gateway from frame received to answer sent, written on exit with --stats-file), plus the round
  trip the chargers see (includes both processes' event loops and the network stack);
* gateway CPU (mean over the window, % of one core) and peak memory (RSS), via psutil;
* meter rows written per second, and "nothing dropped": every reading the chargers took is a row.

Goal (issue 3): 500 chargers held, p99 under 100 ms, nothing dropped.

    python tests/benchmarks/bench_gateway.py [--chargers 500] [--seconds 60] [--ramp-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-0123456789"
PROTOCOLS = ("1.6", "2.0.1", "2.1")


def build_database(path: Path, chargers: int) -> None:
    """A site with N chargers (mixed protocols) and N vehicles, all sharing one password."""
    from core import models
    from core.db import init_db, make_engine, session_scope
    from core.security import hash_password

    engine = init_db(make_engine(f"sqlite:///{path}"))
    # One scrypt hash for all: hashing 500 passwords would only slow the set-up. The gateway still
    # verifies each charger's password once (its cache is per charger).
    password_hash = hash_password(PASSWORD)
    with session_scope(engine) as session:
        session.add(
            models.Site(id="bench", name="Benchmark depot", import_limit_kw=5000, export_limit_kw=2000)
        )
        session.flush()
        for i in range(chargers):
            charger_id = f"BENCH-{i:04d}"
            session.add(
                models.Charger(
                    id=charger_id,
                    site_id="bench",
                    protocol=PROTOCOLS[i % 3],
                    max_charge_kw=22.0,
                    max_discharge_kw=22.0,
                    password_hash=password_hash,
                )
            )
            session.flush()
            session.add(
                models.Vehicle(
                    id=f"BV-{i:04d}",
                    site_id="bench",
                    name=f"Bench van {i}",
                    battery_kwh=350.0,
                    max_charge_kw=22.0,
                    max_discharge_kw=22.0,
                    id_tag=f"BENCH-TAG-{i:04d}",
                    home_charger_id=charger_id,
                )
            )
    engine.dispose()


def start_gateway(database: Path, stats_file: Path) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "V2G_DEMO": "0",
        "V2G_METER_INTERVAL_S": "10",
        "V2G_CLOCK_SPEED": "1",
        "V2G_CLOCK_START": "",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.gateway",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dispatch",
            "--stats-file",
            str(stats_file),
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        raise SystemExit(f"gateway did not start: {line!r}")
    return process, line.split(" on ", 1)[1].split("/<", 1)[0]


async def run_load(args, url: str, gateway: psutil.Process) -> dict:
    from core.simulator.chargepoint import SimCharger, SimulatedChargePoint
    from core.simulator.vehicle import SimVehicle

    charge_points = []
    for i in range(args.chargers):
        charger_id = f"BENCH-{i:04d}"
        vehicle = SimVehicle(
            id=f"BV-{i:04d}",
            id_tag=f"BENCH-TAG-{i:04d}",
            kind="van",
            battery_kwh=350.0,
            max_charge_kw=22.0,
            max_discharge_kw=22.0,
            target_soc=0.9,
            arrival_soc=0.4,
            usual_arrival="00:00",
            usual_departure="23:59",
            timezone="UTC",
        )
        charge_points.append(
            SimulatedChargePoint(
                charger=SimCharger(
                    id=charger_id,
                    protocol=PROTOCOLS[i % 3],
                    password=PASSWORD,
                    max_charge_kw=22.0,
                    max_discharge_kw=22.0,
                ),
                vehicle=vehicle,
                url=f"{url}/{charger_id}",
                meter_interval_s=args.meter_interval,
                presence="plugged",
                response_timeout_s=30.0,
                backoff_min_s=2.0,
                backoff_max_s=30.0,
            )
        )

    cpu_samples: list[tuple[float, float]] = []  # (time, gateway CPU % of one core)
    peak_rss = 0

    async def watch_gateway():
        nonlocal peak_rss
        gateway.cpu_percent(None)
        while True:
            await asyncio.sleep(1.0)
            with_children = gateway.memory_info().rss
            peak_rss = max(peak_rss, with_children)
            cpu_samples.append((time.time(), gateway.cpu_percent(None)))

    from core.gateway.stats import LatencyStats

    own_loop = LatencyStats()  # this process's loop lag: how much of the round trip is ours
    watcher = asyncio.create_task(watch_gateway())
    lag_watcher = asyncio.create_task(own_loop.watch_loop())
    started = time.time()
    for charge_point in charge_points:  # a ramp, as a site's chargers come up one by one
        await charge_point.start()
        await asyncio.sleep(args.ramp_seconds / max(1, len(charge_points)))
    deadline = time.monotonic() + 120
    while sum(cp.ready.is_set() for cp in charge_points) < len(charge_points) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    all_connected_s = time.time() - started
    await asyncio.sleep(args.meter_interval)  # let the last ones settle into their rhythm

    window_start = time.time()
    trips_before = [len(cp.round_trips_s) for cp in charge_points]
    await asyncio.sleep(args.seconds)
    window_end = time.time()
    connected_at_end = sum(cp.ready.is_set() for cp in charge_points)
    trips = sorted(t for cp, n in zip(charge_points, trips_before, strict=True) for t in cp.round_trips_s[n:])

    load_lag = own_loop.summary(since=window_start)["event_loop_lag"]
    await asyncio.gather(*(cp.stop(drain_s=15.0) for cp in charge_points))
    watcher.cancel()
    lag_watcher.cancel()
    window_cpu = [c for t, c in cpu_samples if window_start <= t <= window_end]
    return {
        "chargers": len(charge_points),
        "connected_at_end": connected_at_end,
        "all_connected_after_s": round(all_connected_s, 1),
        "reconnects": sum(cp.connects - 1 for cp in charge_points),
        "window": (window_start, window_end),
        "readings_taken": sum(len(cp.readings) for cp in charge_points),
        "not_sent": sum(cp.pending for cp in charge_points),
        "round_trip_ms": {
            "count": len(trips),
            "p50": _ms(_percentile(trips, 0.5)),
            "p99": _ms(_percentile(trips, 0.99)),
            "max": _ms(trips[-1] if trips else None),
        },
        "load_generator_loop_lag_ms": load_lag,
        "gateway_cpu_percent_mean": round(sum(window_cpu) / len(window_cpu), 1) if window_cpu else None,
        "gateway_cpu_percent_max": max(window_cpu) if window_cpu else None,
        "gateway_peak_rss_mb": round(peak_rss / 2**20, 1),
    }


def count_rows(database: Path, window: tuple[float, float]) -> dict:
    from datetime import UTC, datetime

    from sqlmodel import func, select

    from core import models
    from core.db import make_engine, session_scope

    engine = make_engine(f"sqlite:///{database}")
    start, end = (datetime.fromtimestamp(t, UTC) for t in window)
    with session_scope(engine) as session:
        samples = session.exec(select(func.count()).select_from(models.MeterSample)).one()
        distinct = session.exec(
            select(func.count()).select_from(
                select(models.MeterSample.charger_id, models.MeterSample.time).distinct().subquery()
            )
        ).one()
        in_window = session.exec(
            select(func.count())
            .select_from(models.MeterSample)
            .where(models.MeterSample.time >= start, models.MeterSample.time < end)
        ).one()
        sessions = session.exec(select(func.count()).select_from(models.PlugSession)).one()
        answered = session.exec(
            select(func.count())
            .select_from(models.ChargingProfileCommand)
            .where(models.ChargingProfileCommand.status == "Accepted")
        ).one()
    engine.dispose()
    return {
        "meter_rows": samples,
        "distinct_charger_times": distinct,
        "meter_rows_in_window": in_window,
        "sessions": sessions,
        "profiles_accepted": answered,
    }


def _lag_figures(lags: list, start: float, end: float) -> dict:
    values = sorted(lag for at, lag in lags if start <= at <= end)
    return {
        "p50": _ms(_percentile(values, 0.5)),
        "p99": _ms(_percentile(values, 0.99)),
        "max": _ms(values[-1] if values else None),
    }


def _percentile(values: list[float], q: float) -> float | None:
    from core.gateway.stats import percentile

    return percentile(values, q)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measurement window")
    parser.add_argument(
        "--ramp-seconds", type=float, default=20.0, help="spread of the chargers' first connects"
    )
    parser.add_argument("--meter-interval", type=float, default=10.0)
    args = parser.parse_args()

    import logging

    import ocpp.messages

    logging.basicConfig(level=logging.WARNING)
    # The load generator validates inline too (as the gateway does): no thread hop per message.
    ocpp.messages.ASYNC_VALIDATION = False
    folder = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    database, stats_file = folder / "bench.db", folder / "gateway-stats.json"
    build_database(database, args.chargers)
    gateway, url = start_gateway(database, stats_file)
    try:
        load = asyncio.run(run_load(args, url, psutil.Process(gateway.pid)))
        time.sleep(1.0)  # the writer's last batch
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(60)
    finally:
        if gateway.poll() is None:
            gateway.kill()
    stats = json.loads(stats_file.read_text())
    window_start, window_end = load.pop("window")
    seconds = window_end - window_start
    in_window = [s for s in stats["samples"] if window_start <= s[0] <= window_end]
    handling = sorted(s[2] for s in in_window)
    rows = count_rows(database, (window_start, window_end))
    result = {
        "chargers": load["chargers"],
        "connected_at_end_of_window": load["connected_at_end"],
        "all_connected_after_s (ramp + handshakes)": load["all_connected_after_s"],
        "reconnects": load["reconnects"],
        "window_s": round(seconds, 1),
        "calls_handled_per_s": round(len(in_window) / seconds, 1),
        "gateway_handling_ms (frame received -> answer sent)": {
            "count": len(handling),
            "p50": _ms(_percentile(handling, 0.5)),
            "p99": _ms(_percentile(handling, 0.99)),
            "max": _ms(handling[-1] if handling else None),
        },
        "gateway_handling_ms_whole_run": stats["summary"]["all"],
        "gateway_event_loop_lag_ms (window)": _lag_figures(stats["loop_lags"], window_start, window_end),
        "client_round_trip_ms (window)": load["round_trip_ms"],
        "load_generator_event_loop_lag_ms (window)": load["load_generator_loop_lag_ms"],
        "gateway_cpu_percent_of_one_core (window mean / max)": (
            load["gateway_cpu_percent_mean"],
            load["gateway_cpu_percent_max"],
        ),
        "gateway_peak_rss_mb": load["gateway_peak_rss_mb"],
        "meter_rows_written_per_s (window)": round(rows["meter_rows_in_window"] / seconds, 1),
        "rows_inserted (writer, whole run)": stats["writer"]["rows_inserted"],
        "writer": stats["writer"],
        "readings_taken_by_chargers": load["readings_taken"],
        "readings_not_sent_at_stop": load["not_sent"],
        "meter_rows_stored": rows["meter_rows"],
        "duplicate_rows": rows["meter_rows"] - rows["distinct_charger_times"],
        "nothing_dropped": rows["meter_rows"] == load["readings_taken"] and load["not_sent"] == 0,
        "sessions": rows["sessions"],
        "safe_default_profiles_accepted": rows["profiles_accepted"],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["nothing_dropped"] else 1


if __name__ == "__main__":
    sys.exit(main())
