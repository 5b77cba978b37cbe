"""Live dispatch: build the dispatch problem from the database, plan, store, fill the outbox.

Stateless per cycle (like evcc's control loop): every run re-reads the state the database holds,
plans the next 24 hours in 15-minute steps with `core.dispatch`, stores the run and its setpoints,
and writes one charging-profile command for each charger whose plan changed. The gateway's
scheduler calls `run_dispatch` every minute and at once when `replan_wanted` says so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, func, select

from core import controls, dispatch, models
from core.clock import now
from core.config import get_settings
from core.db import session_scope
from core.charging_profiles import build_charging_profile
from core.windows import Window, allowed_steps, step_ranges

STEP_MINUTES = 15
HORIZON_STEPS = 96
FORECAST_WEEKS = 3
KEEP_SETPOINTS = timedelta(days=2)
# A plan differing from the last one sent by less than this is not sent again.
CHANGE_THRESHOLD_KW = 0.1


@dataclass
class PlannedVehicle:
    """What the plan needs to know about one plugged-in vehicle beyond the scenario itself."""

    vehicle_id: str
    charger_id: str
    session_id: int
    transaction_id: str
    soc_known: bool
    departure: datetime
    departure_source: str


@dataclass
class Problem:
    """A dispatch problem built from the database: the scenario and what links it back."""

    scenario: dict
    start: datetime
    vehicles: list[PlannedVehicle] = field(default_factory=list)
    assumed_price_steps: int = 0
    forecast_source: str = "history"


# --- re-plan requests ------------------------------------------------------------------------


def request_replan(*, site_id: str, engine: Engine | None = None) -> None:
    """Ask for a dispatch run as soon as the scheduler sees it (plug-in, plug-out, a setting)."""
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is not None:
            site.replan_requested_at = now()


def replan_wanted(*, site_id: str, engine: Engine | None = None) -> bool:
    """True when a re-plan was requested after the last dispatch run started."""
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None or site.replan_requested_at is None:
            return False
        last = session.exec(
            select(func.max(models.DispatchRun.started_at)).where(models.DispatchRun.site_id == site_id)
        ).one()
        return last is None or site.replan_requested_at >= last


# --- building the problem --------------------------------------------------------------------


def horizon_start(at: datetime) -> datetime:
    """The start of the 15-minute step that contains `at`."""
    return at.replace(minute=at.minute - at.minute % STEP_MINUTES, second=0, microsecond=0)


def _next_local_time(after: datetime, hhmm: str, timezone: str) -> datetime:
    """The next instant after `after` at which the site's clock shows `hhmm`."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    local = after.astimezone(tz)
    hour, minute = (int(x) for x in hhmm.split(":"))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate.astimezone(after.tzinfo)


def _latest_soc(session: Session, plug: models.PlugSession) -> tuple[float | None, datetime | None]:
    sample = session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == plug.charger_id)
        .where(models.MeterSample.time >= plug.started_at)
        .where(col(models.MeterSample.soc).is_not(None))
        .order_by(col(models.MeterSample.time).desc())
        .limit(1)
    ).first()
    return (sample.soc, sample.time) if sample else (None, None)


def _step_times(start: datetime) -> list[datetime]:
    return [start + timedelta(minutes=STEP_MINUTES * k) for k in range(HORIZON_STEPS)]


def _prices(session: Session, site: models.Site, start: datetime, profile) -> tuple[list[float], list[float], int]:
    """Import and export price per step; where none is stored, the tariff rule, the demo profile, the
    last known day or the last known price (core.signals.price_steps), counted as assumed."""
    from core.signals import price_steps

    steps = price_steps(session, site, start, HORIZON_STEPS, profile)
    return (
        [s.import_price_per_kwh for s in steps],
        [s.export_price_per_kwh for s in steps],
        sum(1 for s in steps if s.assumed),
    )


