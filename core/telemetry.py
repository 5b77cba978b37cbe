"""What the pages show: snapshots of the site and its fleet, read from the database.

Pages call these functions and hand the plain results to components; nothing here knows about Dash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.clock import now
from core.db import session_scope
from core.planning import schedule_power_at


class NoSiteError(LookupError):
    """The database holds no site yet (run `python app.py --reset-demo` or `make run`)."""


@dataclass(frozen=True)
class SiteInfo:
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


@dataclass(frozen=True)
class FleetRow:
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
    bidirectional: bool
    v2g_allowed: bool


def default_site_id(engine: Engine | None = None) -> str:
    """The id of the first site (the console manages one site per installation for now)."""
    with session_scope(engine) as session:
        site_id = session.exec(select(models.Site.id).order_by(models.Site.id)).first()
    if site_id is None:
        raise NoSiteError("no site in the database: start with `make run` or `python app.py --reset-demo`")
    return site_id


def site_info(site_id: str | None = None, engine: Engine | None = None) -> SiteInfo:
    """The site's name, limits and the current local time in its time zone."""
    site_id = site_id or default_site_id(engine)
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None:
            raise NoSiteError(f"no site {site_id!r}")
        return SiteInfo(
            id=site.id,
            name=site.name,
            timezone=site.timezone,
            currency=site.currency,
            import_limit_kw=site.import_limit_kw,
            export_limit_kw=site.export_limit_kw,
            default_soc_floor=site.default_soc_floor,
            hard_soc_floor=site.hard_soc_floor,
            local_time=now().astimezone(ZoneInfo(site.timezone)),
            demand_response_opt_in=site.demand_response_opt_in,
        )


def fleet(site_id: str | None = None, engine: Engine | None = None) -> list[FleetRow]:
    """One row per vehicle of the site, with its effective floor and home charger."""
    site_id = site_id or default_site_id(engine)
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        chargers = {c.id: c for c in session.exec(select(models.Charger).where(models.Charger.site_id == site_id))}
        vehicles = session.exec(
            select(models.Vehicle).where(models.Vehicle.site_id == site_id).order_by(models.Vehicle.id)
        ).all()
        rows = []
        for v in vehicles:
            charger = chargers.get(v.home_charger_id or "")
            rows.append(
                FleetRow(
                    vehicle_id=v.id,
                    name=v.name,
                    kind=v.kind,
                    battery_kwh=v.battery_kwh,
                    soc_floor=models.effective_soc_floor(v, site),
                    target_soc=v.target_soc,
                    usual_arrival=v.usual_arrival,
                    usual_departure=v.usual_departure,
                    charger_id=charger.id if charger else None,
                    charger_protocol=charger.protocol if charger else None,
                    bidirectional=bool(charger and charger.bidirectional and v.max_discharge_kw > 0),
                    v2g_allowed=v.v2g_allowed,
                )
            )
    return rows


def fleet_max_charge_kw(site_id: str, engine: Engine | None = None) -> float:
    """What every charger of the site together could draw at full power."""
    with session_scope(engine) as session:
        powers = session.exec(select(models.Charger.max_charge_kw).where(models.Charger.site_id == site_id)).all()
    return float(sum(powers))


# --- live snapshots --------------------------------------------------------------------------

STALE_FACTOR = 3  # a value older than this many expected update intervals is stale


def _stale_after_s() -> float:
    from core.config import get_settings

    return STALE_FACTOR * get_settings().meter_interval_s


@dataclass(frozen=True)
class Reading:
    """A value with its time; `stale` when older than its expected update interval allows."""

    value: float | None
    at: datetime | None
    stale: bool

    @property
    def age_s(self) -> float | None:
        return None if self.at is None else (now() - self.at).total_seconds()


def _reading(value: float | None, at: datetime | None) -> Reading:
    stale = at is None or (now() - at).total_seconds() > _stale_after_s()
    return Reading(value=value, at=at, stale=stale)


@dataclass(frozen=True)
class VehicleState:
    vehicle_id: str
    name: str
    kind: str
    battery_kwh: float
    soc: Reading
    soc_source: str  # "meter", "none"
    soc_floor: float
    target_soc: float
    plugged: bool
    charger_id: str | None
    power_kw: Reading
    departure: datetime | None
    at_risk: bool
    shortfall_kwh: float
    shortfall_cause: str
    reason: str
    bidirectional: bool


