"""The charging profiles installed on a simulated charger, and what they allow at an instant.

The charger side of OCPP smart charging, kept to what a real station does with our profiles:
profiles replace one with the same id (or the same purpose and stack level); at an instant the
TxProfile of the running transaction with the highest stack level wins, else the highest
TxDefaultProfile; a ChargePointMaxProfile / ChargingStationMaxProfile caps the charge limit. A
profile outside validFrom/validTo, or past its schedule's duration, does not apply; nor does a 2.1
profile with maxOfflineDuration while the station has been offline longer than that (K_100: it then
falls back to the profile underneath, our safe default). TxProfiles end with their transaction. Limits are read in W (A are turned into W at 230 V per phase).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VOLTS_PER_PHASE = 230.0
MAX_PURPOSES = ("ChargePointMaxProfile", "ChargingStationMaxProfile")


@dataclass(frozen=True)
class Period:
    """One schedule period in kW; None where the profile does not say."""

    start_s: int
    limit_kw: float | None
    setpoint_kw: float | None = None
    discharge_limit_kw: float | None = None
    operation_mode: str | None = None


@dataclass(frozen=True)
class InstalledProfile:
    id: int
    stack_level: int
    purpose: str
    kind: str
    transaction_id: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    start_schedule: datetime | None
    duration_s: float | None
    recurrency: str | None
    periods: tuple[Period, ...]
    max_offline_duration_s: float | None = None

    def period_at(
        self, at: datetime, transaction_start: datetime | None, offline_for_s: float | None = None
    ) -> Period | None:
        """The period in force at `at`, None when the profile does not apply then (`offline_for_s`:
        how long the station has been out of contact with its central system, None when connected)."""
        if (self.valid_from and at < self.valid_from) or (self.valid_to and at >= self.valid_to):
            return None
        if self.max_offline_duration_s is not None and offline_for_s is not None and offline_for_s > self.max_offline_duration_s:
            return None
        # Relative schedules run from the start of the transaction, the others from startSchedule.
        start = transaction_start if self.kind == "Relative" else (self.start_schedule or transaction_start)
        if start is None:
            return None
        offset_s = (at - start).total_seconds()
        if self.kind == "Recurring" and self.recurrency in ("Daily", "Weekly") and offset_s >= 0:
            cycle_s = (1 if self.recurrency == "Daily" else 7) * 86400
            offset_s %= cycle_s
        if offset_s < 0 or (self.duration_s is not None and offset_s >= self.duration_s):
            return None
        chosen = None
        for period in self.periods:
            if period.start_s <= offset_s:
                chosen = period
        return chosen


def _changes(profile: InstalledProfile, transaction_start: datetime | None) -> list[datetime]:
    """The instants at which what the profile asks for may change (period starts, its end)."""
    start = transaction_start if profile.kind == "Relative" else (profile.start_schedule or transaction_start)
    found = [t for t in (profile.valid_from, profile.valid_to) if t is not None]
    if start is not None and profile.kind != "Recurring":
        found += [start + timedelta(seconds=p.start_s) for p in profile.periods]
        if profile.duration_s is not None:
            found.append(start + timedelta(seconds=profile.duration_s))
    return found


class ProfileStack:
    """Installed profiles of one charger (one connector / EVSE)."""

    def __init__(self) -> None:
        self.profiles: dict[int, InstalledProfile] = {}

    def install(self, profile: InstalledProfile) -> None:
        for other in list(self.profiles.values()):
            if other.purpose == profile.purpose and other.stack_level == profile.stack_level:
                del self.profiles[other.id]
        self.profiles[profile.id] = profile

    def clear(
        self, *, profile_id: int | None = None, purpose: str | None = None, stack_level: int | None = None
    ) -> bool:
        """Remove the profiles that match every criterion given; True when any was removed."""
        removed = False
        for other in list(self.profiles.values()):
            if profile_id is not None and other.id != profile_id:
                continue
            if purpose is not None and other.purpose != purpose:
                continue
            if stack_level is not None and other.stack_level != stack_level:
                continue
            del self.profiles[other.id]
            removed = True
        return removed

    def next_change_after(self, at: datetime, *, transaction_start: datetime | None) -> datetime | None:
        """The first instant after `at` at which an installed profile starts, ends or moves to its
        next period: a real station switches then, not at its next meter reading."""
        later = [t for profile in self.profiles.values() for t in _changes(profile, transaction_start) if t > at]
        return min(later) if later else None

    def end_transaction(self) -> None:
        """A TxProfile lives as long as its transaction."""
        self.clear(purpose="TxProfile")

    def period_at(
        self,
        at: datetime,
        *,
        transaction_id: str | None,
        transaction_start: datetime | None,
        offline_for_s: float | None = None,
    ) -> tuple[Period | None, float | None]:
        """(the period that rules at `at`, the station's max charge limit in kW or None)."""

        def best(purpose: str) -> Period | None:
            candidates = []
            for profile in self.profiles.values():
                if profile.purpose != purpose:
                    continue
                if purpose == "TxProfile" and (
                    transaction_id is None
                    or (profile.transaction_id is not None and profile.transaction_id != transaction_id)
                ):
                    continue
                period = profile.period_at(at, transaction_start, offline_for_s)
                if period is not None:
                    candidates.append((profile.stack_level, period))
            return max(candidates, key=lambda c: c[0])[1] if candidates else None

        ruling = None
        if transaction_id is not None:
            ruling = best("TxProfile") or best("TxDefaultProfile")
        station_max = [
            period.limit_kw
            for profile in self.profiles.values()
            if profile.purpose in MAX_PURPOSES
            for period in [profile.period_at(at, transaction_start, offline_for_s)]
            if period is not None and period.limit_kw is not None
        ]
        return ruling, (min(station_max) if station_max else None)


def profile_from_request(profile: dict, *, protocol: str) -> InstalledProfile:
    """An InstalledProfile from the chargingProfile of a SetChargingProfile as a handler receives it
    (snake_case keys; 1.6 numbers may be Decimals)."""
    if protocol == "1.6":
        profile_id = profile["charging_profile_id"]
        schedule = profile["charging_schedule"]
    else:
        profile_id = profile["id"]
        schedule = profile["charging_schedule"][0]
    in_amps = schedule.get("charging_rate_unit") == "A"
    periods = []
    for raw in schedule["charging_schedule_period"]:
        # W -> kW; A -> kW at 230 V on each phase used (3 unless the period says otherwise).
        factor = 1e-3 * ((raw.get("number_phases") or 3) * VOLTS_PER_PHASE if in_amps else 1.0)
        periods.append(
            Period(
                start_s=int(raw["start_period"]),
                limit_kw=_scaled(raw.get("limit"), factor),
                setpoint_kw=_scaled(raw.get("setpoint"), factor),
                discharge_limit_kw=_scaled(raw.get("discharge_limit"), factor),
                operation_mode=raw.get("operation_mode"),
            )
        )
    transaction_id = profile.get("transaction_id")
    return InstalledProfile(
        id=int(profile_id),
        stack_level=int(profile["stack_level"]),
        purpose=profile["charging_profile_purpose"],
        kind=profile["charging_profile_kind"],
        transaction_id=None if transaction_id is None else str(transaction_id),
        valid_from=_time(profile.get("valid_from")),
        valid_to=_time(profile.get("valid_to")),
        start_schedule=_time(schedule.get("start_schedule")),
        duration_s=None if schedule.get("duration") is None else float(schedule["duration"]),
        recurrency=profile.get("recurrency_kind"),
        periods=tuple(sorted(periods, key=lambda p: p.start_s)),
        max_offline_duration_s=None if profile.get("max_offline_duration") is None else float(profile["max_offline_duration"]),
    )


def asks_for_discharge(profile: InstalledProfile) -> bool:
    """Whether any period asks for power out of the vehicle."""
    return any(
        (p.setpoint_kw is not None and p.setpoint_kw < 0) or (p.limit_kw is not None and p.limit_kw < 0)
        for p in profile.periods
    )


def _scaled(value, factor: float) -> float | None:
    return None if value is None else float(value) * factor


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