def _forecast(session: Session, site: models.Site, start: datetime, profile) -> tuple[list[float], list[float], str]:
    """Building load and PV per step: the mean of the same weekday and time over the last weeks of
    site samples; the demo profile (or the latest reading) where history is short."""
    sums = [[0.0, 0.0, 0] for _ in range(HORIZON_STEPS)]
    step = timedelta(minutes=STEP_MINUTES)
    for week in range(1, FORECAST_WEEKS + 1):
        shift = timedelta(days=7 * week)
        rows = session.exec(
            select(models.SiteSample.time, models.SiteSample.building_load_kw, models.SiteSample.pv_kw)
            .where(models.SiteSample.site_id == site.id)
            .where(models.SiteSample.time >= start - shift)
            .where(models.SiteSample.time < start - shift + step * HORIZON_STEPS)
        ).all()
        for t, load_kw, pv_kw in rows:
            k = int((t + shift - start) / step)
            if 0 <= k < HORIZON_STEPS:
                sums[k][0] += load_kw
                sums[k][1] += pv_kw
                sums[k][2] += 1
    covered = sum(1 for s in sums if s[2])
    latest = session.exec(
        select(models.SiteSample).where(models.SiteSample.site_id == site.id).order_by(col(models.SiteSample.time).desc()).limit(1)
    ).first()
    load, pv = [], []
    for k, t in enumerate(_step_times(start)):
        total_load, total_pv, n = sums[k]
        if n:
            load.append(total_load / n)
            pv.append(total_pv / n)
        elif profile is not None:
            building_kw, pv_kw, _, _ = profile.at(t)
            load.append(building_kw)
            pv.append(pv_kw)
        else:
            load.append(latest.building_load_kw if latest else 0.0)
            pv.append(0.0)
    source = "history" if covered == HORIZON_STEPS else ("history + demo profile" if covered else "demo profile")
    if profile is None and covered < HORIZON_STEPS:
        source = "history + latest reading" if covered else "latest reading"
    return load, pv, source


def _grid_signals(session: Session, site: models.Site, start: datetime) -> list[dict]:
    end = start + timedelta(minutes=STEP_MINUTES * HORIZON_STEPS)
    signals = session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site.id)
        .where(models.GridSignal.end > start)
        .where(models.GridSignal.start < end)
        .where(models.GridSignal.kind.in_(("import_cap", "export_request")))
    ).all()
    out = []
    step_s = STEP_MINUTES * 60
    for s in signals:
        if s.kind == "export_request" and not s.opted_in:
            continue
        entry = {
            "kind": s.kind,
            "start_step": max(0, math.floor((s.start - start).total_seconds() / step_s)),
            "end_step": min(HORIZON_STEPS, math.ceil((s.end - start).total_seconds() / step_s)),
            "kw": s.kw,
        }
        if s.kind == "export_request":
            entry["reward_per_kwh"] = s.reward_per_kwh
        out.append(entry)
    return out


def _operator_departure(
    session: Session, vehicle: models.Vehicle, site: models.Site, at: datetime
) -> tuple[datetime | None, str, float]:
    """Departure and target the operators set (core.controls): a pending one-off departure first,
    then the recurring schedule; (None, "", the vehicle's target) when neither applies."""
    one_off = session.exec(
        select(models.DepartureOverride)
        .where(models.DepartureOverride.vehicle_id == vehicle.id)
        .where(col(models.DepartureOverride.cancelled_at).is_(None))
        .where(models.DepartureOverride.departs_at > at)
        .order_by(models.DepartureOverride.departs_at)
        .limit(1)
    ).first()
    schedule = session.exec(
        select(models.DepartureSchedule)
        .where(models.DepartureSchedule.vehicle_id == vehicle.id)
        .where(models.DepartureSchedule.enabled)
    ).first()
    recurring = _next_scheduled(at, schedule, site.timezone) if schedule else None
    if one_off is not None and (recurring is None or one_off.departs_at <= recurring):
        target = one_off.target_soc if one_off.target_soc is not None else (schedule.target_soc if schedule else vehicle.target_soc)
        return one_off.departs_at, "override", target
    if recurring is not None:
        return recurring, "schedule", schedule.target_soc
    return None, "", vehicle.target_soc