@dataclass(frozen=True)
class PlanSummary:
    run_id: int | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    solve_time_s: float | None
    objective: float | None
    message: str
    horizon_start: datetime | None
    step_minutes: int
    reasons: dict
    shortfalls: list
    departures: dict
    net_import_kw: list
    cost_parts: dict
    inputs: dict


def latest_plan(site_id: str, engine: Engine | None = None) -> PlanSummary:
    """The last finished dispatch run of the site (an empty summary when none ran yet)."""
    with session_scope(engine) as session:
        run = session.exec(
            select(models.DispatchRun)
            .where(models.DispatchRun.site_id == site_id)
            .where(models.DispatchRun.finished_at != None)  # noqa: E711 (SQL IS NOT NULL)
            .order_by(models.DispatchRun.started_at.desc())
            .limit(1)
        ).first()
        if run is None:
            return PlanSummary(None, None, None, "none", None, None, "no dispatch run yet", None, 15, {}, [], {}, [], {}, {})
        result = run.result_summary or {}
        return PlanSummary(
            run_id=run.id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=run.status,
            solve_time_s=run.solve_time_s,
            objective=run.objective,
            message=run.message,
            horizon_start=run.horizon_start,
            step_minutes=run.step_minutes,
            reasons=result.get("reasons", {}),
            shortfalls=result.get("shortfalls", []),
            departures=result.get("departures", {}),
            net_import_kw=result.get("net_import_kw", []),
            cost_parts=result.get("cost_parts", {}),
            inputs=run.inputs_summary or {},
        )


RECENT = timedelta(minutes=10)


def _latest_samples(session, charger_ids: list[str]) -> dict[str, models.MeterSample]:
    """Each charger's latest meter sample, in one query over the last few minutes; a charger that
    has been quiet longer gets its own (indexed) look-up. Hundreds of chargers, one round trip."""
    if not charger_ids:
        return {}
    since = now() - RECENT
    latest = (
        select(models.MeterSample.charger_id, func.max(models.MeterSample.time).label("time"))
        .where(models.MeterSample.charger_id.in_(charger_ids))
        .where(models.MeterSample.time >= since)
        .group_by(models.MeterSample.charger_id)
        .subquery()
    )
    found = {
        s.charger_id: s
        for s in session.exec(
            select(models.MeterSample).join(
                latest, and_(models.MeterSample.charger_id == latest.c.charger_id, models.MeterSample.time == latest.c.time)
            )
        )
    }
    for charger_id in charger_ids:
        if charger_id not in found and (sample := _latest_sample(session, charger_id)) is not None:
            found[charger_id] = sample
    return found


def _latest_sample(session, charger_id: str) -> models.MeterSample | None:
    return session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == charger_id)
        .order_by(models.MeterSample.time.desc())
        .limit(1)
    ).first()


def _latest_soc_sample(session, charger_id: str, since: datetime) -> models.MeterSample | None:
    return session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == charger_id)
        .where(models.MeterSample.time >= since)
        .where(models.MeterSample.soc != None)  # noqa: E711
        .order_by(models.MeterSample.time.desc())
        .limit(1)
    ).first()


