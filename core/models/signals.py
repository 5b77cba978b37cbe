"""Prices, tariffs and grid signals (demand response, flexibility requests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import _json_field, _utc_field


class PricePoint(SQLModel, table=True):
    """Import and export price over one interval."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id")
    start: datetime = _utc_field()
    end: datetime = _utc_field()
    import_price_per_kwh: float
    export_price_per_kwh: float
    source: str = "demo"

    __table_args__ = (UniqueConstraint("site_id", "start"), Index("ix_pricepoint_site_start", "site_id", "start"))


class GridSignal(SQLModel, table=True):
    """An import cap, an export (flexibility) request or a price signal from the grid."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    kind: str  # "import_cap", "export_request", "price"
    start: datetime = _utc_field(index=True)
    end: datetime = _utc_field()
    kw: float = 0.0
    reward_per_kwh: float = 0.0
    source: str = "operator"  # operator, csv, openadr
    external_id: str | None = None
    opted_in: bool = True


class Tariff(SQLModel, table=True):
    """A site's time-of-use tariff: its name and the demand charge; the periods are TariffRule rows."""

    site_id: str = Field(foreign_key="site.id", primary_key=True)
    name: str = ""
    demand_charge_per_kw_month: float = 0.0  # per kW of the month's highest 15-minute net import
    updated_at: datetime = _utc_field(default_now=True)


class TariffRule(SQLModel, table=True):
    """One period of a time-of-use tariff: on these weekdays, from start to end local time, this price."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    weekdays: str = "0123456"  # Monday = 0
    start_time: str = "00:00"  # local HH:MM; end before start crosses midnight, end == start is all day
    end_time: str = "00:00"
    import_price_per_kwh: float
    export_price_per_kwh: float = 0.0


class GridEventLedger(SQLModel, table=True):
    """What one grid event asked for and what the site delivered, per 15-minute interval."""

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="gridsignal.id", index=True)
    start: datetime = _utc_field()
    end: datetime = _utc_field()
    committed_kw: float
    delivered_kw: float | None = None  # None: no site meter reading in the interval
    reward: float = 0.0  # in the site's currency
    # Discharged energy per vehicle (or charger when the vehicle is unknown) in the interval, kWh.
    vehicles: dict = _json_field()

    __table_args__ = (UniqueConstraint("signal_id", "start"),)