def _next_scheduled(at: datetime, schedule: models.DepartureSchedule, timezone: str) -> datetime | None:
    """The next departure of a weekly schedule after `at` (within the coming 8 days)."""
    from zoneinfo import ZoneInfo

    candidate = _next_local_time(at, schedule.departure_time, timezone)
    for _ in range(8):
        if str(candidate.astimezone(ZoneInfo(timezone)).weekday()) in schedule.weekdays:
            return candidate
        candidate = _next_local_time(candidate, schedule.departure_time, timezone)
    return None


def _apply_override(
    session: Session, entry: dict, vehicle_id: str, at: datetime, start: datetime, can_discharge: bool
) -> dict:
    """A scenario vehicle with the operator's override in force (core.controls.start_override):
    charge_now: full power to 100 % until the override ends (its end as the stay's end), no discharge;
    pause: plugged in only from the end of the pause (no power before), or not at all if it outlasts the stay;
    discharge_now: discharge allowed from now until the override ends (where the charger allows it)."""
    override = session.exec(
        select(models.Override)
        .where(models.Override.vehicle_id == vehicle_id)
        .where(col(models.Override.cancelled_at).is_(None))
        .where(models.Override.until > at)
        .order_by(col(models.Override.created_at).desc())
        .limit(1)
    ).first()
    if override is None:
        return entry
    until_step = min(HORIZON_STEPS, max(1, math.ceil((override.until - start).total_seconds() / (STEP_MINUTES * 60))))
    if override.kind == "charge_now":
        entry["departure_step"] = min(entry["departure_step"], until_step)
        entry["soc_target"] = 1.0
        entry["v2g_windows"] = []
    elif override.kind == "pause":
        entry["arrival_step"] = min(until_step, entry["departure_step"])
        entry["v2g_windows"] = [[max(a, until_step), b] for a, b in entry["v2g_windows"] if b > until_step]
    elif override.kind == "discharge_now" and can_discharge:
        entry["v2g_windows"] = _merge_ranges([*entry["v2g_windows"], [0, until_step]])
    return entry


def _merge_ranges(ranges: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def month_peak_import_kw(session: Session, site: models.Site, at: datetime) -> float:
    """The highest 15-minute mean net import of the site's current (local) month up to `at`.

    Kept on the site row and extended by the quarters completed since the last run, so a run reads
    a few minutes of samples, not the month.
    """
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(site.timezone))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(at.tzinfo)
    if site.month_peak_through is None or site.month_peak_through < month_start:
        site.month_peak_import_kw, site.month_peak_through = 0.0, month_start
    through = horizon_start(at)
    if through > site.month_peak_through:
        rows = session.exec(
            select(models.SiteSample.time, models.SiteSample.net_import_kw)
            .where(models.SiteSample.site_id == site.id)
            .where(models.SiteSample.time >= site.month_peak_through)
            .where(models.SiteSample.time < through)
        ).all()
        quarters: dict[datetime, list[float]] = {}
        for t, net_kw in rows:
            quarters.setdefault(horizon_start(t), []).append(net_kw)
        means = [sum(v) / len(v) for v in quarters.values()]
        site.month_peak_import_kw = max([site.month_peak_import_kw, *means])
        site.month_peak_through = through
    return site.month_peak_import_kw


