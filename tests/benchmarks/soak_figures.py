"""The soak benchmark's figures, computed after the run from the database and the simulator's journal,
and its goals with PASS/FAIL.

- Departures: every ended plug-in session with a vehicle; the target is the one in force (the
  DepartureOutcome row where there is one, else the vehicle's target); "met" and "short" use the
  one tolerance of core.rules.departure_forecast; "reachable" = at full power (charger and vehicle
  maximum, efficiency, taper) from the arrival SoC over the time it was plugged in.
- Limits: net import at every reading instant = building load - PV (the demo profile the site meter
  reads) + the sum of every charger's latest power reading; against the site's import and export
  limits plus the headroom.
- Floors: discharge samples with a SoC below the effective floor (core.rules).
- Out of contact: from the journal's connection changes, kWh discharged in readings taken after a
  charger had been out of contact longer than the bound (core.charging_profiles.offline_fallback_s).
- Readings: acknowledged (journal) against stored (MeterSample rows), both ways, and duplicates.
- Sessions without their vehicle; OCPP 1.6 transaction ids given to two transactions.
- V2G energy (export registers) and revenue (x the export price of the step), the export request's
  ledger, and the week's cost against uncontrolled charging (core.reports "savings").
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import col, func, select

from core import models, signals
from core.charging_profiles import offline_fallback_s
from core.clock import FixedClock, set_clock
from core.config import DEMO_DIR, Settings
from core.db import make_engine, session_scope
from core.demo import read_demo
from core.reports import build_report
from core.rules.departure_forecast import Battery, advance_soc, meets_target, short_kwh
from core.rules.discharge import effective_soc_floor
from core.rules.steps import STEP, floor_step
from core.rules.taper import default_taper_start_soc

# The goals, by key, in the order they are printed.
GOAL_KEYS = ("departures", "import", "export", "floor", "offline", "readings", "vehicle", "tx16")


@dataclass
class Goal:
    """One goal of the issue: its figure, what it should be and whether it is met."""

    key: str
    name: str
    figure: str
    goal: str
    passed: bool


@dataclass
class Figures:
    """Everything the summary prints; `goals` are the lines with PASS/FAIL, `info` the others."""

    goals: list[Goal] = field(default_factory=list)
    info: list[tuple[str, str]] = field(default_factory=list)
    short_departures: list[str] = field(default_factory=list)

    def goal(self, key: str) -> Goal:
        return next(g for g in self.goals if g.key == key)

    @property
    def failed(self) -> list[Goal]:
        return [g for g in self.goals if not g.passed]


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class Journal:
    """The simulator's journal, parsed: acknowledged readings and connection changes per charger."""

    readings: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    connections: dict[str, list[tuple[datetime, bool]]] = field(default_factory=lambda: defaultdict(list))
    powers: list[tuple[datetime, str, float]] = field(default_factory=list)  # (when, charger, kW from then on)
    pending: int = 0  # messages still queued when the simulator stopped

    @classmethod
    def read(cls, path: Path) -> Journal:
        journal = cls()
        if not path.exists():
            return journal
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                if record["e"] == "reading":
                    record["t"], record["a"] = _t(record["t"]), _t(record["a"])
                    journal.readings[record["cp"]].append(record)
                elif record["e"] == "pending":
                    journal.pending += record["n"]
                elif record["e"] == "power":
                    journal.powers.append((_t(record["t"]), record["cp"], record["kw"]))
                else:
                    journal.connections[record["cp"]].append((_t(record["t"]), record["e"] == "connected"))
        for rows in journal.readings.values():
            rows.sort(key=lambda r: r["t"])
        return journal

    def offline_periods(self, charger_id: str, end: datetime) -> list[tuple[datetime, datetime]]:
        periods, since = [], None
        for at, connected in sorted(self.connections.get(charger_id, [])):
            if not connected and since is None:
                since = at
            elif connected and since is not None:
                periods.append((since, at))
                since = None
        if since is not None:
            periods.append((since, end))
        return periods


