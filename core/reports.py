"""CSV reports: site energy, sessions, savings, grid events, audit log, dispatch runs.

    python -m core.reports NAME --from YYYY-MM-DD --to YYYY-MM-DD [--site ID] -o FILE.csv

NAME is one of site-energy, sessions, savings, grid-events, audit, dispatch-runs. The Reports page
and the command line call the same `build_report`, so they give the same numbers.

Conventions: a header row; units in the column names (`energy_kwh`, `cost_eur`, the currency from
the site); timestamps ISO 8601 with the UTC offset, in the site's time zone; '.' as the decimal
mark; UTF-8. --from and --to are local dates in the site's time zone, both included.

How the numbers are made:
- Site energy: the site meter's readings averaged per 15-minute interval; energy = mean kW x 0.25 h.
  Net import and export come from the interval's mean net power. Cost = import kWh x import price -
  export kWh x export price, with the price dispatch used (`price_source` says when it was assumed).
- Sessions: per plug-in, from the charger's meter readings averaged per 15 minutes: charged and
  discharged kWh, their cost at the import price and revenue at the export price, degradation cost
  = discharged kWh x the site's degradation cost per kWh. The floor column counts minutes of
  discharging below the vehicle's SoC floor (it should be 0).
- Savings: per day, the actual cost against an uncontrolled counterfactual in which every session
  charges at full power from arrival until it has taken the energy to its target (same building and
  PV), and the highest 15-minute net import both ways.
- Grid events: per event, committed and delivered energy, performance and reward, and each vehicle's
  discharged kWh and share of the reward (by its part of each interval's discharge; core.signals).
  For an import cap, delivered_kwh is the energy imported during the cap and performance the share
  of 15-minute intervals whose mean import stayed at or under it; it has no committed kWh.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import models, signals
from core.clock import now
from core.db import session_scope

STEP = timedelta(minutes=15)
HOURS_PER_STEP = 0.25
MAX_DAYS = 366


class ReportError(ValueError):
    """A report request that cannot be answered (unknown name, bad dates)."""


@dataclass(frozen=True)
class Report:
    name: str
    frame: pd.DataFrame
    filename: str

    def to_csv(self) -> str:
        return self.frame.to_csv(index=False, lineterminator="\n")


@dataclass(frozen=True)
class Context:
    session: Session
    site: models.Site
    tz: ZoneInfo
    start: datetime  # UTC, first instant of --from
    end: datetime  # UTC, first instant after --to
    cur: str  # currency, lower case, for column names

    def iso(self, t: datetime | None) -> str:
        return "" if t is None else t.astimezone(self.tz).isoformat()


def _floor(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


# --- the intervals shared by several reports ------------------------------------------------


@dataclass
class Interval:
    start: datetime
    building_kw: float
    pv_kw: float
    ev_kw: float
    ev_charge_kw: float
    ev_discharge_kw: float
    net_kw: float
    import_price: float = 0.0
    export_price: float = 0.0
    price_source: str = ""

    @property
    def import_kwh(self) -> float:
        return max(0.0, self.net_kw) * HOURS_PER_STEP

    @property
    def export_kwh(self) -> float:
        return max(0.0, -self.net_kw) * HOURS_PER_STEP

    def cost(self, net_kw: float | None = None) -> float:
        net = self.net_kw if net_kw is None else net_kw
        return max(0.0, net) * HOURS_PER_STEP * self.import_price - max(0.0, -net) * HOURS_PER_STEP * self.export_price


def _intervals(ctx: Context) -> list[Interval]:
    """The site meter's readings averaged per 15-minute interval (only intervals that have readings)."""
    t = models.SiteSample
    rows = ctx.session.exec(
        select(t.time, t.building_load_kw, t.pv_kw, t.ev_power_kw, t.ev_charge_kw, t.ev_discharge_kw, t.net_import_kw)
        .where(t.site_id == ctx.site.id)
        .where(t.time >= ctx.start)
        .where(t.time < ctx.end)
    ).all()
    # Per interval: count and the sums of building, PV, EV, EV charge, EV discharge, net.
    sums: dict[datetime, list[float]] = {}
    for time_, building, pv, ev, charge, discharge, net in rows:
        if not (charge or discharge):  # a reading without the split: take it from the signed EV power
            charge, discharge = max(0.0, ev), max(0.0, -ev)
        acc = sums.setdefault(_floor(time_), [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        acc[0] += 1
        for k, value in enumerate((building, pv, ev, charge, discharge, net), start=1):
            acc[k] += value
    out = [Interval(start, *(value / acc[0] for value in acc[1:])) for start, acc in sorted(sums.items())]
    _attach_prices(ctx, out)
    return out


def _price_lookup(ctx: Context) -> dict[datetime, signals.PriceStep]:
    steps = int((ctx.end - ctx.start) / STEP)
    prices = signals.price_steps(ctx.session, ctx.site, ctx.start, steps, signals.demo_profile())
    return {p.start: p for p in prices}


def _attach_prices(ctx: Context, intervals: list[Interval]) -> None:
    prices = _price_lookup(ctx)
    for iv in intervals:
        p = prices.get(iv.start)
        if p is not None:
            iv.import_price, iv.export_price, iv.price_source = p.import_price_per_kwh, p.export_price_per_kwh, p.source


# --- reports --------------------------------------------------------------------------------


def site_energy(ctx: Context) -> pd.DataFrame:
    c = ctx.cur
    rows = [
        {
            "interval_start": ctx.iso(iv.start),
            "building_load_kwh": round(iv.building_kw * HOURS_PER_STEP, 3),
            "pv_kwh": round(iv.pv_kw * HOURS_PER_STEP, 3),
            "ev_charge_kwh": round(iv.ev_charge_kw * HOURS_PER_STEP, 3),
            "ev_discharge_kwh": round(iv.ev_discharge_kw * HOURS_PER_STEP, 3),
            "net_import_kwh": round(iv.import_kwh, 3),
            "net_export_kwh": round(iv.export_kwh, 3),
            f"import_price_{c}_per_kwh": round(iv.import_price, 5),
            f"export_price_{c}_per_kwh": round(iv.export_price, 5),
            "price_source": iv.price_source,
            f"cost_{c}": round(iv.cost(), 4),
        }
        for iv in _intervals(ctx)
    ]
    columns = [
        "interval_start", "building_load_kwh", "pv_kwh", "ev_charge_kwh", "ev_discharge_kwh", "net_import_kwh",
        "net_export_kwh", f"import_price_{c}_per_kwh", f"export_price_{c}_per_kwh", "price_source", f"cost_{c}",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _session_rows(ctx: Context) -> list[tuple[models.PlugSession, models.Vehicle | None, models.Charger]]:
    chargers = {c.id: c for c in ctx.session.exec(select(models.Charger).where(models.Charger.site_id == ctx.site.id))}
    plugs = ctx.session.exec(
        select(models.PlugSession)
        .where(col(models.PlugSession.charger_id).in_(list(chargers)))
        .where(models.PlugSession.started_at >= ctx.start)
        .where(models.PlugSession.started_at < ctx.end)
        .order_by(models.PlugSession.started_at, models.PlugSession.id)
    ).all()
    return [
        (p, ctx.session.get(models.Vehicle, p.vehicle_id) if p.vehicle_id else None, chargers[p.charger_id])
        for p in plugs
    ]


def _session_samples(ctx: Context, plug: models.PlugSession) -> list[models.MeterSample]:
    end = plug.ended_at or now()
    return ctx.session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == plug.charger_id)
        .where(models.MeterSample.time >= plug.started_at)
        .where(models.MeterSample.time < end)
        .order_by(models.MeterSample.time)
    ).all()


def sessions(ctx: Context) -> pd.DataFrame:
    c = ctx.cur
    prices: dict[datetime, signals.PriceStep] = {}
    rows = []
    for plug, vehicle, _charger in _session_rows(ctx):
        samples = _session_samples(ctx, plug)
        buckets: dict[datetime, list[float]] = defaultdict(list)
        for s in samples:
            if s.power_kw is not None:
                buckets[_floor(s.time)].append(s.power_kw)
        missing = [t for t in buckets if t not in prices]
        if missing:
            steps = int((max(missing) - min(missing)) / STEP) + 1
            prices.update(
                {
                    p.start: p
                    for p in signals.price_steps(ctx.session, ctx.site, min(missing), steps, signals.demo_profile())
                }
            )
        charged = discharged = cost = revenue = 0.0
        for t, powers in buckets.items():
            charge_kwh = sum(max(0.0, p) for p in powers) / len(powers) * HOURS_PER_STEP
            discharge_kwh = sum(max(0.0, -p) for p in powers) / len(powers) * HOURS_PER_STEP
            charged += charge_kwh
            discharged += discharge_kwh
            cost += charge_kwh * prices[t].import_price_per_kwh
            revenue += discharge_kwh * prices[t].export_price_per_kwh
        socs = [s for s in samples if s.soc is not None]
        soc_start = plug.soc_start if plug.soc_start is not None else (socs[0].soc if socs else None)
        soc_end = plug.soc_end if plug.soc_end is not None else (socs[-1].soc if socs else None)
        target = vehicle.target_soc if vehicle else None
        met, shortfall = "", None
        if plug.ended_at is not None and target is not None and soc_end is not None:
            short = max(0.0, target - soc_end)
            met = "yes" if short < 0.005 else "no"
            shortfall = round(short * vehicle.battery_kwh, 3) if met == "no" else 0.0
        below = 0.0
        if vehicle is not None:
            floor = models.effective_soc_floor(vehicle, ctx.site)
            end = plug.ended_at or now()
            for k, s in enumerate(samples):
                if s.soc is not None and s.soc < floor - 1e-9 and (s.power_kw or 0.0) < 0:
                    following = samples[k + 1].time if k + 1 < len(samples) else end
                    below += (following - s.time).total_seconds() / 60
        rows.append(
            {
                "session_id": plug.id,
                "vehicle": vehicle.name if vehicle else "",
                "vehicle_id": plug.vehicle_id or "",
                "charger_id": plug.charger_id,
                "arrival": ctx.iso(plug.started_at),
                "departure": ctx.iso(plug.ended_at),
                "energy_charged_kwh": round(charged, 3),
                "energy_discharged_kwh": round(discharged, 3),
                "soc_arrival_pct": None if soc_start is None else round(soc_start * 100, 1),
                "soc_departure_pct": None if soc_end is None else round(soc_end * 100, 1),
                "target_soc_pct": None if target is None else round(target * 100, 1),
                "target_met": met,
                "shortfall_kwh": shortfall,
                "minutes_discharging_below_floor": round(below, 1),
                f"energy_cost_{c}": round(cost, 4),
                f"v2g_revenue_{c}": round(revenue, 4),
                f"degradation_cost_{c}": round(discharged * ctx.site.degradation_cost_per_kwh, 4),
            }
        )
    columns = [
        "session_id", "vehicle", "vehicle_id", "charger_id", "arrival", "departure", "energy_charged_kwh",
        "energy_discharged_kwh", "soc_arrival_pct", "soc_departure_pct", "target_soc_pct", "target_met",
        "shortfall_kwh", "minutes_discharging_below_floor", f"energy_cost_{c}", f"v2g_revenue_{c}",
        f"degradation_cost_{c}",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def uncontrolled_ev_kw(ctx: Context) -> dict[datetime, float]:
    """The counterfactual: each session at full power from arrival until its energy to target is in.

    Energy to target = (target SoC - arrival SoC) x battery kWh; full power = the lower of the
    charger's and the vehicle's maximum; the last interval takes only what is left.
    """
    ev: dict[datetime, float] = defaultdict(float)
    for plug, vehicle, charger in _session_rows(ctx):
        if vehicle is None:
            continue
        samples = [s for s in _session_samples(ctx, plug) if s.soc is not None]
        soc_start = plug.soc_start if plug.soc_start is not None else (samples[0].soc if samples else None)
        if soc_start is None:
            continue
        need = max(0.0, vehicle.target_soc - soc_start) * vehicle.battery_kwh
        full_kw = min(charger.max_charge_kw, vehicle.max_charge_kw)
        end = plug.ended_at or now()
        t = plug.started_at
        while need > 1e-9 and t < end and full_kw > 0:
            step_end = min(_floor(t) + STEP, end)
            kwh = min(need, full_kw * (step_end - t).total_seconds() / 3600)
            ev[_floor(t)] += kwh / HOURS_PER_STEP  # as the interval's mean kW
            need -= kwh
            t = step_end
    return ev


def savings(ctx: Context) -> pd.DataFrame:
    c = ctx.cur
    counterfactual = uncontrolled_ev_kw(ctx)
    days: dict[date, dict[str, float]] = {}
    for iv in _intervals(ctx):
        day = days.setdefault(iv.start.astimezone(ctx.tz).date(), defaultdict(float))
        uncontrolled_net = iv.net_kw - iv.ev_kw + counterfactual.get(iv.start, 0.0)
        day["actual"] += iv.cost()
        day["uncontrolled"] += iv.cost(uncontrolled_net)
        day["actual_peak"] = max(day["actual_peak"], iv.net_kw)
        day["uncontrolled_peak"] = max(day["uncontrolled_peak"], uncontrolled_net)
    rows = [
        {
            "date": d.isoformat(),
            f"actual_cost_{c}": round(v["actual"], 4),
            f"uncontrolled_cost_{c}": round(v["uncontrolled"], 4),
            f"savings_{c}": round(v["uncontrolled"] - v["actual"], 4),
            "actual_peak_import_kw": round(v["actual_peak"], 3),
            "uncontrolled_peak_import_kw": round(v["uncontrolled_peak"], 3),
        }
        for d, v in sorted(days.items())
    ]
    columns = [
        "date", f"actual_cost_{c}", f"uncontrolled_cost_{c}", f"savings_{c}", "actual_peak_import_kw",
        "uncontrolled_peak_import_kw",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def grid_events(ctx: Context) -> pd.DataFrame:
    c = ctx.cur
    rows = []
    for e in signals.event_summaries(session=ctx.session, site_id=ctx.site.id, start=ctx.start, end=ctx.end):
        rows.append(
            {
                "event_id": e.id,
                "kind": e.kind,
                "source": e.source,
                "start": ctx.iso(e.start),
                "end": ctx.iso(e.end),
                "committed_kw": round(e.committed_kw, 3),
                "committed_kwh": None if e.committed_kwh is None else round(e.committed_kwh, 3),
                "delivered_kwh": None if e.delivered_kwh is None else round(e.delivered_kwh, 3),
                "performance_pct": None if e.performance_pct is None else round(e.performance_pct, 1),
                f"reward_{c}_per_kwh": e.reward_per_kwh,
                f"reward_{c}": round(e.reward, 4),
                "vehicle_discharge_kwh": "; ".join(f"{k}={v:.3f}" for k, v in sorted(e.vehicle_discharge_kwh.items())),
                f"vehicle_reward_{c}": "; ".join(f"{k}={v:.4f}" for k, v in sorted(e.vehicle_reward.items())),
            }
        )
    columns = [
        "event_id", "kind", "source", "start", "end", "committed_kw", "committed_kwh", "delivered_kwh",
        "performance_pct", f"reward_{c}_per_kwh", f"reward_{c}", "vehicle_discharge_kwh", f"vehicle_reward_{c}",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def audit(ctx: Context) -> pd.DataFrame:
    import json

    events = ctx.session.exec(
        select(models.AuditEvent)
        .where(models.AuditEvent.time >= ctx.start)
        .where(models.AuditEvent.time < ctx.end)
        .order_by(models.AuditEvent.time, models.AuditEvent.id)
    ).all()
    rows = [
        {
            "time": ctx.iso(e.time),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "before": json.dumps(e.before, sort_keys=True),
            "after": json.dumps(e.after, sort_keys=True),
            "dispatch_run_id": e.dispatch_run_id,
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=["time", "actor", "action", "target", "before", "after", "dispatch_run_id"])


def dispatch_runs(ctx: Context) -> pd.DataFrame:
    c = ctx.cur
    runs = ctx.session.exec(
        select(models.DispatchRun)
        .where(models.DispatchRun.site_id == ctx.site.id)
        .where(models.DispatchRun.started_at >= ctx.start)
        .where(models.DispatchRun.started_at < ctx.end)
        .order_by(models.DispatchRun.started_at, models.DispatchRun.id)
    ).all()
    rows = [
        {
            "run_id": r.id,
            "started": ctx.iso(r.started_at),
            "finished": ctx.iso(r.finished_at),
            "status": r.status,
            f"objective_{c}": None if r.objective is None else round(r.objective, 4),
            "solve_time_s": None if r.solve_time_s is None else round(r.solve_time_s, 3),
            "trigger": r.trigger,
            "message": r.message,
        }
        for r in runs
    ]
    columns = ["run_id", "started", "finished", "status", f"objective_{c}", "solve_time_s", "trigger", "message"]
    return pd.DataFrame(rows, columns=columns)


REPORTS: dict[str, tuple[str, Callable[[Context], pd.DataFrame]]] = {
    "site-energy": ("Site energy per 15 minutes", site_energy),
    "sessions": ("Plug-in sessions", sessions),
    "savings": ("Savings per day", savings),
    "grid-events": ("Grid events", grid_events),
    "audit": ("Audit log", audit),
    "dispatch-runs": ("Dispatch runs", dispatch_runs),
}


def local_range(timezone: str, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC instants of the start of `date_from` and the end of `date_to`, local dates, inclusive."""
    if date_to < date_from:
        raise ReportError(f"the end date {date_to} is before the start date {date_from}")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ReportError(f"at most {MAX_DAYS} days per report")
    tz = ZoneInfo(timezone)
    utc = ZoneInfo("UTC")
    start = datetime.combine(date_from, time(0), tzinfo=tz).astimezone(utc)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz).astimezone(utc)
    return start, end


def build_report(
    name: str, *, date_from: date, date_to: date, site_id: str | None = None, engine: Engine | None = None
) -> Report:
    """The report `name` for the site over local dates [date_from, date_to]."""
    if name not in REPORTS:
        raise ReportError(f"unknown report {name!r}; one of {', '.join(REPORTS)}")
    from core.telemetry import default_site_id

    site_id = site_id or default_site_id(engine)
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None:
            raise ReportError(f"no site {site_id!r}")
        start, end = local_range(site.timezone, date_from, date_to)
        ctx = Context(session, site, ZoneInfo(site.timezone), start, end, site.currency.lower())
        frame = REPORTS[name][1](ctx)
    return Report(name, frame, f"{name}_{site_id}_{date_from.isoformat()}_{date_to.isoformat()}.csv")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.reports", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", choices=list(REPORTS))
    parser.add_argument("--from", dest="date_from", type=_date, required=True, help="first local date, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", type=_date, required=True, help="last local date, included")
    parser.add_argument("--site", help="site id (default: the first site)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write ('-' for stdout)")
    args = parser.parse_args(argv)
    from core.db import init_db
    from core.telemetry import NoSiteError

    init_db()
    try:
        report = build_report(args.name, date_from=args.date_from, date_to=args.date_to, site_id=args.site)
    except (ReportError, NoSiteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if str(args.output) == "-":
        sys.stdout.write(report.to_csv())
    else:
        args.output.write_text(report.to_csv(), encoding="utf-8")
        print(f"{args.name}: {len(report.frame)} rows -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