def build_problem(*, session: Session, site: models.Site, at: datetime) -> Problem:
    """The dispatch problem (a `v2g-scenario/1` document) for the site as the database holds it at `at`."""
    settings = get_settings()
    from core.signals import demo_profile

    profile = demo_profile()
    start = horizon_start(at)
    step_s = STEP_MINUTES * 60
    import_prices, export_prices, assumed = _prices(session, site, start, profile)
    load, pv, forecast_source = _forecast(session, site, start, profile)

    site_windows = session.exec(
        select(models.V2GWindow).where(models.V2GWindow.site_id == site.id).where(models.V2GWindow.enabled)
    ).all()
    chargers = {c.id: c for c in session.exec(select(models.Charger).where(models.Charger.site_id == site.id))}
    plugs = session.exec(
        select(models.PlugSession)
        .where(col(models.PlugSession.ended_at).is_(None))
        .where(col(models.PlugSession.charger_id).in_(list(chargers)))
        .where(col(models.PlugSession.vehicle_id).is_not(None))
        .order_by(models.PlugSession.started_at)
    ).all()

    problem = Problem(scenario={}, start=start, assumed_price_steps=assumed, forecast_source=forecast_source)
    scenario_chargers, scenario_vehicles, seen_chargers = [], [], set()
    stale_after = timedelta(seconds=2 * settings.meter_interval_s)
    for plug in plugs:
        if plug.charger_id in seen_chargers:
            continue  # a second open session on one connector: trust the newest transaction only
        vehicle = session.get(models.Vehicle, plug.vehicle_id)
        charger = chargers[plug.charger_id]
        seen_chargers.add(charger.id)
        floor = models.effective_soc_floor(vehicle, site)
        soc, soc_time = _latest_soc(session, plug)
        soc_known = soc is not None and soc_time is not None and at - soc_time <= stale_after
        if not soc_known:
            soc = floor  # a stale or unknown SoC is treated as the floor: no discharge (ARCHITECTURE.md)

        departure, departure_source, target_soc = _operator_departure(session, vehicle, site, at)
        if departure is not None:
            pass
        elif vehicle.usual_departure:
            departure, departure_source = _next_local_time(at, vehicle.usual_departure, site.timezone), "usual"
        elif plug.departure_at is not None:
            departure, departure_source = plug.departure_at, "vehicle"
        else:
            departure, departure_source = at + timedelta(hours=24), "default"
        departure_step = min(HORIZON_STEPS, max(1, math.ceil((departure - start).total_seconds() / step_s)))

        can_discharge = (
            charger.bidirectional
            and vehicle.v2g_allowed
            and vehicle.max_discharge_kw > 0
            and soc_known
            and (charger.protocol == "2.1" or charger.accepts_negative_limits)
            and not charger.v2g_off
        )
        windows = [
            Window(w.start_time, w.end_time, w.weekdays, w.date_from, w.date_to)
            for w in site_windows
            if w.vehicle_id in (None, vehicle.id)
        ]
        flags = allowed_steps(windows, start=start, steps=HORIZON_STEPS, step_minutes=STEP_MINUTES, timezone=site.timezone)
        scenario_chargers.append(
            {
                "id": charger.id,
                "max_charge_kw": charger.max_charge_kw,
                "max_discharge_kw": charger.max_discharge_kw if can_discharge else 0.0,
                "efficiency": charger.efficiency,
            }
        )
        entry = {
            "id": vehicle.id,
            "charger": charger.id,
            "arrival_step": 0,
            "departure_step": departure_step,
            "capacity_kwh": vehicle.battery_kwh,
            "soc_arrival": min(1.0, max(0.0, soc)),
            "soc_target": target_soc,
            "soc_floor": min(floor, target_soc),
            "max_charge_kw": vehicle.max_charge_kw,
            "max_discharge_kw": vehicle.max_discharge_kw,
            "v2g_windows": step_ranges(flags) if can_discharge else [],
        }
        scenario_vehicles.append(_apply_override(session, entry, vehicle.id, at, start, can_discharge))
        problem.vehicles.append(
            PlannedVehicle(
                vehicle_id=vehicle.id,
                charger_id=charger.id,
                session_id=plug.id,
                transaction_id=plug.transaction_id,
                soc_known=soc_known,
                departure=departure,
                departure_source=departure_source,
            )
        )

    problem.scenario = {
        "format": "v2g-scenario/1",
        "name": f"{site.id} {start.isoformat()}",
        "start": start.isoformat().replace("+00:00", "Z"),
        "timezone": site.timezone,
        "currency": site.currency,
        "step_minutes": STEP_MINUTES,
        "horizon_steps": HORIZON_STEPS,
        "site": {
            "import_limit_kw": site.import_limit_kw,
            "export_limit_kw": site.export_limit_kw,
            "base_load_kw": load,
            "pv_kw": pv,
        },
        "tariff": _tariff(session, site, at, import_prices, export_prices),
        "grid_signals": _grid_signals(session, site, start),
        "chargers": scenario_chargers,
        "vehicles": scenario_vehicles,
        "degradation_cost_per_kwh": site.degradation_cost_per_kwh,
    }
    return problem


