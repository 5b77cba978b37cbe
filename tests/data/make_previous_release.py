"""Make tests/data/previous_release.sqlite: a database as the release before schema migrations left it.

Run with the code of THAT release (its init_db is `create_all`), not this one:

    git clone /work/main /tmp/mig-base && git -C /tmp/mig-base checkout 5883493
    cd /tmp/mig-base && PYTHONPATH=. /work/main/.venv/bin/python /work/main/tests/data/make_previous_release.py OUT

It seeds the demo site at a pinned clock, then puts rows in every table through the release's own
services where they exist (dispatch, accounts, departures, audit) and as plain rows otherwise, keeps
one day of prices (the file stays small) and VACUUMs.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, inspect, text

from core import models, planning
from core.audit import write_audit
from core.clock import FixedClock, set_clock
from core.config import DEMO_DIR
from core.controls.departures import set_departure_override, set_departure_schedule
from core.db import init_db, make_engine, session_scope
from core.demo import seed_demo
from core.users import create_user, create_wall_token, ensure_admin, record_login_failure

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
SITE = "depot-ams"


def main(out: Path) -> None:
    for stale in out.parent.glob(out.name + "*"):
        stale.unlink()
    set_clock(FixedClock(T0))
    engine = make_engine(f"sqlite:///{out}")
    init_db(engine)
    seed_demo(demo_dir=DEMO_DIR, engine=engine)
    with session_scope(engine) as s:
        s.exec(delete(models.PricePoint).where(models.PricePoint.start < T0 - timedelta(hours=12)))
        s.exec(delete(models.PricePoint).where(models.PricePoint.start >= T0 + timedelta(hours=36)))
        ensure_admin(session=s, password="previous-release-admin")
        create_user(session=s, actor="admin", username="olga", password="operator-password-1", role="operator")
        record_login_failure(session=s, username="olga", address="10.0.0.7")
        create_wall_token(session=s, actor="admin", label="depot hall screen")
        for n, (vehicle, charger) in enumerate(
            [("BUS-01", "CP-BUS-01"), ("BUS-02", "CP-BUS-02"), ("VAN-01", "CP-VAN-01")]
        ):
            plug = models.PlugSession(
                charger_id=charger, vehicle_id=vehicle, transaction_id=f"tx-{n}", id_tag=f"tag-{n}",
                started_at=T0 - timedelta(hours=3), soc_start=0.4, ev_charging_needs={"requested": "AC"},
            )  # fmt: skip
            s.add(plug)
            s.flush()
            for k in range(12):
                s.add(models.MeterSample(
                    time=T0 - timedelta(minutes=5 * (12 - k)), charger_id=charger, session_id=plug.id,
                    power_kw=50.0 - n, soc=0.4 + 0.01 * k, energy_import_kwh=4.0 * k, energy_export_kwh=0.0,
                ))  # fmt: skip
        gone = models.PlugSession(
            charger_id="CP-CAR-01", vehicle_id="CAR-01", transaction_id="tx-gone", started_at=T0 - timedelta(hours=20),
            ended_at=T0 - timedelta(hours=9), energy_in_kwh=31.5, soc_start=0.35, soc_end=0.88,
        )  # fmt: skip
        s.add(gone)
        s.flush()
        s.add(models.DepartureOutcome(
            session_id=gone.id, vehicle_id="CAR-01", charger_id="CP-CAR-01", departed_at=T0 - timedelta(hours=9),
            planned_departure_at=T0 - timedelta(hours=9), target_soc=0.9, soc_at_departure=0.88, short_kwh=1.2,
            met=False, reason="arrived late",
        ))  # fmt: skip
        s.add(models.Ocpp16TransactionId(charger_id="CP-VAN-01", start_key="tag-2|2026-12-01T09:00:00Z"))
        for k in range(24):
            s.add(models.SiteSample(
                site_id=SITE, time=T0 - timedelta(minutes=5 * (24 - k)), building_load_kw=120.0 + k, pv_kw=30.0,
                ev_power_kw=147.0, ev_charge_kw=147.0, net_import_kw=237.0 + k,
            ))  # fmt: skip
        s.add(models.LimitExcursion(
            site_id=SITE, direction="import", limit_kw=400.0, started_at=T0 - timedelta(hours=2),
            ended_at=T0 - timedelta(hours=2) + timedelta(minutes=3), readings=4, worst_kw_over_limit=-1.5,
            seconds_over_limit=0.0, guard_commands=2,
        ))  # fmt: skip
        signal = models.GridSignal(
            site_id=SITE, kind="export_request", start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1),
            kw=60.0, reward_per_kwh=0.25, source="openadr", external_id="evt-42",
        )  # fmt: skip
        s.add(signal)
        s.flush()
        s.add(models.GridEventLedger(
            signal_id=signal.id, start=T0 - timedelta(hours=1), end=T0 - timedelta(minutes=45), committed_kw=60.0,
            delivered_kw=58.5, reward=3.66, vehicles={"BUS-01": 14.6},
        ))  # fmt: skip
        s.add(models.Tariff(site_id=SITE, name="NL business", demand_charge_per_kw_month=4.5))
        s.add(
            models.TariffRule(
                site_id=SITE, weekdays="01234", start_time="07:00", end_time="23:00", import_price_per_kwh=0.31
            )
        )
        s.add(
            models.V2GWindow(
                site_id=SITE, vehicle_id="BUS-01", date_from=date(2026, 12, 24), date_to=date(2026, 12, 26)
            )
        )
        s.add(models.Override(
            site_id=SITE, vehicle_id="BUS-02", charger_id="CP-BUS-02", kind="charge_now",
            until=T0 + timedelta(hours=2), created_by="olga",
        ))  # fmt: skip
        set_departure_schedule(
            session=s, actor="olga", vehicle_id="BUS-01", weekdays="01234", departure_time="06:30", target=0.85
        )
        set_departure_override(
            session=s, actor="olga", vehicle_id="VAN-01", departs_at=T0 + timedelta(hours=20), target=0.8
        )
        write_audit(session=s, actor="olga", action="override.create", target="BUS-02", after={"kind": "charge_now"})
    run_id = planning.run_dispatch(site_id=SITE, trigger="manual", engine=engine)
    with session_scope(engine) as s:
        write_audit(
            session=s, actor="system", action="dispatch.manual", target=SITE, after={"run": run_id}
        ).dispatch_run_id = run_id
    with engine.connect() as c:
        empty = [t for t in inspect(c).get_table_names() if not c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()]
    assert empty == [], f"tables without rows: {empty}"
    engine.dispose()
    vacuum = make_engine(f"sqlite:///{out}")
    with vacuum.connect() as c:
        c.exec_driver_sql("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        c.exec_driver_sql("VACUUM")
    vacuum.dispose()
    print(f"{out}: {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