def vehicle_states(
    site_id: str, engine: Engine | None = None, plan: PlanSummary | None = None, vehicle_id: str | None = None
) -> list[VehicleState]:
    """Every vehicle of the site now (or just `vehicle_id`): plugged or away, SoC and power with their
    age, plan status."""
    plan = plan or latest_plan(site_id, engine)
    shortfalls = {s.get("vehicle_id"): s for s in plan.shortfalls}
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        chargers = {c.id: c for c in session.exec(select(models.Charger).where(models.Charger.site_id == site_id))}
        open_sessions = {
            p.vehicle_id: p
            for p in session.exec(
                select(models.PlugSession)
                .where(models.PlugSession.ended_at == None)  # noqa: E711
                .where(models.PlugSession.charger_id.in_(list(chargers)))
                .order_by(models.PlugSession.started_at)
            )
            if p.vehicle_id
        }
        states = []
        query = select(models.Vehicle).where(models.Vehicle.site_id == site_id).order_by(models.Vehicle.id)
        if vehicle_id is not None:
            query = query.where(models.Vehicle.id == vehicle_id)
        vehicles = session.exec(query).all()
        latest = _latest_samples(session, [open_sessions[v.id].charger_id for v in vehicles if v.id in open_sessions])
        for v in vehicles:
            plug = open_sessions.get(v.id)
            charger = chargers.get(plug.charger_id) if plug else chargers.get(v.home_charger_id or "")
            power = Reading(None, None, True)
            soc = Reading(None, None, True)
            if plug:
                sample = latest.get(plug.charger_id)
                if sample is not None:
                    power = _reading(sample.power_kw, sample.time)
                if sample is not None and sample.soc is not None and sample.time >= plug.started_at:
                    soc_sample = sample
                else:
                    soc_sample = _latest_soc_sample(session, plug.charger_id, plug.started_at)
                if soc_sample is not None:
                    soc = _reading(soc_sample.soc, soc_sample.time)
            shortfall = shortfalls.get(v.id, {})
            departure_iso = plan.departures.get(v.id)
            states.append(
                VehicleState(
                    vehicle_id=v.id,
                    name=v.name,
                    kind=v.kind,
                    battery_kwh=v.battery_kwh,
                    soc=soc,
                    soc_source="meter" if soc.value is not None else "none",
                    soc_floor=models.effective_soc_floor(v, site),
                    target_soc=v.target_soc,
                    plugged=plug is not None,
                    charger_id=charger.id if charger else None,
                    power_kw=power,
                    departure=datetime.fromisoformat(departure_iso) if (plug and departure_iso) else None,
                    at_risk=bool(plug and shortfall),
                    shortfall_kwh=float(shortfall.get("shortfall_kwh", 0.0)) if plug else 0.0,
                    shortfall_cause=str(shortfall.get("cause", "")) if plug else "",
                    reason=plan.reasons.get(v.id, "") if plug else "away",
                    bidirectional=bool(charger and charger.bidirectional and v.max_discharge_kw > 0),
                )
            )
    return states


@dataclass(frozen=True)
class SiteSnapshot:
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


def _price_now(session, site_id: str, at: datetime) -> models.PricePoint | None:
    return session.exec(
        select(models.PricePoint)
        .where(models.PricePoint.site_id == site_id)
        .where(models.PricePoint.start <= at)
        .where(models.PricePoint.end > at)
        .limit(1)
    ).first()


def active_grid_events(site_id: str, at: datetime, engine: Engine | None = None) -> list[dict]:
    """Grid signals (caps, export requests) in force at `at`."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(models.GridSignal)
            .where(models.GridSignal.site_id == site_id)
            .where(models.GridSignal.start <= at)
            .where(models.GridSignal.end > at)
            .where(models.GridSignal.kind != "price")
        ).all()
        return [
            {"kind": r.kind, "kw": r.kw, "start": r.start, "end": r.end, "reward_per_kwh": r.reward_per_kwh, "source": r.source}
            for r in rows
        ]


def site_snapshot(site_id: str | None = None, engine: Engine | None = None) -> SiteSnapshot:
    """Everything the overview's live KPI cards show, each live value with its age."""
    site = site_info(site_id, engine)
    plan = latest_plan(site.id, engine)
    vehicles = vehicle_states(site.id, engine, plan)
    at = now()
    with session_scope(engine) as session:
        sample = session.exec(
            select(models.SiteSample)
            .where(models.SiteSample.site_id == site.id)
            .order_by(models.SiteSample.time.desc())
            .limit(1)
        ).first()
        price = _price_now(session, site.id, at)
    t = sample.time if sample else None
    plugged = [v for v in vehicles if v.plugged]
    socs = [v.soc.value for v in plugged if v.soc.value is not None and not v.soc.stale]
    return SiteSnapshot(
        site=site,
        net_import_kw=_reading(sample.net_import_kw if sample else None, t),
        building_load_kw=_reading(sample.building_load_kw if sample else None, t),
        pv_kw=_reading(sample.pv_kw if sample else None, t),
        ev_charge_kw=_reading(sample.ev_charge_kw if sample else None, t),
        ev_discharge_kw=_reading(sample.ev_discharge_kw if sample else None, t),
        fleet_avg_soc=sum(socs) / len(socs) if socs else None,
        plugged=len(plugged),
        on_track=sum(1 for v in plugged if not v.at_risk),
        at_risk=sum(1 for v in plugged if v.at_risk),
        import_price=price.import_price_per_kwh if price else None,
        export_price=price.export_price_per_kwh if price else None,
        active_events=active_grid_events(site.id, at, engine),
        plan=plan,
        vehicles=vehicles,
    )


