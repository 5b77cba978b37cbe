"""The fleet as the pages show it: one row per vehicle (floors, home charger, whether V2G is
possible there) and each vehicle's live state (plugged or away, SoC and power with their age, plan).

"May this vehicle discharge" is the planner's own rule (core.rules.discharge): a page never says
V2G "yes" where the planner will not discharge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import models
from core.clock import now
from core.db import session_scope
from core.rules.discharge import discharge_blocked_reason, effective_soc_floor
from core.sites import get_site
from core.telemetry.forecast import Plugged, fleet_forecasts
from core.telemetry.plans import PlanSummary, latest_plan_in
from core.telemetry.readings import NO_READING, Reading, latest_samples, latest_soc_sample, reading

NO_HOME_CHARGER = "no home charger"


@dataclass(frozen=True)
class FleetRow:
    """A vehicle and its home charger; `v2g_possible` when the planner may discharge it there
    (once plugged in with a fresh SoC), else `v2g_blocked_reason` says why not."""

    vehicle_id: str
    name: str
    kind: str
    battery_kwh: float
    soc_floor: float
    target_soc: float
    usual_arrival: str
    usual_departure: str
    charger_id: str | None
    charger_protocol: str | None
    v2g_allowed: bool
    v2g_possible: bool
    v2g_blocked_reason: str | None


def _site_chargers(session: Session, site_id: str) -> dict[str, models.Charger]:
    return {c.id: c for c in session.exec(select(models.Charger).where(models.Charger.site_id == site_id))}


def fleet(site_id: str | None = None, *, engine: Engine | None = None) -> list[FleetRow]:
    """One row per vehicle of the site (the first site when None), with its effective floor and home charger."""
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        chargers = _site_chargers(session, site.id)
        vehicles = session.exec(
            select(models.Vehicle).where(models.Vehicle.site_id == site.id).order_by(models.Vehicle.id)
        ).all()
        rows = []
        for v in vehicles:
            charger = chargers.get(v.home_charger_id or "")
            # The SoC is taken as fresh: this row tells what the home charger allows, not the moment.
            blocked = discharge_blocked_reason(v, charger) if charger else NO_HOME_CHARGER
            rows.append(
                FleetRow(
                    vehicle_id=v.id,
                    name=v.name,
                    kind=v.kind,
                    battery_kwh=v.battery_kwh,
                    soc_floor=effective_soc_floor(v, site),
                    target_soc=v.target_soc,
                    usual_arrival=v.usual_arrival,
                    usual_departure=v.usual_departure,
                    charger_id=charger.id if charger else None,
                    charger_protocol=charger.protocol if charger else None,
                    v2g_allowed=v.v2g_allowed,
                    v2g_possible=blocked is None,
                    v2g_blocked_reason=blocked,
                )
            )
    return rows


def fleet_max_charge_kw(site_id: str, *, engine: Engine | None = None) -> float:
    """What every charger of the site together could draw at full power."""
    with session_scope(engine) as session:
        powers = session.exec(select(models.Charger.max_charge_kw).where(models.Charger.site_id == site_id)).all()
    return float(sum(powers))


@dataclass(frozen=True)
class VehicleState:
    """A vehicle now. `v2g_possible`: the planner may discharge it now (plugged into a charger that
    can, V2G on, SoC fresh); else `v2g_blocked_reason` says why not.

    Plugged in: `departure` and `target_soc` are those in force (core.departures); `at_risk`,
    `shortfall_kwh`, `shortfall_cause` and `forecast_soc` come from the forecast of the live state
    (core.rules.departure_forecast), never from the plan's own arithmetic. `reason` is the plan's."""

    vehicle_id: str
    name: str
    kind: str
    battery_kwh: float
    soc: Reading
    soc_source: str  # "meter", "none"
    soc_floor: float
    target_soc: float
    plugged: bool
    charger_id: str | None  # the charger it is plugged into, else its home charger
    power_kw: Reading
    departure: datetime | None
    at_risk: bool
    shortfall_kwh: float
    shortfall_cause: str
    reason: str
    v2g_possible: bool
    v2g_blocked_reason: str | None
    forecast_soc: float | None = None  # the SoC it will leave with (None: unknown, or away)


def _open_sessions(session: Session, charger_ids: list[str]) -> dict[str, models.PlugSession]:
    """Each vehicle's open plug-in session on these chargers (the newest, when several are open)."""
    return {
        p.vehicle_id: p
        for p in session.exec(
            select(models.PlugSession)
            .where(col(models.PlugSession.ended_at).is_(None))
            .where(col(models.PlugSession.charger_id).in_(charger_ids))
            .order_by(models.PlugSession.started_at)
        )
        if p.vehicle_id
    }


