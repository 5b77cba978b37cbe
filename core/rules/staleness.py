"""When a measured value is too old to trust.

The planner treats a SoC older than this as unknown (the floor: no discharge), so every page that
shows a value as fresh must use the same threshold: one constant, here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# A value older than this many meter intervals is stale.
STALE_METER_INTERVALS = 2


def stale_after(meter_interval_s: float) -> timedelta:
    """The age beyond which a value read every `meter_interval_s` seconds is stale."""
    return timedelta(seconds=STALE_METER_INTERVALS * meter_interval_s)


def is_stale(measured_at: datetime | None, *, at: datetime, meter_interval_s: float) -> bool:
    """Whether a value measured at `measured_at` is stale at `at` (no value at all is stale)."""
    return measured_at is None or at - measured_at > stale_after(meter_interval_s)


def site_meter_is_stale(
    measured_at: datetime | None, *, at: datetime, poll_interval_s: float, sample_interval_s: float
) -> bool:
    """Whether the site meter's latest reading (or site sample) at `measured_at` is stale at `at`.

    The same rule as `is_stale`, over the slower of the meter's own interval (how often it is read,
    or reports) and the site sample interval (the gateway turns readings into site samples no more
    often than that).
    """
    return is_stale(measured_at, at=at, meter_interval_s=max(poll_interval_s, sample_interval_s))