def _tariff(session: Session, site: models.Site, at: datetime, import_prices: list, export_prices: list) -> dict:
    tariff: dict = {"import_price": import_prices, "export_price": export_prices}
    rule = session.get(models.Tariff, site.id)
    if rule is not None and rule.demand_charge_per_kw_month > 0:
        # A monthly demand charge: raising the month's peak costs the whole monthly rate per kW,
        # staying under the peak so far costs nothing more (demand_peak_floor_kw, the engine's extension).
        tariff["demand_charge_per_kw"] = rule.demand_charge_per_kw_month
        tariff["demand_peak_floor_kw"] = month_peak_import_kw(session, site, at)
    return tariff


# --- running and storing ---------------------------------------------------------------------


def _compress(start: datetime, powers: list[float]) -> list[list]:
    """[[start ISO, kW], ...] with one period per run of equal power."""
    periods: list[list] = []
    for k, power_kw in enumerate(powers):
        power_kw = round(float(power_kw), 2)
        if not periods or periods[-1][1] != power_kw:
            periods.append([(start + timedelta(minutes=STEP_MINUTES * k)).isoformat(), power_kw])
    return periods


def schedule_power_at(schedule: list[list] | None, at: datetime) -> float | None:
    """The power a stored setpoint schedule ([[start ISO, kW], ...]) gives at `at` (None before it starts)."""
    value = None
    for start_iso, power_kw in schedule or []:
        if datetime.fromisoformat(start_iso) <= at:
            value = power_kw
        else:
            break
    return value


def plan_changed(previous: list[list], new: list[list], start: datetime) -> bool:
    """Whether two schedules differ by more than CHANGE_THRESHOLD_KW anywhere from `start` on."""
    if not previous:
        return True
    for k in range(HORIZON_STEPS):
        t = start + timedelta(minutes=STEP_MINUTES * k)
        old, fresh = schedule_power_at(previous, t), schedule_power_at(new, t)
        if old is None or fresh is None or abs(old - fresh) > CHANGE_THRESHOLD_KW:
            return True
    return False


RESEND_STATUSES = ("Rejected", "CallError", "Timeout")


def _write_profile_commands(
    session: Session, problem: Problem, powers_kw: dict[str, list[float]], run_id: int
) -> int:
    written = 0
    for pv in problem.vehicles:
        charger = session.get(models.Charger, pv.charger_id)
        schedule = _compress(problem.start, powers_kw[pv.vehicle_id])
        last = session.exec(
            select(models.ChargingProfileCommand)
            .where(models.ChargingProfileCommand.charger_id == charger.id)
            .where(models.ChargingProfileCommand.action == "set")
            .order_by(col(models.ChargingProfileCommand.id).desc())
            .limit(1)
        ).first()
        if last and last.status not in RESEND_STATUSES and not plan_changed(last.schedule, schedule, problem.start):
            continue
        payload = build_charging_profile(
            protocol=charger.protocol,
            periods=[(datetime.fromisoformat(s), kw) for s, kw in schedule],
            max_charge_kw=charger.max_charge_kw,
            max_discharge_kw=charger.max_discharge_kw,
            accepts_negative_limits=charger.accepts_negative_limits,
            transaction_id=pv.transaction_id,
        )
        session.add(
            models.ChargingProfileCommand(
                charger_id=charger.id, action="set", payload=payload, schedule=schedule, run_id=run_id
            )
        )
        written += 1
    return written