def measure(
    *, database_url: str, journal_path: Path, start: datetime, end: datetime, headroom: float, speed: float,
    min_real_dispatch_interval_s: float, meter_interval_s: float, outages: list | None = None,
) -> Figures:  # fmt: skip
    """The figures of a finished run (every process stopped)."""
    figures = Figures()
    settings = Settings(clock_speed=speed, min_real_dispatch_interval_s=min_real_dispatch_interval_s)
    bound_s = offline_fallback_s(settings.dispatch_interval_on_clock_s)
    journal = Journal.read(journal_path)
    engine = make_engine(database_url)
    set_clock(FixedClock(end))  # reports and ledgers count open sessions up to "now"
    try:
        with session_scope(engine) as session:
            site = session.exec(select(models.Site)).one()
            _departures(figures, session, site)
            _limits(figures, session, journal, site, start, end, headroom, outages or [])
            _floors(figures, session, site)
            _offline(figures, journal, end, bound_s)
            _readings(figures, session, journal, speed, meter_interval_s)
            _sessions(figures, session, journal)
            _money(figures, session, site, start, end)
            _dispatch(figures, session, settings)
        _costs(figures, engine, site, start, end)
    finally:
        set_clock(None)
        engine.dispose()
    return figures


def _departures(figures: Figures, session, site) -> None:
    chargers = {c.id: c for c in session.exec(select(models.Charger))}
    vehicles = {v.id: v for v in session.exec(select(models.Vehicle))}
    outcomes = {}
    if hasattr(models, "DepartureOutcome"):
        outcomes = {o.session_id: o for o in session.exec(select(models.DepartureOutcome))}
    total = met = unreachable = 0
    short_reachable, short_reachable_kwh, short_unreachable_kwh = 0, 0.0, 0.0
    plugs = session.exec(
        select(models.PlugSession).where(col(models.PlugSession.ended_at).is_not(None)).order_by(models.PlugSession.ended_at)
    ).all()
    for plug in plugs:
        vehicle, charger = vehicles.get(plug.vehicle_id), chargers[plug.charger_id]
        if vehicle is None:
            continue  # counted under "sessions without their vehicle"
        total += 1
        outcome = outcomes.get(plug.id)
        target = outcome.target_soc if outcome is not None else vehicle.target_soc
        soc = plug.soc_end if plug.soc_end is not None else (outcome.soc_at_departure if outcome else None)
        kwh = vehicle.battery_kwh
        battery = Battery(kwh, min(charger.max_charge_kw, vehicle.max_charge_kw), charger.efficiency,
                          default_taper_start_soc(vehicle.kind))  # fmt: skip
        reachable = True
        if plug.soc_start is not None:
            full = advance_soc(plug.soc_start, start=plug.started_at, end=plug.ended_at,
                               schedule=[(plug.started_at, battery.max_charge_kw)], battery=battery)  # fmt: skip
            reachable = meets_target(full, target, kwh)
        if soc is not None and meets_target(soc, target, kwh):
            met += 1
            continue
        missing = short_kwh(soc or 0.0, target, kwh)
        if reachable:
            short_reachable += 1
            short_reachable_kwh += missing
        else:
            unreachable += 1
            short_unreachable_kwh += missing
        soc_text = "unknown" if soc is None else f"{soc * 100:.1f} %"
        figures.short_departures.append(
            f"{vehicle.id} left {plug.ended_at:%a %d %H:%M} UTC at {soc_text} (target {target * 100:.0f} %, "
            f"arrived {(plug.soc_start or 0) * 100:.0f} %): {missing:.1f} kWh short, "
            f"{'reachable' if reachable else 'not reachable'}{f' [{outcome.reason}]' if outcome and outcome.reason else ''}"
        )
    figures.goals.append(Goal(
        "departures", "departures short where the target was reachable",
        f"{short_reachable} of {total} ({met} met, {unreachable} short and unreachable); "
        f"{short_reachable_kwh:.1f} kWh short (+{short_unreachable_kwh:.1f} kWh unreachable)", "0", short_reachable == 0,
    ))  # fmt: skip