def today_cost_and_savings(site_id: str) -> tuple[float | None, float | None]:
    """Today's energy cost and the saving against uncontrolled charging, in the site's currency:
    the same numbers as the savings report (core.reports) for today's local date."""
    from core import reports

    site = site_info(site_id)
    report = reports.build_report("savings", date_from=site.local_time.date(), date_to=site.local_time.date(), site_id=site_id)
    if report.frame.empty:
        return None, None
    row = report.frame.iloc[0]
    currency = site.currency.lower()
    return float(row[f"actual_cost_{currency}"]), float(row[f"savings_{currency}"])


def _frame(rows, columns: list[str]):
    """A DataFrame from result rows whose first column is a time as text, built column by column
    (pandas inspects every row object when given rows, several times slower)."""
    import pandas as pd

    frame = pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    return frame


SITE_HISTORY_COLUMNS = ["time", "building_load_kw", "pv_kw", "ev_charge_kw", "ev_discharge_kw", "net_import_kw"]
SETTLED = timedelta(minutes=30)  # history older than this is read once and kept (below)


def site_history_frame(site_id: str, *, since: datetime, until: datetime, bucket_minutes: int = 5):
    """Site power averaged per bucket (a pandas DataFrame with a `time` column, UTC).

    Columns: building_load_kw, pv_kw, ev_charge_kw, ev_discharge_kw, net_import_kw and `hours`, the
    hours of the bucket that samples cover (for energy sums). Raw samples never reach the browser.
    The settled part (up to the last half hour) comes from a small per-process cache, so a live
    update reads only the last half hour of samples.
    """
    import pandas as pd

    step = timedelta(minutes=bucket_minutes)
    since = _floor(since, step)
    cut = max(since, _floor(until, SETTLED))
    parts = [_settled_history(site_id, since, cut, bucket_minutes)] if cut > since else []
    parts.append(_site_history(site_id, cut, until, bucket_minutes))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=[*SITE_HISTORY_COLUMNS, "hours"])
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()


def _floor(at: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=at.tzinfo)
    return at - (at - epoch) % step


@lru_cache(maxsize=16)
def _settled_history(site_id: str, since: datetime, until: datetime, bucket_minutes: int):
    # Samples older than half an hour no longer change (the site meter writes "now"), so the result
    # for a given window can be kept; the key moves with the window every few minutes.
    return _site_history(site_id, since, until, bucket_minutes)


def _site_history(site_id: str, since: datetime, until: datetime, bucket_minutes: int):
    import pandas as pd

    with session_scope() as session:
        # Time as text, parsed by pandas in one vectorised step: row-by-row datetime parsing in the
        # driver dominated the live pages' time (both SQLite and PostgreSQL render it ISO-like, UTC).
        rows = session.exec(
            select(
                cast(models.SiteSample.time, String),
                models.SiteSample.building_load_kw,
                models.SiteSample.pv_kw,
                models.SiteSample.ev_charge_kw,
                models.SiteSample.ev_discharge_kw,
                models.SiteSample.net_import_kw,
            )
            .where(models.SiteSample.site_id == site_id)
            .where(models.SiteSample.time >= since)
            .where(models.SiteSample.time < until)
            .order_by(models.SiteSample.time)
        ).all()
    if not rows:
        return pd.DataFrame(columns=[*SITE_HISTORY_COLUMNS, "hours"])
    frame = _frame(rows, SITE_HISTORY_COLUMNS)
    out = frame.set_index("time").resample(f"{bucket_minutes}min").mean().dropna(how="all")
    out["hours"] = bucket_minutes / 60
    return out.reset_index()