def run_dispatch(
    *, site_id: str, trigger: str = "schedule", engine: Engine | None = None, time_limit_s: float | None = None
) -> int | None:
    """Plan the site now, store the run and its setpoints, and queue the changed charging profiles.

    Returns the DispatchRun id (None when the site does not exist).
    """
    settings = get_settings()
    time_limit_s = settings.dispatch_time_limit_s if time_limit_s is None else time_limit_s
    started = now()
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None:
            return None
        problem = build_problem(session=session, site=site, at=started)
        run = models.DispatchRun(site_id=site_id, started_at=started, horizon_start=problem.start, trigger=trigger)
        session.add(run)
        session.flush()
        wall = time.perf_counter()
        result = dispatch.plan(problem.scenario, time_limit_s=time_limit_s)
        run.solve_time_s = time.perf_counter() - wall
        run.status = result.status
        run.objective = float(result.objective)
        run.message = result.status_reason
        run.step_minutes = STEP_MINUTES
        run.inputs_summary = {
            "vehicles": len(problem.vehicles),
            "assumed_price_steps": problem.assumed_price_steps,
            "forecast": problem.forecast_source,
            "grid_signals": len(problem.scenario["grid_signals"]),
            "stale_soc": [pv.vehicle_id for pv in problem.vehicles if not pv.soc_known],
            "import_price": problem.scenario["tariff"]["import_price"],
            "export_price": problem.scenario["tariff"]["export_price"],
            "base_load_kw": problem.scenario["site"]["base_load_kw"],
            "pv_kw": problem.scenario["site"]["pv_kw"],
        }
        run.result_summary = {
            "net_import_kw": [round(float(x), 3) for x in result.net_import_kw],
            "cost_parts": {
                "energy": result.cost.energy,
                "demand": result.cost.demand,
                "degradation": result.cost.degradation,
                "rewards": result.cost.rewards,
            },
            "peak_import_kw": float(result.peak_import_kw),
            "reasons": result.reasons,
            "shortfalls": [
                {"vehicle_id": s.vehicle_id, "shortfall_kwh": round(s.missing_kwh, 2), "cause": s.cause, "detail": s.detail}
                for s in result.shortfalls
            ],
            "departures": {pv.vehicle_id: pv.departure.isoformat() for pv in problem.vehicles},
        }
        powers_by_vehicle = result.power_by_vehicle()
        socs_by_vehicle = dict(zip(result.vehicle_ids, result.soc, strict=True))
        for pv in problem.vehicles:
            powers = powers_by_vehicle[pv.vehicle_id]
            socs = socs_by_vehicle[pv.vehicle_id]
            session.add_all(
                models.Setpoint(
                    run_id=run.id,
                    vehicle_id=pv.vehicle_id,
                    charger_id=pv.charger_id,
                    step=k,
                    start=problem.start + timedelta(minutes=STEP_MINUTES * k),
                    power_kw=float(powers[k]),
                    soc_end=None if math.isnan(socs[k + 1]) else float(socs[k + 1]),
                )
                for k in range(HORIZON_STEPS)
            )
        commands = _write_profile_commands(session, problem, powers_by_vehicle, run.id)
        run.result_summary = {**run.result_summary, "profile_commands": commands}
        run.finished_at = now()
        controls.link_pending_audits(session, run.id)
        old_runs = select(models.DispatchRun.id).where(models.DispatchRun.site_id == site_id).where(
            models.DispatchRun.started_at < started - KEEP_SETPOINTS
        )
        session.exec(delete(models.Setpoint).where(col(models.Setpoint.run_id).in_(old_runs)))
        return run.id
