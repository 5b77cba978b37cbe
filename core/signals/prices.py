"""Prices: storing a price file's rows as 15-minute price points, and the price of each step ahead
with where it came from (`price_steps`).

Where no price is stored, dispatch and the Grid page use, in this order: the tariff rule, the demo
profile (demo mode), the price at the same time on the last day that has one (up to a week back),
the last stored price, and a flat 0.25/kWh; every such step is marked as assumed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from core import models
from core.audit import write_audit
from core.config import get_settings
from core.db import session_scope
from core.demo_files import DemoProfile
from core.demo_files import demo_profile as read_demo_profile
from core.rules.steps import STEP
from core.signals.csv_import import PriceRow, parse_price_csv
from core.signals.tariffs import tariff_table
from core.sites import get_site, request_replan

FLAT_IMPORT_PRICE = 0.25
LAST_DAY_LOOKBACK_DAYS = 7


# --- storing prices ---------------------------------------------------------------------------


def fifteen_minute_points(rows: list[PriceRow], *, site_id: str, source: str = "csv") -> list[models.PricePoint]:
    """The rows as 15-minute PricePoints: an hourly row becomes four with the same prices."""
    points = []
    for r in rows:
        t = r.start
        while t < r.end:
            points.append(
                models.PricePoint(
                    site_id=site_id,
                    start=t,
                    end=t + STEP,
                    import_price_per_kwh=r.import_price_per_kwh,
                    export_price_per_kwh=r.export_price_per_kwh,
                    source=source,
                )
            )
            t += STEP
    return points


def save_prices(*, session: Session, site_id: str, rows: list[PriceRow], actor: str, source: str = "csv") -> int:
    """Replace the stored prices of the rows' period with the rows; returns the PricePoints written."""
    get_site(session=session, site_id=site_id)
    request_replan(session=session, site_id=site_id)
    points = fifteen_minute_points(rows, site_id=site_id, source=source)
    first, last = points[0].start, points[-1].end
    session.exec(
        delete(models.PricePoint)
        .where(models.PricePoint.site_id == site_id)
        .where(models.PricePoint.start >= first)
        .where(models.PricePoint.start < last)
    )
    session.add_all(points)
    write_audit(
        session=session,
        actor=actor,
        action="import_prices",
        target=site_id,
        after={"from": first.isoformat(), "to": last.isoformat(), "points": len(points), "source": source},
    )
    return len(points)


def import_prices(*, text: str, site_id: str, timezone: str | None, actor: str, engine: Engine | None = None) -> int:
    """Parse and store a price file in one transaction; nothing is written when it has a fault."""
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        rows = parse_price_csv(text, currency=site.currency, timezone=timezone)
        return save_prices(session=session, site_id=site_id, rows=rows, actor=actor)


# --- prices per step, with what was assumed ---------------------------------------------------


@dataclass(frozen=True)
class PriceStep:
    """The import and export price of one 15-minute step and where it came from."""

    start: datetime
    import_price_per_kwh: float
    export_price_per_kwh: float
    source: str  # stored, tariff, demo profile, last known day, last known, flat

    @property
    def assumed(self) -> bool:
        """True unless a price was stored for the step."""
        return self.source != "stored"


def demo_profile() -> DemoProfile | None:
    """The demo week's profile in demo mode (what dispatch falls back on), else None."""
    settings = get_settings()
    if not settings.demo:
        return None
    return read_demo_profile(settings.demo_dir)


def price_steps(
    *, session: Session, site: models.Site, start: datetime, steps: int, profile: DemoProfile | None = None
) -> list[PriceStep]:
    """Import and export price for each 15-minute step from `start`, and where each came from."""
    end = start + STEP * steps
    points = session.exec(
        select(models.PricePoint)
        .where(models.PricePoint.site_id == site.id)
        .where(models.PricePoint.end > start - timedelta(days=LAST_DAY_LOOKBACK_DAYS))
        .where(models.PricePoint.start < end)
        .order_by(models.PricePoint.start)
    ).all()
    starts = [p.start for p in points]

    def stored(t: datetime) -> models.PricePoint | None:
        i = bisect.bisect_right(starts, t) - 1
        return points[i] if i >= 0 and points[i].end > t else None

    tariff = tariff_table(session=session, site=site)
    last_known = session.exec(
        select(models.PricePoint)
        .where(models.PricePoint.site_id == site.id)
        .where(models.PricePoint.start <= start)
        .order_by(col(models.PricePoint.start).desc())
        .limit(1)
    ).first()
    out = []
    for k in range(steps):
        t = start + STEP * k
        point = stored(t)
        if point is not None:
            out.append(PriceStep(t, point.import_price_per_kwh, point.export_price_per_kwh, "stored"))
            last_known = point
            continue
        rule = tariff.at(t) if tariff else None
        if rule is not None:
            out.append(PriceStep(t, rule[0], rule[1], "tariff"))
            continue
        if profile is not None:
            _, _, import_price, export_price = profile.at(t)
            out.append(PriceStep(t, import_price, export_price, "demo profile"))
            continue
        earlier = next((p for d in range(1, LAST_DAY_LOOKBACK_DAYS + 1) if (p := stored(t - timedelta(days=d)))), None)
        if earlier is not None:
            out.append(PriceStep(t, earlier.import_price_per_kwh, earlier.export_price_per_kwh, "last known day"))
        elif last_known is not None:
            out.append(PriceStep(t, last_known.import_price_per_kwh, last_known.export_price_per_kwh, "last known"))
        else:
            out.append(PriceStep(t, FLAT_IMPORT_PRICE, 0.0, "flat"))
    return out
