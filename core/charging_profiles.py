"""A power setpoint schedule -> the OCPP SetChargingProfile payload: the ONE place that does it.

Pure functions, no I/O, and no import of the `ocpp` library, so that `core/planning` can build
the payloads it writes into the outbox (ChargingProfileCommand.payload) without pulling in the
gateway. The payloads are plain dicts in the **camelCase wire form** of each version's
SetChargingProfile / ClearChargingProfile request, exactly what goes on the wire:

    1.6:    {"connectorId": 1, "csChargingProfiles": {"chargingProfileId": ..., "chargingSchedule": {...}}}
    2.0.1:  {"evseId": 1, "chargingProfile": {"id": ..., "chargingSchedule": [{...}]}}
    2.1:    same as 2.0.1, periods may carry operationMode / setpoint / dischargeLimit

The gateway turns one into a request with `call.SetChargingProfile(**camel_to_snake_case(payload))`;
the library then converts the keys back with `snake_to_camel_case` before validating and sending.
Every key used here survives that round trip unchanged (tests/gateway/test_profiles.py checks it;
the per-phase keys `limit_L2` ... do not, which is why they are never used).

Conventions: power in kW, positive = into the vehicle; OCPP limits in W (chargingRateUnit "W"),
rounded to whole watts (1.6 schedules must be a multiple of 0.1); timestamps ISO 8601 UTC with "Z"
(the library does not check formats, strict peers do).

Discharge: only OCPP 2.1 has it in the standard (operationMode CentralSetpoint, negative setpoint,
dischargeLimit <= 0). 1.6 and 2.0.1 get charge-only limits, or a negative `limit` where the charger's
registration says it accepts one (a vendor convention). A one-way charger never gets a discharge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from core.rules.discharge import protocol_can_discharge

PROTOCOLS = ("1.6", "2.0.1", "2.1")

# Stack levels: the safe default lies underneath everything the dispatch sends, so that when a
# dispatch profile ends (validTo) or a 2.1 station has been offline for maxOfflineDuration, the
# station falls back to "charge at full power, never discharge".
SAFE_DEFAULT_STACK_LEVEL = 0
DISPATCH_STACK_LEVEL = 1
# The site-limit guard's caps lie above the dispatch profile while they last (a few minutes).
GUARD_STACK_LEVEL = 2
SAFE_DEFAULT_PROFILE_ID = 1
# Stable ids: a profile with the id (and stack level and purpose) of an installed one replaces it
# (1.6 §3.13.2, 2.0.1 K01.FR.05), so every new plan simply overwrites the previous one.
TX_PROFILE_ID = 100
TX_DEFAULT_PROFILE_ID = 101
GUARD_PROFILE_ID = 102

# When the caller gives no end: a dispatch plan covers one day.
DEFAULT_HORIZON = timedelta(hours=24)
MIN_LAST_PERIOD = timedelta(minutes=15)
# Safe when silent: a profile above the safe default (any discharge) must end on its own when the
# console stops renewing it, so a station out of contact falls back to charge-only within this bound:
# 2.1 by maxOfflineDuration (K_100: the station reverts to the profile underneath once it has been
# offline this long); 1.6 / 2.0.1 have no such field, so their discharging profiles carry a short
# validTo that the planner renews every run while the plan still discharges.
OFFLINE_FALLBACK_S = 900
MAX_OFFLINE_DURATION_S = OFFLINE_FALLBACK_S
# The planner renews a short-lived profile when less than this is left of it (so a renewal that is
# lost or late still finds the old one in force).
RENEW_WHEN_LEFT_S = 600


def offline_fallback_s(dispatch_interval_s: float) -> int:
    """The bound for a site that plans every `dispatch_interval_s` (console seconds): 15 min, or
    three dispatch intervals where the console plans less often (a sped-up demo)."""
    return int(max(OFFLINE_FALLBACK_S, 3 * dispatch_interval_s))


class ProfileError(ValueError):
    """The schedule or the charger facts cannot make a valid charging profile."""


def discharge_allowed(*, protocol: str, max_discharge_kw: float, accepts_negative_limits: bool) -> bool:
    """Whether a profile for this charger may ask for discharge at all.

    OCPP 2.1 has standard discharge; 1.6 and 2.0.1 only where the charger is registered as
    accepting negative limits; a one-way charger (max_discharge_kw 0) never.
    """
    return max_discharge_kw > 0 and protocol_can_discharge(protocol, accepts_negative_limits=accepts_negative_limits)


def build_charging_profile(
    *,
    protocol: str,
    periods: Sequence[tuple[datetime, float]],
    max_charge_kw: float,
    max_discharge_kw: float = 0.0,
    accepts_negative_limits: bool = False,
    transaction_id: str | int | None = None,
    connector_id: int = 1,
    end: datetime | None = None,
    profile_id: int | None = None,
    stack_level: int = DISPATCH_STACK_LEVEL,
    max_offline_duration_s: int | None = MAX_OFFLINE_DURATION_S,
    issued_at: datetime | None = None,
    offline_validity_s: int = OFFLINE_FALLBACK_S,
) -> dict:
    """The SetChargingProfile payload (wire form, see the module docstring) for a setpoint schedule.

    `periods`: [(start, power_kw), ...] in time order, aware datetimes; power signed (+ charge,
    - discharge), clamped to the charger's limits. Each period lasts until the next one starts, the
    last one until `end` (default: 24 h after the first start, at least 15 min after the last).
    `transaction_id`: the running transaction -> a TxProfile for it; None -> a TxDefaultProfile.
    `connector_id`: 1.6 connectorId / 2.x evseId. `profile_id`: leave the default (a stable id, so
    each new plan replaces the last); it must not be SAFE_DEFAULT_PROFILE_ID.
    `max_offline_duration_s`: 2.1 only, None to leave it out.
    `issued_at`: when the console sends it; then a 1.6 / 2.0.1 profile that discharges anywhere ends
    `offline_validity_s` after it (validTo), unless renewed (safe when silent, see OFFLINE_FALLBACK_S).
    """
    _check_protocol(protocol)
    if not periods:
        raise ProfileError("a charging profile needs at least one period")
    if max_charge_kw <= 0 or max_discharge_kw < 0:
        raise ProfileError(
            f"charger limits must be max_charge_kw > 0 and max_discharge_kw >= 0, got "
            f"{max_charge_kw} / {max_discharge_kw}"
        )
    if connector_id < 1:
        raise ProfileError(f"connector/EVSE id of a dispatch profile must be >= 1, got {connector_id}")
    if stack_level <= SAFE_DEFAULT_STACK_LEVEL:
        raise ProfileError(
            f"stack level {stack_level} would not lie above the safe default's ({SAFE_DEFAULT_STACK_LEVEL})"
        )
    purpose = "TxProfile" if transaction_id is not None else "TxDefaultProfile"
    if profile_id is None:
        profile_id = TX_PROFILE_ID if transaction_id is not None else TX_DEFAULT_PROFILE_ID
    if profile_id == SAFE_DEFAULT_PROFILE_ID:
        raise ProfileError(f"profile id {SAFE_DEFAULT_PROFILE_ID} is reserved for the safe default profile")

    start, offsets_s, powers_kw = _normalise_periods(periods)
    end = (
        _as_utc(end)
        if end is not None
        else max(start + DEFAULT_HORIZON, _last_start(periods) + MIN_LAST_PERIOD)
    )
    duration_s = int((end - start).total_seconds())
    if duration_s <= offsets_s[-1]:
        raise ProfileError(f"end {_iso(end)} must come after the last period start")

    can_discharge = discharge_allowed(
        protocol=protocol, max_discharge_kw=max_discharge_kw, accepts_negative_limits=accepts_negative_limits
    )
    schedule_periods = []
    for offset_s, power_kw in zip(offsets_s, powers_kw, strict=True):
        power_kw = min(power_kw, max_charge_kw)
        power_kw = max(power_kw, -max_discharge_kw if can_discharge else 0.0)
        period = _period(protocol, offset_s, power_kw)
        # Two plan steps that end up equal after clamping make one period.
        if schedule_periods and _same_limits(schedule_periods[-1], period):
            continue
        schedule_periods.append(period)

    valid_to = end
    if issued_at is not None and protocol != "2.1" and any(p["limit"] < 0 for p in schedule_periods):
        valid_to = min(end, _as_utc(issued_at) + timedelta(seconds=offline_validity_s))
        if valid_to <= start:
            raise ProfileError(f"issued at {_iso(issued_at)}: the profile would end before it starts")
    profile: dict = {
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "validFrom": _iso(start),
        "validTo": _iso(valid_to),
    }
    schedule: dict = {
        "chargingRateUnit": "W",
        "startSchedule": _iso(start),
        "duration": duration_s,
        "chargingSchedulePeriod": schedule_periods,
    }
    if protocol == "1.6":
        profile["chargingProfileId"] = profile_id
        if transaction_id is not None:
            profile["transactionId"] = _int_transaction_id(transaction_id)
        profile["chargingSchedule"] = schedule
        return {"connectorId": connector_id, "csChargingProfiles": profile}

    profile["id"] = profile_id
    if transaction_id is not None:
        profile["transactionId"] = str(transaction_id)
    if protocol == "2.1" and max_offline_duration_s is not None:
        profile["maxOfflineDuration"] = int(max_offline_duration_s)
    profile["chargingSchedule"] = [{"id": profile_id, **schedule}]
    return {"evseId": connector_id, "chargingProfile": profile}


def safe_default_profile(*, protocol: str, max_charge_kw: float, at: datetime) -> dict:
    """The charge-only profile every charger gets when it connects (wire form).

    A TxDefaultProfile on connector/EVSE 0 (all of them) at stack level 0: charge at the charger's
    full power, no discharge, with no end. Whatever the dispatch sends lies above it; when that ends
    or the console goes silent the vehicles are still charged and never drained.
    """
    _check_protocol(protocol)
    if max_charge_kw <= 0:
        raise ProfileError(f"max_charge_kw must be positive, got {max_charge_kw}")
    period: dict = {"startPeriod": 0, "limit": _watts(max_charge_kw)}
    if protocol == "2.1":
        period["operationMode"] = "ChargingOnly"
    schedule = {"chargingRateUnit": "W", "startSchedule": _iso(at), "chargingSchedulePeriod": [period]}
    profile: dict = {
        "stackLevel": SAFE_DEFAULT_STACK_LEVEL,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
    }
    if protocol == "1.6":
        profile = {"chargingProfileId": SAFE_DEFAULT_PROFILE_ID, **profile, "chargingSchedule": schedule}
        return {"connectorId": 0, "csChargingProfiles": profile}
    profile = {
        "id": SAFE_DEFAULT_PROFILE_ID,
        **profile,
        "chargingSchedule": [{"id": SAFE_DEFAULT_PROFILE_ID, **schedule}],
    }
    return {"evseId": 0, "chargingProfile": profile}


def clear_charging_profile(
    *,
    protocol: str,
    transaction_id: str | int | None = None,
    connector_id: int = 1,
    profile_id: int | None = None,
) -> dict:
    """The ClearChargingProfile payload (wire form) that removes the dispatch profile, not the safe default.

    By `profile_id` when given; otherwise by purpose (TxProfile with a transaction, TxDefaultProfile
    without) and the dispatch stack level on that connector/EVSE.
    """
    _check_protocol(protocol)
    if profile_id == SAFE_DEFAULT_PROFILE_ID:
        raise ProfileError("the safe default profile is never cleared")
    if profile_id is not None:
        return {"id": profile_id} if protocol == "1.6" else {"chargingProfileId": profile_id}
    purpose = "TxProfile" if transaction_id is not None else "TxDefaultProfile"
    if protocol == "1.6":
        return {
            "connectorId": connector_id,
            "chargingProfilePurpose": purpose,
            "stackLevel": DISPATCH_STACK_LEVEL,
        }
    criteria = {"evseId": connector_id, "chargingProfilePurpose": purpose, "stackLevel": DISPATCH_STACK_LEVEL}
    return {"chargingProfileCriteria": criteria}


def charging_profile_of(payload: dict) -> dict:
    """The chargingProfile object inside a SetChargingProfile payload of any version."""
    return payload.get("csChargingProfiles") or payload.get("chargingProfile") or {}


def transaction_id_of(payload: dict) -> str | None:
    """The transaction a SetChargingProfile payload is for (as text), None for a default profile."""
    tx = charging_profile_of(payload).get("transactionId")
    return None if tx is None else str(tx)


def valid_to_of(payload: dict) -> datetime | None:
    """When the profile in a SetChargingProfile payload ends, None when it has no end."""
    valid_to = charging_profile_of(payload).get("validTo")
    return None if valid_to is None else _as_utc(datetime.fromisoformat(valid_to))


# --- helpers -----------------------------------------------------------------------------------


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ProfileError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ProfileError(f"naive datetime {value!r}: schedule times must carry a time zone")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _watts(power_kw: float) -> float:
    watts = float(round(power_kw * 1000.0))
    return 0.0 if watts == 0 else watts  # never "-0.0"


def _last_start(periods: Sequence[tuple[datetime, float]]) -> datetime:
    return _as_utc(periods[-1][0])


def _normalise_periods(periods: Sequence[tuple[datetime, float]]) -> tuple[datetime, list[int], list[float]]:
    """(schedule start, whole-second offsets, powers): checked for order and for finite numbers."""
    start = _as_utc(periods[0][0]).replace(microsecond=0)
    offsets_s, powers_kw = [], []
    for when, power_kw in periods:
        if not isinstance(power_kw, int | float) or not math.isfinite(power_kw):
            raise ProfileError(f"power at {when} is not a finite number: {power_kw!r}")
        offset_s = int((_as_utc(when) - start).total_seconds())
        if offsets_s and offset_s <= offsets_s[-1]:
            raise ProfileError(f"period starts must increase by at least a second; {when} does not")
        offsets_s.append(offset_s)
        powers_kw.append(float(power_kw))
    return start, offsets_s, powers_kw


def _period(protocol: str, offset_s: int, power_kw: float) -> dict:
    watts = _watts(power_kw)
    if protocol != "2.1":
        # 1.6 / 2.0.1: a (possibly negative, where allowed and already clamped so) limit.
        return {"startPeriod": offset_s, "limit": watts}
    if watts >= 0:
        return {"startPeriod": offset_s, "limit": watts, "operationMode": "ChargingOnly"}
    # 2.1 discharge: follow the setpoint, never charge meanwhile (limit 0) and never discharge more
    # than planned (dischargeLimit = setpoint; the schema wants it <= 0, like the setpoint).
    return {
        "startPeriod": offset_s,
        "limit": 0.0,
        "operationMode": "CentralSetpoint",
        "setpoint": watts,
        "dischargeLimit": watts,
    }


def _same_limits(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "startPeriod"} == {
        k: v for k, v in b.items() if k != "startPeriod"
    }


def _int_transaction_id(transaction_id: str | int) -> int:
    try:
        return int(transaction_id)
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"an OCPP 1.6 transactionId is an integer, got {transaction_id!r}") from exc
