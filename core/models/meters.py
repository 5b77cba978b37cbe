"""The site's own meters: where net import at the grid connection, building load and PV come from.

An admin configures them (core.meters.config: `python -m core.admin meter ...`, the Meters admin
page); the gateway's meter runner (core/meters/runner.py) reads them and keeps each one's state here.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.models.base import _json_field, _utc_field


class SiteMeter(SQLModel, table=True):
    """One meter of a site, read by the gateway.

    kind "modbus": Modbus TCP at host:port, unit `unit_id`; SunSpec models found by discovery
    (`sunspec`) or the generic `registers` map {quantity: {address, type, scale, sign, word_order,
    table}}. kind "mqtt": a broker at host:port; `paths` {quantity: {topic, path, scale, sign}}, the
    topic defaulting to `topic`, an empty path meaning the payload is a plain number. kind "ocpp":
    the main meter (connector / EVSE 0) of charger `charger_id`.

    Quantities are kW: "net_import_kw" (positive = taken from the grid, once `net_import_sign` is
    applied), "building_load_kw", "pv_kw" (positive = produced).
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)  # how the command line and the admin page name it
    site_id: str = Field(foreign_key="site.id", index=True)
    kind: str  # "modbus", "mqtt" or "ocpp"
    enabled: bool = True
    host: str | None = None
    port: int | None = None
    unit_id: int = 1
    sunspec: bool = False
    registers: dict = _json_field()
    topic: str | None = None
    paths: dict = _json_field()
    charger_id: str | None = None
    # Modbus: how often it is read; MQTT and OCPP: how often it is expected to report. A meter
    # silent for longer than core.rules.staleness allows is stale.
    poll_interval_s: float = 5.0
    quantities: list = _json_field(list)  # what it gives: a subset of the three quantities above
    # How the meter signs the power at the grid connection: "import_positive" or "export_positive".
    net_import_sign: str = "import_positive"
    created_at: datetime | None = _utc_field(nullable=True, default_now=True)
    # Written by the gateway's meter runner: the last good reading, the last failure.
    last_read_at: datetime | None = _utc_field(nullable=True)
    last_values: dict = _json_field()
    last_error: str = ""
    last_error_at: datetime | None = _utc_field(nullable=True)
