"""The one "now" of the console.

Three kinds of clock share one interface: the real clock, a fixed clock that tests move by hand,
and a scaled clock that runs N times faster than real time for demos (`V2G_CLOCK_SPEED=60`: an
hour passes in a minute). Every timestamp is an aware datetime in UTC.

Processes started together (web, gateway, simulator) share a scaled clock through
`V2G_CLOCK_ANCHOR_EPOCH`, the real time at which the simulated time `V2G_CLOCK_START` began, so
they agree on "now".
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock."""

    def now(self) -> datetime:
        """Current time, aware, in UTC."""
        return datetime.now(UTC)

    def sleep_seconds(self, simulated_s: float) -> float:
        """Real seconds to wait for `simulated_s` seconds of this clock to pass."""
        return simulated_s


class FixedClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime):
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by `timedelta(**delta)` and return the new time."""
        self._at += timedelta(**delta)
        return self._at


class ScaledClock(Clock):
    """A clock that runs `speed` times faster than real time from `start`."""

    def __init__(self, speed: float, start: datetime, anchor_epoch: float):
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self.start = as_utc(start)
        self.anchor_epoch = anchor_epoch

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor_epoch) * self.speed)

    def sleep_seconds(self, simulated_s: float) -> float:
        return simulated_s / self.speed


def as_utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clock_from_settings(speed: float, start: str, anchor_epoch: float) -> Clock:
    """The clock the settings describe: real at speed 1 with no start, scaled otherwise."""
    if speed == 1.0 and not start:
        return Clock()
    start_at = datetime.fromisoformat(start) if start else datetime.now(UTC)
    return ScaledClock(speed, start_at, anchor_epoch or time.time())


_clock: Clock | None = None


def get_clock() -> Clock:
    """The process's clock, built from the settings on first use."""
    global _clock
    if _clock is None:
        from core.config import get_settings

        settings = get_settings()
        _clock = clock_from_settings(settings.clock_speed, settings.clock_start, settings.clock_anchor_epoch)
    return _clock


def set_clock(clock: Clock | None) -> None:
    """Replace the process's clock (tests), or reset it to the settings' clock with None."""
    global _clock
    _clock = clock


def now() -> datetime:
    """The one "now": current time of the process's clock, aware, in UTC."""
    return get_clock().now()
