"""The chargers as the pages show them: connection, power, the last profile and its answer, what
the charger can do (core.rules.discharge), and the compliance check "ignores its profile"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import models
from core.clock import now
from core.config import get_settings
from core.db import session_scope
from core.planning import schedule_power_at
from core.rules.discharge import charger_discharge_note
from core.telemetry.readings import NO_READING, Reading, latest_samples, reading


@dataclass(frozen=True)
class ChargerState:
    """A charger now; `ignores_profile` when its metered power kept far from its accepted setpoint."""

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


def _recent_samples(session: Session, charger_ids: list[str], count: int) -> dict[str, list[models.MeterSample]]:
    """Each charger's newest `count` samples of the last minute (or few meter intervals), newest first."""
    since = now() - timedelta(seconds=max(60.0, (count + 1) * get_settings().meter_interval_s))
    out: dict[str, list[models.MeterSample]] = {}
    for s in session.exec(
        select(models.MeterSample)
        .where(col(models.MeterSample.charger_id).in_(charger_ids))
        .where(models.MeterSample.time >= since)
        .order_by(models.MeterSample.charger_id, col(models.MeterSample.time).desc())
    ):
        newest = out.setdefault(s.charger_id, [])
        if len(newest) < count:
            newest.append(s)
    return out


def _latest_commands(
    session: Session, charger_ids: list[str], status: str | None = None
) -> dict[str, models.ChargingProfileCommand]:
    """Each charger's latest charging-profile command (with `status`, when given)."""
    command = models.ChargingProfileCommand
    latest = select(func.max(command.id)).where(col(command.charger_id).in_(charger_ids)).group_by(command.charger_id)
    if status is not None:
        latest = latest.where(command.status == status)
    return {c.charger_id: c for c in session.exec(select(command).where(col(command.id).in_(latest)))}


def ignores_profile(
    charger: models.Charger, accepted: models.ChargingProfileCommand | None, samples: list[models.MeterSample]
) -> bool:
    """Whether the charger's last IGNORE_SAMPLES samples (newest first) all keep far from the setpoint
    of its last accepted profile, all taken after the charger accepted it."""
    if not (accepted and accepted.schedule and accepted.answered_at) or len(samples) != IGNORE_SAMPLES:
        return False
    tolerance_kw = max(2.0, 0.1 * charger.max_charge_kw)
    for s in samples:
        target = schedule_power_at(accepted.schedule, s.time)
        if target is None or s.power_kw is None or s.time < accepted.answered_at:
            return False
        # A vehicle may take less than allowed (full battery): only more than the setpoint, or
        # discharging when told to charge or rest, counts as ignoring it.
        if not (s.power_kw - target > tolerance_kw or (target >= 0 and s.power_kw < -tolerance_kw)):
            return False
    return True


def charger_states(site_id: str, *, engine: Engine | None = None) -> list[ChargerState]:
    """Every charger: connection, status, power, the last profile sent and its answer, and whether
    it ignores its profile (metered power far from the setpoint over the last few samples)."""
    states = []
    with session_scope(engine) as session:
        chargers = session.exec(
            select(models.Charger).where(models.Charger.site_id == site_id).order_by(models.Charger.id)
        ).all()
        ids = [c.id for c in chargers]
        latest = latest_samples(session=session, charger_ids=ids)
        recent = _recent_samples(session, ids, IGNORE_SAMPLES)
        last_command = _latest_commands(session, ids)
        last_accepted = _latest_commands(session, ids, status="Accepted")
        for c in chargers:
            command = last_command.get(c.id)
            newest = latest.get(c.id)
            states.append(
                ChargerState(
                    charger_id=c.id,
                    protocol=c.protocol,
                    connected=c.connected,
                    status=c.status,
                    last_seen=c.last_seen,
                    power_kw=reading(newest.power_kw, newest.time) if newest else NO_READING,
                    max_charge_kw=c.max_charge_kw,
                    max_discharge_kw=c.max_discharge_kw,
                    discharge_note=charger_discharge_note(c),
                    last_command_status=command.status if command else "none",
                    last_command_at=(command.answered_at or command.sent_at or command.created_at) if command else None,
                    setpoint_kw=schedule_power_at(command.schedule, now()) if command else None,
                    ignores_profile=ignores_profile(c, last_accepted.get(c.id), recent.get(c.id, [])),
                )
            )
    return states