def vehicle_states(
    site_id: str | None = None,
    *,
    engine: Engine | None = None,
    plan: PlanSummary | None = None,
    vehicle_id: str | None = None,
) -> list[VehicleState]:
    """Every vehicle of the site now (or just `vehicle_id`): plugged or away, SoC and power with their
    age, whether it will leave with its target, and whether it may discharge now. `plan`: the
    latest plan when None."""
    at = now()
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        plan = plan or latest_plan_in(session=session, site_id=site.id)
        chargers = _site_chargers(session, site.id)
        open_sessions = _open_sessions(session, list(chargers))
        query = select(models.Vehicle).where(models.Vehicle.site_id == site.id).order_by(models.Vehicle.id)
        if vehicle_id is not None:
            query = query.where(models.Vehicle.id == vehicle_id)
        vehicles = session.exec(query).all()
        latest = latest_samples(
            session=session, charger_ids=[open_sessions[v.id].charger_id for v in vehicles if v.id in open_sessions]
        )
        live = []
        for v in vehicles:
            plug = open_sessions.get(v.id)
            plugged_into = chargers.get(plug.charger_id) if plug else None
            charger = plugged_into or chargers.get(v.home_charger_id or "")
            power, soc = NO_READING, NO_READING
            if plug:
                sample = latest.get(plug.charger_id)
                if sample is not None:
                    power = reading(sample.power_kw, sample.time)
                # The SoC of this stay only, as the planner reads it: a sample from before the plug-in is another visit's.
                if sample is not None and sample.soc is not None and sample.time >= plug.started_at:
                    soc_sample = sample
                else:
                    soc_sample = latest_soc_sample(session=session, charger_id=plug.charger_id, since=plug.started_at)
                if soc_sample is not None:
                    soc = reading(soc_sample.soc, soc_sample.time)
            live.append((v, plug, plugged_into, charger, power, soc))
        forecasts = fleet_forecasts(
            session=session, site=site, plan=plan, at=at,
            plugged=[Plugged(v, plug, into, soc) for v, plug, into, _, _, soc in live if plug is not None],
        )
        states = []
        for v, plug, plugged_into, charger, power, soc in live:
            blocked = discharge_blocked_reason(v, plugged_into, soc_known=soc.value is not None and not soc.stale)
            ahead = forecasts.get(v.id)
            forecast = ahead.forecast if ahead else None
            states.append(
                VehicleState(
                    vehicle_id=v.id,
                    name=v.name,
                    kind=v.kind,
                    battery_kwh=v.battery_kwh,
                    soc=soc,
                    soc_source="meter" if soc.value is not None else "none",
                    soc_floor=effective_soc_floor(v, site),
                    target_soc=ahead.target_soc if ahead else v.target_soc,
                    plugged=plug is not None,
                    charger_id=charger.id if charger else None,
                    power_kw=power,
                    departure=ahead.departure if ahead else None,
                    at_risk=bool(forecast and forecast.at_risk),
                    shortfall_kwh=forecast.short_kwh if forecast else 0.0,
                    shortfall_cause=forecast.cause if forecast else "",
                    reason=plan.reasons.get(v.id, "") if plug else "away",
                    v2g_possible=blocked is None,
                    v2g_blocked_reason=blocked,
                    forecast_soc=forecast.soc_at_departure if forecast else None,
                )
            )
    return states
