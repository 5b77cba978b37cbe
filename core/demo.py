"""The demo site in the database: seeded from the files in `data/demo/` (read by core.demo_files)
through the same services an admin uses (core.admin: sites, chargers, vehicles), so the demo is one
site among others. `V2G_DEMO=1` (the default) seeds it when it is missing; with `V2G_DEMO=0` a fresh
install starts empty and the overview says what to set up first.

The demo seed writes no audit rows: it installs a fixture, which is no one's change, and a reset must
leave only the operators' trail. Its V2G windows and a fortnight of demo prices are written directly
(they are no admin noun).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select, update

from core import models
from core.admin.chargers import add_charger
from core.admin.common import DEMO_ACTOR
from core.admin.sites import add_site
from core.admin.vehicles import add_vehicle
from core.clock import now
from core.db import session_scope
from core.demo_files import (  # noqa: F401  (re-exported: callers read the demo files through core.demo too)
    PROFILE_COLUMNS,
    PROTOCOLS,
    STEP_MINUTES,
    STEPS_PER_WEEK,
    DemoCharger,
    DemoDataError,
    DemoProfile,
    DemoSite,
    DemoVehicle,
    demo_profile,
    read_demo,
    read_profile_file,
    read_site_file,
)
from core.errors import ValidationError


def _price_points(demo: DemoSite, around: datetime) -> list[models.PricePoint]:
    """Prices for the week before and the week after `around`, mapped from the demo week by local weekday."""
    start = around.replace(minute=(around.minute // STEP_MINUTES) * STEP_MINUTES, second=0, microsecond=0)
    start -= timedelta(days=7)
    points = []
    for k in range(2 * STEPS_PER_WEEK):
        t = start + timedelta(minutes=STEP_MINUTES * k)
        _, _, import_price, export_price = demo.profile.at(t)
        points.append(
            models.PricePoint(
                site_id=demo.site["id"],
                start=t,
                end=t + timedelta(minutes=STEP_MINUTES),
                import_price_per_kwh=import_price,
                export_price_per_kwh=export_price,
                source="demo",
            )
        )
    return points


def _site_is_seeded(session: Session, site_id: str) -> bool:
    return session.get(models.Site, site_id) is not None


def _delete_site(session: Session, site_id: str) -> None:
    """Remove the site and everything that belongs to it; the audit trail stays (unlinked from runs)."""
    charger_ids = select(models.Charger.id).where(models.Charger.site_id == site_id)
    vehicle_ids = select(models.Vehicle.id).where(models.Vehicle.site_id == site_id)
    run_ids = select(models.DispatchRun.id).where(models.DispatchRun.site_id == site_id)
    signal_ids = select(models.GridSignal.id).where(models.GridSignal.site_id == site_id)
    session.exec(
        update(models.AuditEvent).where(models.AuditEvent.dispatch_run_id.in_(run_ids)).values(dispatch_run_id=None)
    )
    session.exec(delete(models.Setpoint).where(models.Setpoint.run_id.in_(run_ids)))
    session.exec(delete(models.ChargingProfileCommand).where(models.ChargingProfileCommand.charger_id.in_(charger_ids)))
    session.exec(delete(models.DispatchRun).where(models.DispatchRun.site_id == site_id))
    session.exec(delete(models.MeterSample).where(models.MeterSample.charger_id.in_(charger_ids)))
    session.exec(delete(models.PlugSession).where(models.PlugSession.charger_id.in_(charger_ids)))
    session.exec(delete(models.GridEventLedger).where(models.GridEventLedger.signal_id.in_(signal_ids)))
    for table in (models.DepartureSchedule, models.DepartureOverride):
        session.exec(delete(table).where(table.vehicle_id.in_(vehicle_ids)))
    session.exec(delete(models.V2GWindow).where(models.V2GWindow.vehicle_id.in_(vehicle_ids)))
    for table in (
        models.Override,
        models.V2GWindow,
        models.PricePoint,
        models.GridSignal,
        models.SiteSample,
        models.TariffRule,
        models.Tariff,
        models.PriceFeed,
    ):
        session.exec(delete(table).where(table.site_id == site_id))
    session.exec(delete(models.Vehicle).where(models.Vehicle.site_id == site_id))
    session.exec(delete(models.Charger).where(models.Charger.site_id == site_id))
    session.exec(delete(models.Site).where(models.Site.id == site_id))


def _add_site_contents(session: Session, demo: DemoSite) -> None:
    """The demo site, its chargers and vehicles through the admin services, its windows and prices."""
    fields = dict(demo.site)
    site_id = fields.pop("id")
    main = {k: fields.pop(k) for k in ("name", "import_limit_kw", "export_limit_kw") if k in fields}
    extra = {k: v for k, v in fields.items() if k in models.Site.model_fields}
    add_site(session=session, actor=DEMO_ACTOR, site_id=site_id, audited=False, **main, **extra)
    for window in demo.v2g_windows:
        session.add(models.V2GWindow(site_id=site_id, **window))
    for c in demo.chargers:
        add_charger(
            session=session,
            actor=DEMO_ACTOR,
            charger_id=c.id,
            site_id=site_id,
            protocol=c.protocol,
            max_charge_kw=c.max_charge_kw,
            max_discharge_kw=c.max_discharge_kw,
            efficiency=c.efficiency,
            accepts_negative_limits=c.accepts_negative_limits,
            password=c.password,
            vendor=c.vendor,
            model=c.model,
            audited=False,
        )
    for v in demo.vehicles:
        add_vehicle(
            session=session,
            actor=DEMO_ACTOR,
            vehicle_id=v.id,
            audited=False,
            site_id=site_id,
            name=v.name,
            kind=v.kind,
            battery_kwh=v.battery_kwh,
            max_charge_kw=v.max_charge_kw,
            max_discharge_kw=v.max_discharge_kw,
            soc_floor=v.soc_floor,
            target_soc=v.target_soc,
            usual_arrival=v.usual_arrival,
            usual_departure=v.usual_departure,
            v2g_allowed=v.v2g_allowed,
            id_tag=v.id_tag,
            home_charger_id=v.home_charger_id,
        )
    session.add_all(_price_points(demo, now()))


def seed_demo(*, demo_dir: Path, engine: Engine | None = None, reset: bool = False) -> bool:
    """Load the demo site into the database if it is not there (or anew with `reset`).

    Returns True when it wrote the site. Every file is validated before the first write, and the
    writes happen in one transaction, so a fault leaves the database as it was (a file the admin
    services refuse raises DemoDataError naming the field).
    """
    demo = read_demo(demo_dir)
    site_id = demo.site["id"]
    with session_scope(engine) as session:
        if _site_is_seeded(session, site_id):
            if not reset:
                return False
            _delete_site(session, site_id)
            session.flush()
        try:
            _add_site_contents(session, demo)
        except ValidationError as exc:
            raise DemoDataError(f"{demo_dir / 'site.json'}: {exc}") from exc
    return True
