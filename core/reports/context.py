"""What every report reads: the request (site, local date range), the 15-minute site intervals, prices.

`Context` is one report request inside one session; `intervals` averages the site meter's readings per
15-minute step and prices them with the price dispatch used; `session_rows` and `session_samples` are
the plug-in sessions of the range and their charger readings (the sessions and savings reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session, col, select

from core import models, signals
from core.clock import now
from core.rules.spreadsheet import safe_cell
from core.rules.steps import HOURS_PER_STEP, STEP, floor_step

MAX_DAYS = 366


class ReportError(ValueError):
    """A report request that cannot be answered (unknown name, bad dates)."""


@dataclass(frozen=True)
class Report:
    """A finished report: its table and the file name to download it as."""

    name: str
    frame: pd.DataFrame
    filename: str

    def to_csv(self) -> str:
        """The CSV text: a header row, '.' as decimal mark, '\\n' line ends; every text cell a spreadsheet
        would run as a formula neutralised (core.rules.spreadsheet; numbers stay numbers)."""
        frame = self.frame.copy()
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = frame[column].map(safe_cell).astype(object)
        return frame.to_csv(index=False, lineterminator="\n")


@dataclass(frozen=True)
class Context:
    """One report request: the session it reads in, the site, and the UTC range of its local dates."""

    session: Session
    site: models.Site
    tz: ZoneInfo
    start: datetime  # UTC, first instant of --from
    end: datetime  # UTC, first instant after --to
    cur: str  # currency, lower case, for column names

    def iso(self, t: datetime | None) -> str:
        """`t` as ISO 8601 with its UTC offset on the site's clock ('' for None)."""
        return "" if t is None else t.astimezone(self.tz).isoformat()


# --- the intervals shared by several reports ------------------------------------------------


@dataclass
class Interval:
    """One 15-minute step of the site meter: mean kW of each flow and the prices of the step."""

    start: datetime
    building_kw: float
    pv_kw: float
    ev_kw: float
    ev_charge_kw: float
    ev_discharge_kw: float
    net_kw: float
    import_price: float = 0.0
    export_price: float = 0.0
    price_source: str = ""

    @property
    def import_kwh(self) -> float:
        return max(0.0, self.net_kw) * HOURS_PER_STEP

    @property
    def export_kwh(self) -> float:
        return max(0.0, -self.net_kw) * HOURS_PER_STEP

    def cost(self, net_kw: float | None = None) -> float:
        """Import kWh x import price - export kWh x export price, of the step's net (or of `net_kw`)."""
        net = self.net_kw if net_kw is None else net_kw
        return max(0.0, net) * HOURS_PER_STEP * self.import_price - max(0.0, -net) * HOURS_PER_STEP * self.export_price


def intervals(ctx: Context) -> list[Interval]:
    """The site meter's readings averaged per 15-minute interval (only intervals that have readings)."""
    t = models.SiteSample
    rows = ctx.session.exec(
        select(t.time, t.building_load_kw, t.pv_kw, t.ev_power_kw, t.ev_charge_kw, t.ev_discharge_kw, t.net_import_kw)
        .where(t.site_id == ctx.site.id)
        .where(t.time >= ctx.start)
        .where(t.time < ctx.end)
    ).all()
    # Per interval: count and the sums of building, PV, EV, EV charge, EV discharge, net.
    sums: dict[datetime, list[float]] = {}
    for time_, building, pv, ev, charge, discharge, net in rows:
        if not (charge or discharge):  # a reading without the split: take it from the signed EV power
            charge, discharge = max(0.0, ev), max(0.0, -ev)
        acc = sums.setdefault(floor_step(time_), [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        acc[0] += 1
        for k, value in enumerate((building, pv, ev, charge, discharge, net), start=1):
            acc[k] += value
    out = [Interval(start, *(value / acc[0] for value in acc[1:])) for start, acc in sorted(sums.items())]
    _attach_prices(ctx, out)
    return out


def price_lookup(ctx: Context, start: datetime, steps: int) -> dict[datetime, signals.PriceStep]:
    """The price of each of `steps` steps from `start`, by step start (the prices dispatch used)."""
    prices = signals.price_steps(
        session=ctx.session, site=ctx.site, start=start, steps=steps, profile=signals.demo_profile()
    )
    return {p.start: p for p in prices}


def _attach_prices(ctx: Context, intervals: list[Interval]) -> None:
    prices = price_lookup(ctx, ctx.start, int((ctx.end - ctx.start) / STEP))
    for iv in intervals:
        p = prices.get(iv.start)
        if p is not None:
            iv.import_price, iv.export_price, iv.price_source = p.import_price_per_kwh, p.export_price_per_kwh, p.source


# --- the plug-in sessions of the range ------------------------------------------------------


def session_rows(ctx: Context) -> list[tuple[models.PlugSession, models.Vehicle | None, models.Charger]]:
    """Every plug-in on the site's chargers that started in the range, with its vehicle and charger."""
    chargers = {c.id: c for c in ctx.session.exec(select(models.Charger).where(models.Charger.site_id == ctx.site.id))}
    plugs = ctx.session.exec(
        select(models.PlugSession)
        .where(col(models.PlugSession.charger_id).in_(list(chargers)))
        .where(models.PlugSession.started_at >= ctx.start)
        .where(models.PlugSession.started_at < ctx.end)
        .order_by(models.PlugSession.started_at, models.PlugSession.id)
    ).all()
    return [
        (p, ctx.session.get(models.Vehicle, p.vehicle_id) if p.vehicle_id else None, chargers[p.charger_id])
        for p in plugs
    ]


def session_samples(ctx: Context, plug: models.PlugSession) -> list[models.MeterSample]:
    """The charger's meter readings during a plug-in (until now while it lasts), oldest first."""
    end = plug.ended_at or now()
    return ctx.session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == plug.charger_id)
        .where(models.MeterSample.time >= plug.started_at)
        .where(models.MeterSample.time < end)
        .order_by(models.MeterSample.time)
    ).all()
