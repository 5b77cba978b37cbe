"""Prices and grid signals as the pages show them: the price now, events in force, and both over time."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import models
from core.db import session_scope


def price_now(*, session: Session, site_id: str, at: datetime) -> models.PricePoint | None:
    """The price point in force at `at` (None when no price covers it)."""
    return session.exec(
        select(models.PricePoint)
        .where(models.PricePoint.site_id == site_id)
        .where(models.PricePoint.start <= at)
        .where(models.PricePoint.end > at)
        .limit(1)
    ).first()


def _event(r: models.GridSignal) -> dict:
    return {
        "kind": r.kind,
        "kw": r.kw,
        "start": r.start,
        "end": r.end,
        "reward_per_kwh": r.reward_per_kwh,
        "source": r.source,
    }


def grid_events_at(*, session: Session, site_id: str, at: datetime) -> list[dict]:
    """`active_grid_events` inside the caller's transaction."""
    rows = session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site_id)
        .where(models.GridSignal.start <= at)
        .where(models.GridSignal.end > at)
        .where(models.GridSignal.kind != "price")
    ).all()
    return [_event(r) for r in rows]


def active_grid_events(site_id: str, at: datetime, *, engine: Engine | None = None) -> list[dict]:
    """Grid signals (caps, export requests) in force at `at`."""
    with session_scope(engine) as session:
        return grid_events_at(session=session, site_id=site_id, at=at)


def price_frame(site_id: str, *, since: datetime, until: datetime, engine: Engine | None = None) -> pd.DataFrame:
    """Import and export prices from `since` to `until` (DataFrame: time, import_price, export_price)."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(
                models.PricePoint.start, models.PricePoint.import_price_per_kwh, models.PricePoint.export_price_per_kwh
            )
            .where(models.PricePoint.site_id == site_id)
            .where(models.PricePoint.start >= since)
            .where(models.PricePoint.start < until)
            .order_by(models.PricePoint.start)
        ).all()
    frame = pd.DataFrame(rows, columns=["time", "import_price", "export_price"])
    if not frame.empty:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def grid_events(site_id: str, *, since: datetime, until: datetime, engine: Engine | None = None) -> list[dict]:
    """Grid signals overlapping [since, until), with their id and whether the site opted in."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(models.GridSignal)
            .where(models.GridSignal.site_id == site_id)
            .where(models.GridSignal.end > since)
            .where(models.GridSignal.start < until)
            .where(models.GridSignal.kind != "price")
            .order_by(models.GridSignal.start)
        ).all()
        return [{"id": r.id, **_event(r), "opted_in": r.opted_in} for r in rows]
