"""The site as the pages show it: its name, limits and local time, and the live snapshot behind
the overview's KPI cards and the wall display."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import models
from core.clock import now
from core.config import get_settings
from core.db import session_scope
from core.meters.status import NOT_CONFIGURED, SiteMeterStatus, site_meter_status
from core.rules.local_time import local_range, to_local
from core.sites import get_site
from core.telemetry.departures import DepartureRow, departures_since
from core.telemetry.fleet import VehicleState, vehicle_states
from core.telemetry.grid import grid_events_at, price_now
from core.telemetry.plans import PlanSummary, latest_plan
from core.telemetry.readings import Reading, reading


@dataclass(frozen=True)
class SiteInfo:
    """The site's settings the pages show, and the local time there now."""

    id: str
    name: str
    timezone: str
    currency: str
    import_limit_kw: float
    export_limit_kw: float
    default_soc_floor: float
    hard_soc_floor: float
    local_time: datetime
    demand_response_opt_in: bool = True


def site_info(site_id: str | None = None, *, engine: Engine | None = None) -> SiteInfo:
    """The site's name, limits and the current local time in its time zone (the first site when None)."""
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        return SiteInfo(
            id=site.id,
            name=site.name,
            timezone=site.timezone,
            currency=site.currency,
            import_limit_kw=site.import_limit_kw,
            export_limit_kw=site.export_limit_kw,
            default_soc_floor=site.default_soc_floor,
            hard_soc_floor=site.hard_soc_floor,
            local_time=to_local(now(), site.timezone),
            demand_response_opt_in=site.demand_response_opt_in,
        )


@dataclass(frozen=True)
class SiteSnapshot:
    """Everything the overview's live KPI cards show, each live value with its age. `on_track` and
    `at_risk` count the plugged-in vehicles by their forecast; `departed_today` lists how the
    vehicles that left today (the site's local day) left, newest first."""

    site: SiteInfo
    net_import_kw: Reading
    building_load_kw: Reading
    pv_kw: Reading
    ev_charge_kw: Reading
    ev_discharge_kw: Reading
    fleet_avg_soc: float | None
    plugged: int
    on_track: int
    at_risk: int
    import_price: float | None
    export_price: float | None
    active_events: list[dict]
    plan: PlanSummary
    vehicles: list[VehicleState]
    departed_today: list[DepartureRow] = field(default_factory=list)
    # The site's own meter (core.meters): stale -> the planner plans with the worst-case load.
    site_meter: SiteMeterStatus = NOT_CONFIGURED

    @property
    def site_meter_note(self) -> str | None:
        """The overview's warning while the site meter is stale (None otherwise), in site time."""
        if not self.site_meter.stale:
            return None
        since = f" since {to_local(self.site_meter.since, self.site.timezone):%H:%M}" if self.site_meter.since else ""
        return f"site meter stale{since} — planning with worst-case load"


def site_snapshot(site_id: str | None = None, *, engine: Engine | None = None) -> SiteSnapshot:
    """The site now: the latest site meter values, fleet counts and SoC, price and grid events in force."""
    site = site_info(site_id, engine=engine)
    plan = latest_plan(site.id, engine=engine)
    vehicles = vehicle_states(site.id, engine=engine, plan=plan)
    at = now()
    with session_scope(engine) as session:
        sample = session.exec(
            select(models.SiteSample)
            .where(models.SiteSample.site_id == site.id)
            .order_by(col(models.SiteSample.time).desc())
            .limit(1)
        ).first()
        price = price_now(session=session, site_id=site.id, at=at)
        events = grid_events_at(session=session, site_id=site.id, at=at)
        today = site.local_time.date()
        departed = departures_since(session=session, site_id=site.id, since=local_range(site.timezone, today, today)[0])
        meter = site_meter_status(session=session, site_id=site.id, at=at, sample_interval_s=get_settings().meter_interval_s)
    t = sample.time if sample else None
    plugged = [v for v in vehicles if v.plugged]
    # Only fresh SoCs count towards the average: a stale one is unknown, as for the planner.
    socs = [v.soc.value for v in plugged if v.soc.value is not None and not v.soc.stale]
    return SiteSnapshot(
        site=site,
        net_import_kw=reading(sample.net_import_kw if sample else None, t),
        building_load_kw=reading(sample.building_load_kw if sample else None, t),
        pv_kw=reading(sample.pv_kw if sample else None, t),
        ev_charge_kw=reading(sample.ev_charge_kw if sample else None, t),
        ev_discharge_kw=reading(sample.ev_discharge_kw if sample else None, t),
        fleet_avg_soc=sum(socs) / len(socs) if socs else None,
        plugged=len(plugged),
        on_track=sum(1 for v in plugged if not v.at_risk),
        at_risk=sum(1 for v in plugged if v.at_risk),
        import_price=price.import_price_per_kwh if price else None,
        export_price=price.export_price_per_kwh if price else None,
        active_events=events,
        plan=plan,
        vehicles=vehicles,
        departed_today=departed,
        site_meter=meter,
    )
