"""The ledger of grid events: per 15-minute interval, what was committed, what the meters show was
delivered, and the reward with each vehicle's share (`refresh_ledger`); totals per event
(`summarize`, `event_summaries`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from core import models
from core.clock import now
from core.rules.steps import HOURS_PER_STEP, STEP, floor_step
from core.signals.grid_events import SIGNAL_KINDS

# An event that ended this long ago has had its late meter readings: its ledger is final.
SETTLE_AFTER = timedelta(hours=1)


def refresh_ledger(
    *, session: Session, signal: models.GridSignal, at: datetime | None = None
) -> list[models.GridEventLedger]:
    """Recompute the ledger of one event from the meters, for every 15-minute interval that has ended.

    Delivered kW is the mean of the site meter over the interval: net export for an export request,
    net import for an import cap. The reward of an export request is min(delivered, committed) x
    0.25 h x reward per kWh (only when opted in); each vehicle's part of it is its share of the
    energy discharged in the interval (from the chargers' meters).
    """
    at = at or now()
    session.exec(delete(models.GridEventLedger).where(models.GridEventLedger.signal_id == signal.id))
    until = min(signal.end, at)
    if until <= signal.start:
        return []
    first = floor_step(signal.start)
    site_rows = session.exec(
        select(models.SiteSample.time, models.SiteSample.net_import_kw)
        .where(models.SiteSample.site_id == signal.site_id)
        .where(models.SiteSample.time >= first)
        .where(models.SiteSample.time < until)
    ).all()
    net: dict[datetime, list[float]] = defaultdict(list)
    for t, kw in site_rows:
        net[floor_step(t)].append(kw)
    chargers = select(models.Charger.id).where(models.Charger.site_id == signal.site_id)
    meter_rows = session.exec(
        select(
            models.MeterSample.time,
            models.MeterSample.charger_id,
            models.MeterSample.power_kw,
            models.PlugSession.vehicle_id,
        )
        .join(models.PlugSession, models.MeterSample.session_id == models.PlugSession.id, isouter=True)
        .where(col(models.MeterSample.charger_id).in_(chargers))
        .where(models.MeterSample.time >= first)
        .where(models.MeterSample.time < until)
    ).all()
    discharge: dict[datetime, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    for t, charger_id, power_kw, vehicle_id in meter_rows:
        if power_kw is not None:
            discharge[floor_step(t)][(charger_id, vehicle_id or charger_id)].append(max(0.0, -power_kw))
    entries = []
    t = first
    while t < until and t + STEP <= at:
        samples = net.get(t)
        delivered = None
        if samples:
            mean_net = sum(samples) / len(samples)
            delivered = max(0.0, -mean_net) if signal.kind == "export_request" else mean_net
        per_vehicle: dict[str, float] = defaultdict(float)
        for (_, who), values in discharge.get(t, {}).items():
            per_vehicle[who] += sum(values) / len(values) * HOURS_PER_STEP
        reward = 0.0
        if signal.kind == "export_request" and signal.opted_in and delivered is not None:
            reward = min(delivered, signal.kw) * HOURS_PER_STEP * signal.reward_per_kwh
        entry = models.GridEventLedger(
            signal_id=signal.id,
            start=t,
            end=t + STEP,
            committed_kw=signal.kw,
            delivered_kw=delivered,
            reward=reward,
            vehicles={k: round(v, 4) for k, v in per_vehicle.items() if v > 0},
        )
        session.add(entry)
        entries.append(entry)
        t += STEP
    return entries


@dataclass(frozen=True)
class EventSummary:
    """An event's totals over its ledger (energy in kWh, reward in the site's currency)."""

    id: int
    kind: str
    source: str
    start: datetime
    end: datetime
    committed_kw: float
    reward_per_kwh: float
    intervals: int
    committed_kwh: float | None
    delivered_kwh: float | None
    performance_pct: float | None
    reward: float
    vehicle_discharge_kwh: dict[str, float]
    vehicle_reward: dict[str, float]  # the reward shared by each vehicle's part of the interval's discharge


def summarize(signal: models.GridSignal, entries: list[models.GridEventLedger]) -> EventSummary:
    """Totals of an event's ledger. Performance: delivered / committed energy for an export request,
    the share of intervals that stayed under the cap for an import cap."""
    measured = [e for e in entries if e.delivered_kw is not None]
    # A cap commits to a ceiling, not to energy: no committed kWh; delivered kWh is what was imported.
    committed_kwh = sum(e.committed_kw * HOURS_PER_STEP for e in entries) if signal.kind == "export_request" else None
    delivered_kwh = sum(e.delivered_kw * HOURS_PER_STEP for e in measured) if measured else None
    performance = None
    if measured:
        if signal.kind == "export_request":
            performance = 100.0 * sum(e.delivered_kw for e in measured) / sum(e.committed_kw for e in measured)
        else:
            performance = 100.0 * sum(1 for e in measured if e.delivered_kw <= e.committed_kw + 1e-9) / len(measured)
    vehicles: dict[str, float] = defaultdict(float)
    rewards: dict[str, float] = defaultdict(float)
    for e in entries:
        total = sum(e.vehicles.values())
        for who, kwh in e.vehicles.items():
            vehicles[who] += kwh
            rewards[who] += e.reward * kwh / total if total > 0 else 0.0
    return EventSummary(
        signal.id,
        signal.kind,
        signal.source,
        signal.start,
        signal.end,
        signal.kw,
        signal.reward_per_kwh,
        len(entries),
        committed_kwh,
        delivered_kwh,
        performance,
        sum(e.reward for e in entries),
        dict(vehicles),
        dict(rewards),
    )


def event_summaries(
    *, session: Session, site_id: str, start: datetime, end: datetime, at: datetime | None = None
) -> list[EventSummary]:
    """Every import cap and export request overlapping [start, end), its ledger brought up to date.

    An event that ended more than SETTLE_AFTER ago and has its ledger is settled: its stored ledger
    is used as it is (late meter readings have arrived by then), so polling pages do not rewrite it.
    """
    at = at or now()
    signals = session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site_id)
        .where(col(models.GridSignal.kind).in_(SIGNAL_KINDS))
        .where(models.GridSignal.end > start)
        .where(models.GridSignal.start < end)
        .order_by(models.GridSignal.start, models.GridSignal.id)
    ).all()
    out = []
    for s in signals:
        entries = []
        if s.end + SETTLE_AFTER < at:
            entries = list(
                session.exec(
                    select(models.GridEventLedger)
                    .where(models.GridEventLedger.signal_id == s.id)
                    .order_by(models.GridEventLedger.start)
                ).all()
            )
        if not entries:
            entries = refresh_ledger(session=session, signal=s, at=at)
        out.append(summarize(s, entries))
    return out
