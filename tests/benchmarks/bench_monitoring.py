"""Benchmark of the live pages: server-side callback time and payload size on a large database.

Builds (once, cached under /tmp) a SQLite database with N vehicles on N chargers and D days of
10-second meter samples plus site samples, then times each page's first render (its layout
function) and each live update (its refresh callback, called as a plain function) and measures the
JSON payload Dash would send. Goal (issue 5): every live update under 150 ms server time and under
200 kB.

    python tests/benchmarks/bench_monitoring.py [--vehicles 200] [--days 30]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SAMPLE_S = 10


def insert_sql(table: str, columns: list[str]) -> tuple[str, tuple]:
    """An INSERT for `columns` that also fills every other NOT NULL column with the model's default
    (a column added to the data model later does not break this raw-SQL builder); returns the SQL
    and the default values to append to each row's parameters."""
    from sqlmodel import SQLModel

    import core.models  # noqa: F401  (registers the tables)

    extra, values = [], []
    for column in SQLModel.metadata.tables[table].columns:
        if column.name in columns or column.nullable or column.server_default is not None:
            continue
        if column.primary_key and column.autoincrement in (True, "auto") and column.type.python_type is int:
            continue
        default = column.default
        if default is None or not default.is_scalar:
            raise SystemExit(
                f"bench_monitoring: {table}.{column.name} is NOT NULL without a scalar default: add it here"
            )
        extra.append(column.name)
        values.append(default.arg)
    names = ", ".join(f'"{c}"' for c in [*columns, *extra])
    marks = ", ".join("?" for _ in [*columns, *extra])
    return f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values)


def build_database(path: Path, vehicles: int, days: int, end: datetime) -> None:
    """Write the site, chargers, vehicles, sessions and D days of samples with raw sqlite3 (fast)."""
    from core.db import init_db, make_engine

    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")

    def insert(table: str, row: dict) -> None:
        sql, defaults = insert_sql(table, list(row))
        con.execute(sql, (*row.values(), *defaults))

    insert("site", dict(
        id="bench", name="Benchmark depot", timezone="Europe/Amsterdam", currency="EUR", import_limit_kw=2000,
        export_limit_kw=1000, default_soc_floor=0.3, hard_soc_floor=0.2, degradation_cost_per_kwh=0.04,
        dispatch_interval_s=60, demand_response_opt_in=1,
    ))  # fmt: skip
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    start = end - timedelta(days=days)
    for i in range(vehicles):
        cid, vid = f"CP-{i:04d}", f"V-{i:04d}"
        insert("charger", dict(
            id=cid, site_id="bench", protocol="2.1", max_charge_kw=22, max_discharge_kw=22, efficiency=0.95,
            accepts_negative_limits=0, password_hash="", connected=1, status="Charging", last_seen=end.strftime(fmt),
            vendor="", model="", v2g_off=0,
        ))  # fmt: skip
        insert("vehicle", dict(
            id=vid, site_id="bench", name=f"Van {i}", kind="van", battery_kwh=75, max_charge_kw=22, max_discharge_kw=22,
            soc_floor=None, target_soc=0.9, usual_arrival="18:00", usual_departure="07:00", v2g_allowed=1,
            id_tag=f"TAG-{i}", home_charger_id=cid,
        ))  # fmt: skip
        insert("plugsession", dict(
            charger_id=cid, vehicle_id=vid, transaction_id=str(i), id_tag="", started_at=start.strftime(fmt),
            energy_in_kwh=0, energy_out_kwh=0, ev_charging_needs="{}",
        ))  # fmt: skip
    steps = days * 86400 // SAMPLE_S
    times = [(start + timedelta(seconds=SAMPLE_S * k)).strftime(fmt) for k in range(steps)]
    sample_sql, sample_defaults = insert_sql("metersample", ["time", "charger_id", "power_kw", "soc"])
    for i in range(vehicles):
        cid = f"CP-{i:04d}"
        rows = (
            (
                times[k],
                cid,
                11.0 if (k // 360 + i) % 3 else -5.0,
                0.3 + 0.6 * ((k + i * 97) % 8640) / 8640,
                *sample_defaults,
            )
            for k in range(steps)
        )
        con.executemany(sample_sql, rows)
        if i % 20 == 0:
            con.commit()
            print(f"  samples for {i + 1}/{vehicles} chargers", flush=True)
    columns = [
        "time",
        "site_id",
        "building_load_kw",
        "pv_kw",
        "ev_power_kw",
        "ev_discharge_kw",
        "ev_charge_kw",
        "net_import_kw",
    ]
    site_sql, site_defaults = insert_sql("sitesample", columns)
    site_rows = ((times[k], "bench", 120.0, 30.0, 900.0, 50.0, 850.0, 940.0, *site_defaults) for k in range(steps))
    con.executemany(site_sql, site_rows)
    for k in range(-96 * 2, 96 * 2):
        t = end.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=15 * k)
        insert("pricepoint", {
            "site_id": "bench", "start": t.strftime(fmt), "end": (t + timedelta(minutes=15)).strftime(fmt),
            "import_price_per_kwh": 0.2 + 0.1 * (k % 7) / 7, "export_price_per_kwh": 0.1, "source": "bench",
        })  # fmt: skip
    con.commit()
    con.close()