# The site meter of the soak: the true net import at the grid connection (demo building load - PV +
# what every station actually draws, from the journal's power changes), read every SITE_METER_S like
# a real meter at the connection. The chargers' own readings (every meter interval) lag a profile
# change by up to an interval, so a sum of them over- or under-states the site in between.
SITE_METER_S = 10.0


def true_net_import(journal: Journal, start: datetime, end: datetime, step_s: float = SITE_METER_S):
    """[(time, net import kW)] every `step_s` from `start` to `end`, from the simulated physics."""
    profile = read_demo(DEMO_DIR).profile
    events = sorted(journal.powers)
    power: dict[str, float] = {}
    k, out, t = 0, [], start
    while t <= end:
        while k < len(events) and events[k][0] <= t:
            power[events[k][1]] = events[k][2]
            k += 1
        building_kw, pv_kw, _, _ = profile.at(t)
        out.append((t, building_kw - pv_kw + sum(power.values())))
        t += timedelta(seconds=step_s)
    return out


def _limits(figures: Figures, session, journal: Journal, site, start, end, headroom: float, outages: list) -> None:
    instants = true_net_import(journal, start, end)
    down = [(o.down_at, o.up_at or end) for o in outages]
    for key, name, limit, sign in (
        ("import", "site meter readings above the import limit", site.import_limit_kw, 1.0),
        ("export", "site meter readings above the export limit", site.export_limit_kw, -1.0),
    ):
        over = [(t, sign * net - limit) for t, net in instants if sign * net > limit * (1 + headroom)]
        worst = max((kw for _, kw in over), default=0.0)
        longest_s, run_start = 0.0, None
        for k, (t, net) in enumerate(instants):
            above = sign * net > limit * (1 + headroom)
            if above and run_start is None:
                run_start = t
            if run_start is not None and (not above or k + 1 == len(instants)):
                longest_s = max(longest_s, (t - run_start).total_seconds())
                run_start = None
        in_outage = sum(1 for t, _ in over if any(a <= t <= b for a, b in down))
        raw = sum(1 for _, net in instants if sign * net > limit)
        figures.goals.append(Goal(
            key, f"{name} + {headroom * 100:.0f} % ({limit:.0f} kW + {limit * headroom:.0f})",
            f"{len(over)} of {len(instants)} readings every {SITE_METER_S:g} s (worst {worst:.1f} kW over the limit, "
            f"longest {longest_s:.0f} s; {in_outage} while the gateway was down; {raw} above the bare limit)",
            "0", not over,
        ))  # fmt: skip
    samples = session.exec(
        select(models.SiteSample.net_import_kw).where(models.SiteSample.time >= start).where(models.SiteSample.time <= end)
    ).all()
    seen_over = sum(1 for net in samples if net > site.import_limit_kw * (1 + headroom))
    figures.info.append((
        "the gateway's own site samples (from the chargers' readings) above the import limit + headroom",
        f"{seen_over} of {len(samples)}",
    ))  # fmt: skip


def _floors(figures: Figures, session, site) -> None:
    vehicles = {v.id: v for v in session.exec(select(models.Vehicle))}
    home = {v.home_charger_id: v for v in vehicles.values()}
    rows = session.exec(
        select(models.MeterSample.charger_id, models.MeterSample.soc, models.PlugSession.vehicle_id)
        .join(models.PlugSession, models.MeterSample.session_id == models.PlugSession.id, isouter=True)
        .where(models.MeterSample.power_kw < -1e-6)
    ).all()
    below, margin = 0, None
    for charger_id, soc, vehicle_id in rows:
        vehicle = vehicles.get(vehicle_id) or home.get(charger_id)
        floor = effective_soc_floor(vehicle, site)
        if soc is None or soc < floor - 1e-9:
            below += 1
        if soc is not None:
            margin = soc - floor if margin is None else min(margin, soc - floor)
    margin_text = "none" if margin is None else f"{margin * 100:+.2f} % SoC"
    figures.goals.append(Goal(
        "floor", "discharge samples below the SoC floor",
        f"{below} of {len(rows)} discharge samples (closest to its floor: {margin_text})", "0", below == 0,
    ))  # fmt: skip


