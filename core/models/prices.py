"""Where a site's prices come from: the day-ahead price feed (ENTSO-E) and its last fetch."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.models.base import _utc_field


class PriceFeed(SQLModel, table=True):
    """A site's day-ahead price feed: its bidding zone, how retail prices follow from the day-ahead
    price, and how the last fetch went (core.signals.day_ahead). The API token is a setting
    (V2G_ENTSOE_TOKEN), never a column."""

    site_id: str = Field(foreign_key="site.id", primary_key=True)
    bidding_zone: str  # ENTSO-E area: a code ("NL", "DE_LU") or its EIC ("10YNL----------L")
    import_markup_per_kwh: float = 0.0  # import price = day-ahead + this (taxes, network fees, supplier)
    export_mode: str = "day_ahead"  # "day_ahead": export at the day-ahead price; "fixed": at export_fixed_per_kwh
    export_fixed_per_kwh: float = 0.0
    enabled: bool = True
    updated_at: datetime = _utc_field(default_now=True)
    # The last fetch: "never", "ok" or "failed", when it was tried, why it failed, and the end of the
    # last day-ahead price it stored.
    last_status: str = "never"
    last_attempt_at: datetime | None = _utc_field(nullable=True)
    last_success_at: datetime | None = _utc_field(nullable=True)
    last_error: str = ""
    prices_through: datetime | None = _utc_field(nullable=True)