def payload_bytes(value) -> int:
    import plotly.utils

    return len(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder))


def measure(fn, repeats: int) -> tuple[list[float], int]:
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return times, payload_bytes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    end = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    # The cached database is rebuilt whenever the data model changes.
    model_files = sorted((ROOT / "core" / "models").glob("*.py"))
    schema = hashlib.sha1(b"".join(f.read_bytes() for f in model_files)).hexdigest()[:8]
    path = Path(f"/tmp/v2g-bench-monitoring-{args.vehicles}v-{args.days}d-{schema}.db")
    if not path.exists():
        print(f"building {path} ({args.vehicles} chargers x {args.days} days of {SAMPLE_S}-s samples)...", flush=True)
        t = time.perf_counter()
        # Built under a temporary name and renamed when complete: a run that fails half-way leaves no
        # half-built database for the next run to trip over.
        partial = path.with_suffix(".partial.db")
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        build_database(partial, args.vehicles, args.days, end)
        partial.rename(path)
        print(f"built in {time.perf_counter() - t:.0f} s, {path.stat().st_size / 1e9:.2f} GB", flush=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["V2G_DEMO"] = "0"
    from core.clock import FixedClock, set_clock

    set_clock(FixedClock(end + timedelta(seconds=5)))
    import app  # noqa: F401  (registers the pages)
    from core import models, planning
    from core.db import session_scope
    from pages import chargers, overview, plan, vehicle, vehicles, wall

    with session_scope() as session:
        has_plan = session.exec(models.DispatchRun.__table__.select().limit(1)).first() is not None
    if not has_plan:  # a real plan for the plan page: 200 vehicles x 96 steps
        planning.run_dispatch(site_id="bench", trigger="bench")

    gc.freeze()  # as app.main() does before serving

    one = f"V-{min(7, args.vehicles - 1):04d}"
    from core import telemetry

    plan_run_id = telemetry.latest_plan("bench").run_id
    cases = [
        ("overview: first render", lambda: overview.layout(), None),
        ("overview: live update", lambda: overview.refresh(1), True),
        # The tables' rows arrive with their first callback, right after the layout.
        ("vehicles: first render", lambda: (vehicles.layout(), vehicles.refresh(0, "all", "risk", 1)), None),
        ("vehicles: live update", lambda: vehicles.refresh(1, "all", "risk", 1), True),
        ("vehicle page: first render", lambda: vehicle.layout(vehicle_id=one), None),
        ("vehicle page: live update", lambda: vehicle.refresh(1, one), True),
        ("chargers: first render", lambda: (chargers.layout(), chargers.refresh(0, 1)), None),
        ("chargers: live update", lambda: chargers.refresh(1, 1), True),
        ("plan: first render", lambda: plan.layout(), None),
        # A new run: its setpoints are read from the database (the per-process cache cleared).
        ("plan: live update, new run", lambda: (telemetry.clear_caches(), plan.refresh(1, None)), True),
        ("plan: live update, same run", lambda: plan.refresh(1, plan_run_id), True),
        ("wall: first render", lambda: wall.layout(), None),
        ("wall: live update", lambda: wall.refresh(1), True),
    ]
    print(f"\n{args.vehicles} vehicles, {args.days} days of {SAMPLE_S}-s samples, {args.repeats} runs each, 1 process")
    print(f"{'what':32} {'p50 ms':>8} {'p95 ms':>8} {'payload kB':>11}  goal (live updates: <150 ms, <200 kB)")
    failures = 0
    for name, fn, live in cases:
        times, size = measure(fn, args.repeats)
        p50 = statistics.median(times)
        p95 = sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]
        ok = "" if not live else ("ok" if p95 < 150 and size < 200_000 else "MISSED")
        failures += ok == "MISSED"
        print(f"{name:32} {p50:8.1f} {p95:8.1f} {size / 1000:11.1f}  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
