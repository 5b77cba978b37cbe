"""What the simulated stations did, as JSON lines, for the soak benchmark (`--journal PATH`).

One line per message with a meter reading that the central system ACKNOWLEDGED, written when the
answer arrives:

    {"e": "reading", "cp": "CP-BUS-01", "t": "2026-11-30T11:00:00.000Z", "kind": "sample",
     "kw": -42.1, "soc": 0.61, "tx": "CP-BUS-01-20261130T110000-1", "id": null,
     "off": false, "a": "2026-11-30T11:00:00.310Z"}

(`t` is the reading's time as it went on the wire; `tx` the station's transaction key; `id` the
1.6 transaction id the central system gave, on a 1.6 "start"; `off` whether it was taken out of
contact; `a` when the answer came, console time), and one per change of connection
state: {"e": "connected" | "offline", "cp": ..., "t": <console time>}; one per change of the power
a station draws (the truth between readings): {"e": "power", "cp": ..., "t": ..., "kw": ...}; at stop, for a station
with messages never sent or answered, {"e": "pending", "cp": ..., "n": <how many>}. Buffered,
flushed every second and on close, so it costs the stations next to nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from pathlib import Path

from core.simulator.messages import QueuedMessage, iso

FLUSH_EVERY_S = 1.0


class Journal:
    """An append-only JSON-lines file shared by the charge points of one simulator process."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._file = self.path.open("a", encoding="utf-8", buffering=1 << 16)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Flush every second from now on (call inside the running event loop)."""
        self._task = asyncio.create_task(self._flush_loop(), name="sim-journal")

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def acknowledged(
        self, charger_id: str, item: QueuedMessage, *, at: datetime, transaction_id: int | None = None
    ) -> None:
        """A message carrying a reading was answered by the central system at `at`."""
        reading = item.reading
        if reading is None:
            return
        self.write({
            "e": "reading", "cp": charger_id, "t": iso(reading.at), "kind": item.kind,
            "kw": round(reading.power_kw, 4), "soc": reading.soc, "tx": item.transaction_key, "id": transaction_id,
            "off": item.offline, "a": iso(at),
        })  # fmt: skip

    def power(self, charger_id: str, at: datetime, power_kw: float) -> None:
        """The station's power changed to `power_kw` at `at` (console time)."""
        self.write({"e": "power", "cp": charger_id, "t": iso(at), "kw": round(power_kw, 4)})

    def connection(self, charger_id: str, at: datetime, *, connected: bool) -> None:
        """The station got (connected) or lost (offline) its central system at `at`."""
        self.write({"e": "connected" if connected else "offline", "cp": charger_id, "t": iso(at)})

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self._file.flush()

    async def close(self) -> None:
        """Stop flushing, write what is buffered and close the file."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._file.flush()
        self._file.close()
