"""Meter readings from chargers and the site, and limit excursions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from core.models.base import _utc_field


class MeterSample(SQLModel, table=True):
    """One meter reading of a charger."""

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = _utc_field()
    charger_id: str = Field(foreign_key="charger.id")
    session_id: int | None = Field(default=None, foreign_key="plugsession.id")
    power_kw: float | None = None  # signed: + charging, - discharging
    soc: float | None = None
    energy_import_kwh: float | None = None  # register, into the vehicle
    energy_export_kwh: float | None = None  # register, out of the vehicle

    # The live pages ask for the latest sample per charger and for samples in a time range.
    __table_args__ = (
        Index("ix_metersample_charger_time", "charger_id", "time"),
        Index("ix_metersample_time", "time"),
    )


class SiteSample(SQLModel, table=True):
    """One reading of the site meter."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id")
    time: datetime = _utc_field()
    building_load_kw: float
    pv_kw: float = 0.0
    ev_power_kw: float = 0.0  # sum over chargers, signed
    ev_charge_kw: float = 0.0  # sum of the chargers that are charging (>= 0)
    ev_discharge_kw: float = 0.0  # sum of the chargers that are discharging, as a positive number
    net_import_kw: float  # building - PV + EV; negative when exporting

    __table_args__ = (Index("ix_sitesample_site_time", "site_id", "time"),)


class LimitExcursion(SQLModel, table=True):
    """A spell of site readings beyond the guard line (the connection limit minus its headroom), and
    what the gateway's guard did about it. A breach is an excursion whose worst reading went over the
    limit itself (`worst_kw_over_limit` > 0); the Grid page lists them."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    direction: str  # "import" or "export"
    limit_kw: float
    started_at: datetime = _utc_field(index=True)
    ended_at: datetime | None = _utc_field(nullable=True)  # None while it lasts
    readings: int = 0  # readings beyond the guard line
    readings_over_limit: int = 0
    worst_kw_over_limit: float = 0.0  # <= 0: the guard held the limit
    seconds_over_limit: float = 0.0
    guard_commands: int = 0  # chargers lowered
