"""The short profiles the gateway itself sends between plans (the site-limit guard's caps, the vehicle
watch's boosts and floor holds): one charging profile above the dispatch one, queued in the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core import models
from core.charging_profiles import GUARD_PROFILE_ID, GUARD_STACK_LEVEL, build_charging_profile


def queue_guard_profile(
    *, session: Session, charger: models.Charger, transaction_id: str | None, power_kw: float,
    at: datetime, until: datetime, action: str,
) -> None:
    """An outbox command (`action` "guard" or "boost"): `power_kw` from `at` until `until`, at
    GUARD_STACK_LEVEL (above the dispatch profile, which applies again once it ends)."""
    payload = build_charging_profile(
        protocol=charger.protocol, periods=[(at, power_kw)], max_charge_kw=charger.max_charge_kw,
        max_discharge_kw=charger.max_discharge_kw, accepts_negative_limits=charger.accepts_negative_limits,
        transaction_id=transaction_id, end=until, profile_id=GUARD_PROFILE_ID, stack_level=GUARD_STACK_LEVEL,
    )  # fmt: skip
    session.add(
        models.ChargingProfileCommand(
            charger_id=charger.id, action=action, payload=payload, schedule=[[at.isoformat(), power_kw]]
        )
    )
