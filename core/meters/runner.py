"""The gateway's meter runner: reads every enabled site meter and keeps its latest values, for the
gateway's site meter task (core/gateway/sitemeter.py) to turn into site samples.

Per meter: a Modbus meter is polled every `poll_interval_s` (console time); an MQTT meter is
listened to; an OCPP meter is fed by the gateway's MeterValues handler (connector / EVSE 0 of its
charger, `feed_main_meter`). Configuration changes (`python -m core.admin meter ...`, the admin page)
are picked up every `reload_interval_s`. Each meter's last reading and last failure are written back
to its row every `status_interval_s`, for the admin page.

`site_flows` gives a site's new sample: every quantity of every enabled meter of the site fresh by
core.rules.staleness (else None: a stale site writes no sample, and the planner and the overview see
the site samples stop), the missing quantities derived as core.meters.derive says.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.clock import get_clock, now
from core.db import session_scope
from core.meters.derive import SiteFlows, site_flows
from core.meters.modbus_reader import MeterReadError, ModbusReader
from core.meters.mqtt_reader import MqttReader
from core.rules.staleness import site_meter_is_stale

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeterConfig:
    """A meter's configuration as the runner uses it (a snapshot of its row)."""

    id: int
    name: str
    site_id: str
    kind: str
    host: str | None
    port: int | None
    unit_id: int
    sunspec: bool
    registers: dict
    paths: dict
    charger_id: str | None
    poll_interval_s: float
    quantities: tuple[str, ...]
    net_import_sign: str

    @classmethod
    def of(cls, row: models.SiteMeter) -> MeterConfig:
        return cls(
            id=row.id, name=row.name, site_id=row.site_id, kind=row.kind, host=row.host, port=row.port,
            unit_id=row.unit_id, sunspec=row.sunspec, registers=dict(row.registers), paths=dict(row.paths),
            charger_id=row.charger_id, poll_interval_s=row.poll_interval_s, quantities=tuple(row.quantities),
            net_import_sign=row.net_import_sign,
        )  # fmt: skip


@dataclass
class MeterState:
    """What the runner knows of one meter: its latest value of each quantity, and when."""

    values: dict[str, float] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    updates: int = 0
    error: str = ""
    error_at: datetime | None = None
    dirty: bool = False  # changed since its row was last written


