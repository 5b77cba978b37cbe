"""How fast the gateway answers: time from a charger's frame received to our answer sent.

Measured in-process around the library's routing of each CALL (schema validation, handler, answer
validation and the send); the benchmark adds the round trip seen by the chargers. The gateway logs a
summary on exit and, with `--stats-file`, writes every sample for the benchmark to cut by time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from pathlib import Path

KEEP_SAMPLES = 1_000_000


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0-1) of `values` by the nearest-rank method, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


class LatencyStats:
    """Handling times per action, bounded in memory."""

    def __init__(self, keep: int = KEEP_SAMPLES):
        # (wall clock, action, seconds); a deque so that a gateway running for months stays small.
        self.samples: deque[tuple[float, str, float]] = deque(maxlen=keep)
        self.count = 0
        self.errors_sent = 0
        # (wall clock, seconds) how late the event loop woke up: a frame may wait that long
        # before it is even read, which the handling time above cannot see.
        self.loop_lags: deque[tuple[float, float]] = deque(maxlen=keep)

    def record(self, action: str, seconds: float) -> None:
        self.samples.append((time.time(), action, seconds))
        self.count += 1

    async def watch_loop(self, interval_s: float = 0.1) -> None:
        """Record the event loop's lag every `interval_s` until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(interval_s)
            self.loop_lags.append((time.time(), max(0.0, loop.time() - before - interval_s)))

    def summary(self, since: float | None = None) -> dict:
        """Count, p50, p99 and max in milliseconds, over all actions and per action."""
        chosen = [s for s in self.samples if since is None or s[0] >= since]
        by_action: dict[str, list[float]] = {}
        for _, action, seconds in chosen:
            by_action.setdefault(action, []).append(seconds)
        every = [seconds for _, _, seconds in chosen]

        def figures(values: list[float]) -> dict:
            return {
                "count": len(values),
                "p50_ms": _ms(percentile(values, 0.50)),
                "p99_ms": _ms(percentile(values, 0.99)),
                "max_ms": _ms(max(values) if values else None),
            }

        lags = [lag for at, lag in self.loop_lags if since is None or at >= since]
        return {
            "all": figures(every),
            **{action: figures(v) for action, v in sorted(by_action.items())},
            "event_loop_lag": figures(lags),
        }

    def dump(self, path: Path, extra: dict | None = None) -> None:
        """Write the summary and every kept sample as JSON (for the benchmark)."""
        document = {
            "summary": self.summary(),
            "samples": list(self.samples),
            "loop_lags": list(self.loop_lags),
            **(extra or {}),
        }
        path.write_text(json.dumps(document), encoding="utf-8")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)
