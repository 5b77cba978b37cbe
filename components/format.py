"""Numbers formatted for people: units on every value, kW with one decimal, SoC in %."""

from __future__ import annotations

from datetime import datetime


def kw(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} kW"


def kwh(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} kWh"


def soc(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f} %"


def price(value: float | None, currency: str = "EUR") -> str:
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency + " ")
    return "—" if value is None else f"{symbol}{value:.3f}/kWh"


def local_clock(at: datetime) -> str:
    """Local time with the zone's abbreviation, e.g. "14:05 CET"."""
    return at.strftime("%H:%M %Z")


def money(value: float | None, currency: str = "EUR") -> str:
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency + " ")
    return "—" if value is None else f"{'-' if value < 0 else ''}{symbol}{abs(value):,.2f}"