def _offline(figures: Figures, journal: Journal, end: datetime, bound_s: int) -> None:
    kwh, periods, longer, longest = 0.0, 0, 0, 0.0
    culprits = set()
    for charger_id in set(journal.connections) | set(journal.readings):
        readings = journal.readings.get(charger_id, [])
        times = [r["t"] for r in readings]
        for since, until in journal.offline_periods(charger_id, end):
            periods += 1
            length = (until - since).total_seconds()
            longest = max(longest, length)
            if length <= bound_s:
                continue
            longer += 1
            after = since + timedelta(seconds=bound_s)
            for k, r in enumerate(readings):
                if after <= r["t"] < until and r["kw"] < 0:
                    next_t = times[k + 1] if k + 1 < len(times) else until
                    kwh += -r["kw"] * (min(next_t, until) - r["t"]).total_seconds() / 3600
                    culprits.add(charger_id)
    who = f" ({', '.join(sorted(culprits))})" if culprits else ""
    figures.goals.append(Goal(
        "offline", f"kWh discharged out of contact for more than {bound_s / 60:.0f} min",
        f"{kwh:.2f} kWh{who}; {periods} periods out of contact, "
        f"{longer} longer than the bound, longest {longest / 60:.0f} min", "0", kwh < 1e-6,
    ))  # fmt: skip


def _readings(figures: Figures, session, journal: Journal, speed: float, meter_interval_s: float) -> None:
    acknowledged = {(cp, r["t"]) for cp, rows in journal.readings.items() for r in rows}
    stored_rows = session.exec(select(models.MeterSample.charger_id, models.MeterSample.time)).all()
    stored = set(stored_rows)
    duplicates = len(stored_rows) - len(stored)
    missing, extra = len(acknowledged - stored), len(stored - acknowledged)
    figures.goals.append(Goal(
        "readings", "readings acknowledged vs stored",
        f"{len(acknowledged)} acknowledged, {len(stored)} stored: {missing} acknowledged but not stored, "
        f"{extra} stored but never acknowledged, {duplicates} duplicate rows", "equal, no duplicate",
        missing == 0 and extra == 0 and duplicates == 0,
    ))  # fmt: skip
    # How far behind the gateway is: reading taken -> answered, for readings that met no outage.
    lags = []
    for cp, rows in journal.readings.items():
        periods = journal.offline_periods(cp, datetime.max.replace(tzinfo=rows[0]["t"].tzinfo)) if rows else []
        lags += [(r["a"] - r["t"]).total_seconds() for r in rows
                 if not r["off"] and not any(since <= r["a"] and r["t"] <= until for since, until in periods)]  # fmt: skip
    lags.sort()
    if lags:
        p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        figures.info.append((
            "gateway keeps up (reading taken -> acknowledged, for readings that met no outage)",
            f"p50 {p50:.1f} s, p99 {p99:.1f} s, max {lags[-1]:.0f} s console = p99 {p99 / speed * 1000:.0f} ms real "
            f"(meter interval {meter_interval_s:.0f} s console)",
        ))  # fmt: skip
    taken_offline = sum(1 for rows in journal.readings.values() for r in rows if r["off"])
    figures.info.append(("readings taken out of contact and delivered later", str(taken_offline)))
    figures.info.append(("messages still queued when the simulator stopped (after its drain)", str(journal.pending)))