def vehicle_history_frame(charger_id: str, *, since: datetime, until: datetime, bucket_minutes: int = 5):
    """A charger's power and SoC averaged per bucket (DataFrame: time, power_kw, soc)."""
    import pandas as pd

    with session_scope() as session:
        rows = session.exec(
            select(cast(models.MeterSample.time, String), models.MeterSample.power_kw, models.MeterSample.soc)
            .where(models.MeterSample.charger_id == charger_id)
            .where(models.MeterSample.time >= since)
            .where(models.MeterSample.time < until)
            .order_by(models.MeterSample.time)
        ).all()
    if not rows:
        return pd.DataFrame(columns=["time", "power_kw", "soc"])
    frame = _frame(rows, ["time", "power_kw", "soc"])
    return frame.set_index("time").resample(f"{bucket_minutes}min").mean().dropna(how="all").reset_index()


def plan_frame(run_id: int, vehicle_id: str | None = None):
    """The setpoints of a dispatch run (DataFrame: start, vehicle_id, step, power_kw, soc_end)."""
    frame = _run_setpoints(run_id)
    if vehicle_id:
        frame = frame[frame["vehicle_id"] == vehicle_id]
    return frame.copy()


@lru_cache(maxsize=4)
def _run_setpoints(run_id: int):
    # A finished run's setpoints never change, so they are read once per process.
    import pandas as pd

    columns = ["start", "vehicle_id", "step", "power_kw", "soc_end"]
    with session_scope() as session:
        rows = session.exec(
            select(
                cast(models.Setpoint.start, String), models.Setpoint.vehicle_id, models.Setpoint.step,
                models.Setpoint.power_kw, models.Setpoint.soc_end,
            )
            .where(models.Setpoint.run_id == run_id)
            .order_by(models.Setpoint.vehicle_id, models.Setpoint.step)
        ).all()  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))
    frame["start"] = pd.to_datetime(frame["start"], utc=True, format="ISO8601")
    return frame


@dataclass(frozen=True)
class ChargerState:
    charger_id: str
    protocol: str
    connected: bool
    status: str
    last_seen: datetime | None
    power_kw: Reading
    max_charge_kw: float
    max_discharge_kw: float
    discharge_note: str
    last_command_status: str
    last_command_at: datetime | None
    setpoint_kw: float | None
    ignores_profile: bool


IGNORE_SAMPLES = 3  # consecutive samples far from the setpoint before a charger is flagged


def _recent_samples(session, charger_ids: list[str], count: int) -> dict[str, list[models.MeterSample]]:
    """Each charger's newest `count` samples of the last minute (or few meter intervals), newest first."""
    from core.config import get_settings

    since = now() - timedelta(seconds=max(60.0, (count + 1) * get_settings().meter_interval_s))
    out: dict[str, list[models.MeterSample]] = {}
    for s in session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id.in_(charger_ids))
        .where(models.MeterSample.time >= since)
        .order_by(models.MeterSample.charger_id, models.MeterSample.time.desc())
    ):
        newest = out.setdefault(s.charger_id, [])
        if len(newest) < count:
            newest.append(s)
    return out


def _latest_commands(session, charger_ids: list[str], status: str | None = None) -> dict[str, models.ChargingProfileCommand]:
    """Each charger's latest charging-profile command (with `status`, when given)."""
    command = models.ChargingProfileCommand
    latest = select(func.max(command.id)).where(command.charger_id.in_(charger_ids)).group_by(command.charger_id)
    if status is not None:
        latest = latest.where(command.status == status)
    return {c.charger_id: c for c in session.exec(select(command).where(command.id.in_(latest)))}