class MeterRunner:
    """Reads the site meters; `site_flows` is called from the site meter's worker thread."""

    def __init__(
        self, *, engine: Engine, sample_interval_s: float, reload_interval_s: float = 15.0,
        status_interval_s: float = 5.0,
    ):  # fmt: skip
        self.engine = engine
        self.sample_interval_s = sample_interval_s
        self.reload_interval_s = reload_interval_s
        self.status_interval_s = status_interval_s
        self._lock = threading.Lock()
        self._configs: dict[int, MeterConfig] = {}
        self._states: dict[int, MeterState] = {}
        self._readers: dict[int, asyncio.Task] = {}
        self._written: dict[str, tuple] = {}  # site -> the meters' update counts of its last sample
        self._tasks: list[asyncio.Task] = []

    # -- life cycle (event loop) --

    async def start(self) -> None:
        """Load the configuration and start reading."""
        await self.reload()
        self._tasks = [
            asyncio.create_task(self._every("reload_interval_s", self.reload), name="meter-config"),
            asyncio.create_task(self._every("status_interval_s", self.write_status), name="meter-status"),
        ]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._readers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks, self._readers = [], {}
        await asyncio.to_thread(self.write_status_now)

    async def _every(self, interval: str, job) -> None:
        while True:
            await asyncio.sleep(getattr(self, interval))  # read each time: a test may shorten it
            try:
                await job()
            except Exception:
                log.exception("meter runner: %s failed", job.__name__)

    async def reload(self) -> None:
        """Read the enabled meters' configuration; restart the readers of those that changed."""
        configs = await asyncio.to_thread(self._load)
        for meter_id in [m for m in self._configs if configs.get(m) != self._configs[m]]:
            task = self._readers.pop(meter_id, None)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        with self._lock:
            for meter_id in list(self._states):
                if configs.get(meter_id) != self._configs.get(meter_id):
                    del self._states[meter_id]
            self._configs = configs
            for meter_id in configs:
                self._states.setdefault(meter_id, MeterState())
        for meter_id, config in configs.items():
            if meter_id not in self._readers and config.kind in ("modbus", "mqtt"):
                self._readers[meter_id] = asyncio.create_task(self._read(config), name=f"meter-{config.name}")

    def _load(self) -> dict[int, MeterConfig]:
        with session_scope(self.engine) as session:
            rows = session.exec(select(models.SiteMeter).where(models.SiteMeter.enabled)).all()
            return {row.id: MeterConfig.of(row) for row in rows}

    # -- readers --

    async def _read(self, config: MeterConfig) -> None:
        if config.kind == "modbus":
            await self._poll(config)
        else:
            reader = MqttReader(
                host=config.host, port=config.port, paths=config.paths, net_import_sign=config.net_import_sign,
                name=config.name,
            )  # fmt: skip
            await reader.listen(
                lambda values: self.record(config.id, values), lambda e: self.record_error(config.id, e)
            )

    async def _poll(self, config: MeterConfig) -> None:
        reader = ModbusReader(
            host=config.host, port=config.port, unit_id=config.unit_id, sunspec_device=config.sunspec,
            registers=config.registers, quantities=list(config.quantities), net_import_sign=config.net_import_sign,
            timeout_s=min(2.0, max(0.5, config.poll_interval_s)),
        )  # fmt: skip
        try:
            while True:
                try:
                    self.record(config.id, await reader.read())
                except MeterReadError as exc:
                    self.record_error(config.id, str(exc))
                await asyncio.sleep(get_clock().sleep_seconds(config.poll_interval_s))
        finally:
            reader.close()

    def record(self, meter_id: int, values: dict[str, float], at: datetime | None = None) -> None:
        """A meter's new values ({quantity: kW}, measured now or at `at`)."""
        at = at or now()
        with self._lock:
            state = self._states.get(meter_id)
            if state is None:
                return
            for quantity, value in values.items():
                state.values[quantity], state.times[quantity] = value, at
            state.updates += 1
            state.error, state.dirty = "", True

    def record_error(self, meter_id: int, message: str) -> None:
        with self._lock:
            state = self._states.get(meter_id)
            if state is None:
                return
            if state.error != message:
                log.warning("site meter %s: %s", self._configs[meter_id].name, message)
            state.error, state.error_at, state.dirty = message, now(), True

    def feed_main_meter(self, charger_id: str, power_kw: float) -> bool:
        """(event loop) A charger's connector / EVSE 0 power; True when it is a configured site meter
        (the gateway then stores it as the site's, not as the charger's own power). Timed on the
        gateway's clock, not the charger's, so a charger whose clock drifts is not taken for stale."""
        with self._lock:
            meter_ids = [m for m, c in self._configs.items() if c.kind == "ocpp" and c.charger_id == charger_id]
        for meter_id in meter_ids:
            sign = -1.0 if self._configs[meter_id].net_import_sign == "export_positive" else 1.0
            self.record(meter_id, {"net_import_kw": sign * power_kw})
        return bool(meter_ids)

    # -- for the site meter (worker thread) --

    def configured(self, site_id: str | None) -> bool:
        """Whether the site (None: any site) has an enabled meter; its samples then come from it,
        not from the demo profile."""
        with self._lock:
            return any(site_id in (None, c.site_id) for c in self._configs.values())

    def site_flows(self, site_id: str, *, ev_kw: float, at: datetime) -> tuple[datetime, SiteFlows] | None:
        """The site's new sample (its time: the oldest value in it), or None when nothing is new, a
        quantity is stale or missing, or the values give no net import (core.meters.derive)."""
        with self._lock:
            meters = [(c, self._states[m]) for m, c in self._configs.items() if c.site_id == site_id]
            values: dict[str, float] = {}
            times: list[datetime] = []
            for config, state in meters:
                for quantity in config.quantities:
                    t = state.times.get(quantity)
                    if site_meter_is_stale(
                        t, at=at, poll_interval_s=config.poll_interval_s, sample_interval_s=self.sample_interval_s
                    ):
                        return None
                    values[quantity] = state.values[quantity]
                    times.append(t)
            updates = tuple(state.updates for _, state in meters)
            if not meters or self._written.get(site_id) == updates:
                return None
            flows = site_flows(values, ev_kw=ev_kw)
            if flows is None:
                return None
            self._written[site_id] = updates
            return min(times), flows

    # -- state for the admin page --

    async def write_status(self) -> None:
        await asyncio.to_thread(self.write_status_now)

    def write_status_now(self) -> None:
        """(worker thread) Write the changed meters' last reading and failure to their rows."""
        with self._lock:
            dirty = {m: (dict(s.values), max(s.times.values(), default=None), s.error, s.error_at)
                     for m, s in self._states.items() if s.dirty}  # fmt: skip
            for meter_id in dirty:
                self._states[meter_id].dirty = False
        if not dirty:
            return
        with session_scope(self.engine) as session:
            for meter_id, (values, read_at, error, error_at) in dirty.items():
                row = session.get(models.SiteMeter, meter_id)
                if row is None:
                    continue
                if read_at is not None and (row.last_read_at is None or read_at >= row.last_read_at):
                    row.last_values, row.last_read_at = {q: round(v, 4) for q, v in values.items()}, read_at
                row.last_error, row.last_error_at = error, error_at if error else row.last_error_at