def _sessions(figures: Figures, session, journal: Journal) -> None:
    without = session.exec(select(func.count()).where(col(models.PlugSession.vehicle_id).is_(None))).one()
    total = session.exec(select(func.count()).select_from(models.PlugSession)).one()
    figures.goals.append(Goal("vehicle", "sessions without their vehicle", f"{without} of {total}", "0", without == 0))
    one_six = select(models.Charger.id).where(models.Charger.protocol == "1.6")
    stored_twice = session.exec(
        select(models.PlugSession.transaction_id)
        .where(col(models.PlugSession.charger_id).in_(one_six))
        .group_by(models.PlugSession.transaction_id)
        .having(func.count() > 1)
    ).all()
    given: dict[int, set] = defaultdict(set)
    for cp, rows in journal.readings.items():
        for r in rows:
            if r["kind"] == "start" and r["id"] is not None:
                given[r["id"]].add((cp, r["tx"]))
    reused = {i for i, owners in given.items() if len(owners) > 1} | {int(t) for t in stored_twice}
    figures.goals.append(Goal(
        "tx16", "OCPP 1.6 transaction ids reused",
        f"{len(reused)} of {len(given)} ids given{f' ({sorted(reused)[:5]})' if reused else ''}", "0", not reused,
    ))  # fmt: skip


def _money(figures: Figures, session, site, start: datetime, end: datetime) -> None:
    first = floor_step(start)
    steps = int((end - first) / STEP) + 1
    prices = {p.start: p for p in signals.price_steps(session=session, site=site, start=first, steps=steps,
                                                        profile=read_demo(DEMO_DIR).profile)}  # fmt: skip
    rows = session.exec(
        select(models.MeterSample.charger_id, models.MeterSample.time, models.MeterSample.energy_export_kwh)
        .where(col(models.MeterSample.energy_export_kwh).is_not(None))
        .where(models.MeterSample.time >= start)
        .order_by(models.MeterSample.charger_id, models.MeterSample.time)
    ).all()
    kwh = revenue = 0.0
    for (cp_a, t_a, e_a), (cp_b, _, e_b) in zip(rows, rows[1:], strict=False):
        if cp_a == cp_b and e_b > e_a:
            price = prices.get(floor_step(t_a))
            kwh += e_b - e_a
            revenue += (e_b - e_a) * (price.export_price_per_kwh if price else 0.0)
    figures.info.append(("V2G energy discharged, revenue at the export price",
                         f"{kwh:.1f} kWh, {revenue:.2f} {site.currency}"))  # fmt: skip
    for event in signals.event_summaries(session=session, site_id=site.id, start=start, end=end, at=end):
        if event.kind == "export_request":
            figures.info.append((
                f"export request {event.start:%a %H:%M}-{event.end:%H:%M} UTC, {event.committed_kw:.0f} kW",
                f"delivered {event.delivered_kwh or 0:.1f} of {event.committed_kwh or 0:.1f} kWh "
                f"({event.performance_pct or 0:.0f} %), reward {event.reward:.2f} {site.currency}",
            ))  # fmt: skip


def _costs(figures: Figures, engine, site, start: datetime, end: datetime) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(site.timezone)
    frame = build_report("savings", date_from=start.astimezone(tz).date(), date_to=end.astimezone(tz).date(),
                         site_id=site.id, engine=engine).frame  # fmt: skip
    c = site.currency.lower()
    actual, uncontrolled = frame[f"actual_cost_{c}"].sum(), frame[f"uncontrolled_cost_{c}"].sum()
    figures.info.append((
        "cost against uncontrolled charging (site meter, core.reports savings)",
        f"{actual:.2f} vs {uncontrolled:.2f} {site.currency}: saved {uncontrolled - actual:.2f}; "
        f"peak import {frame['actual_peak_import_kw'].max():.0f} vs {frame['uncontrolled_peak_import_kw'].max():.0f} kW",
    ))  # fmt: skip


def _dispatch(figures: Figures, session, settings: Settings) -> None:
    runs = session.exec(select(models.DispatchRun.status, models.DispatchRun.solve_time_s)).all()
    by_status: dict[str, int] = defaultdict(int)
    for status, _ in runs:
        by_status[status] += 1
    solve = [s for _, s in runs if s is not None]
    median = f", solve median {statistics.median(solve):.2f} s, max {max(solve):.2f} s" if solve else ""
    figures.info.append((
        f"dispatch runs (every {settings.dispatch_interval_on_clock_s:.0f} s console at most)",
        f"{len(runs)}: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) + median,
    ))