def charger_states(site_id: str, engine: Engine | None = None) -> list[ChargerState]:
    """Every charger: connection, status, power, the last profile sent and its answer, and whether
    it ignores its profile (metered power far from the setpoint over the last few samples)."""
    states = []
    with session_scope(engine) as session:
        chargers = session.exec(select(models.Charger).where(models.Charger.site_id == site_id).order_by(models.Charger.id)).all()
        ids = [c.id for c in chargers]
        latest = _latest_samples(session, ids)
        recent = _recent_samples(session, ids, IGNORE_SAMPLES)
        last_command = _latest_commands(session, ids)
        last_accepted = _latest_commands(session, ids, status="Accepted")
        for c in chargers:
            samples = recent.get(c.id, [])
            command, accepted = last_command.get(c.id), last_accepted.get(c.id)
            tolerance_kw = max(2.0, 0.1 * c.max_charge_kw)
            ignores = False
            if accepted and accepted.schedule and len(samples) == IGNORE_SAMPLES:
                gaps = []
                for s in samples:
                    target = schedule_power_at(accepted.schedule, s.time)
                    if target is None or s.power_kw is None or accepted.answered_at is None or s.time < accepted.answered_at:
                        break
                    # A vehicle may take less than allowed (full battery): only more than the setpoint, or
                    # discharging when told to charge or rest, counts as ignoring it.
                    gaps.append(s.power_kw - target > tolerance_kw or (target >= 0 and s.power_kw < -tolerance_kw))
                ignores = len(gaps) == IGNORE_SAMPLES and all(gaps)
            if c.max_discharge_kw <= 0:
                note = "one-way"
            elif c.protocol == "2.1":
                note = "V2X (OCPP 2.1)"
            elif c.accepts_negative_limits:
                note = f"discharge via negative limits (OCPP {c.protocol}, vendor)"
            else:
                note = f"charge only: OCPP {c.protocol} has no standard discharge"
            newest = latest.get(c.id)
            states.append(
                ChargerState(
                    charger_id=c.id,
                    protocol=c.protocol,
                    connected=c.connected,
                    status=c.status,
                    last_seen=c.last_seen,
                    power_kw=_reading(newest.power_kw, newest.time) if newest else Reading(None, None, True),
                    max_charge_kw=c.max_charge_kw,
                    max_discharge_kw=c.max_discharge_kw,
                    discharge_note=note,
                    last_command_status=command.status if command else "none",
                    last_command_at=(command.answered_at or command.sent_at or command.created_at) if command else None,
                    setpoint_kw=schedule_power_at(command.schedule, now()) if command else None,
                    ignores_profile=ignores,
                )
            )
    return states


def plan_site_frame(plan: PlanSummary):
    """The plan's next 24 h for the site chart (DataFrame: time, net_import_kw, ev_kw, building_load_kw, pv_kw)."""
    import pandas as pd

    if plan.horizon_start is None or not plan.net_import_kw:
        return pd.DataFrame(columns=["time", "net_import_kw", "ev_kw", "building_load_kw", "pv_kw"])
    n = len(plan.net_import_kw)
    times = pd.date_range(plan.horizon_start, periods=n, freq=f"{plan.step_minutes}min")
    base = plan.inputs.get("base_load_kw") or [0.0] * n
    pv = plan.inputs.get("pv_kw") or [0.0] * n
    net = plan.net_import_kw
    return pd.DataFrame(
        {
            "time": times,
            "net_import_kw": net,
            "ev_kw": [net[k] - base[k] + pv[k] for k in range(n)],
            "building_load_kw": base,
            "pv_kw": pv,
        }
    )


def price_frame(site_id: str, *, since: datetime, until: datetime):
    """Import and export prices from `since` to `until` (DataFrame: time, import_price, export_price)."""
    import pandas as pd

    with session_scope() as session:
        rows = session.exec(
            select(models.PricePoint.start, models.PricePoint.import_price_per_kwh, models.PricePoint.export_price_per_kwh)
            .where(models.PricePoint.site_id == site_id)
            .where(models.PricePoint.start >= since)
            .where(models.PricePoint.start < until)
            .order_by(models.PricePoint.start)
        ).all()
    frame = pd.DataFrame(rows, columns=["time", "import_price", "export_price"])
    if not frame.empty:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def grid_events(site_id: str, *, since: datetime, until: datetime) -> list[dict]:
    """Grid signals overlapping [since, until)."""
    with session_scope() as session:
        rows = session.exec(
            select(models.GridSignal)
            .where(models.GridSignal.site_id == site_id)
            .where(models.GridSignal.end > since)
            .where(models.GridSignal.start < until)
            .where(models.GridSignal.kind != "price")
            .order_by(models.GridSignal.start)
        ).all()
        return [
            {"id": r.id, "kind": r.kind, "kw": r.kw, "start": r.start, "end": r.end, "reward_per_kwh": r.reward_per_kwh,
             "source": r.source, "opted_in": r.opted_in}
            for r in rows
        ]


def vehicle_sessions(vehicle_id: str, limit: int = 20) -> list[models.PlugSession]:
    """The vehicle's latest plug-in sessions, newest first."""
    with session_scope() as session:
        return list(
            session.exec(
                select(models.PlugSession)
                .where(models.PlugSession.vehicle_id == vehicle_id)
                .order_by(models.PlugSession.started_at.desc())
                .limit(limit)
            )
        )
