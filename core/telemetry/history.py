"""History for the charts: site power and a charger's power and SoC, averaged per bucket.

Raw samples never reach the browser. The settled part of the site history (older than half an
hour) comes from a small per-process cache keyed by database, so a live update reads only the
last half hour of samples.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import String, cast
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import models
from core.db import session_scope
from core.telemetry.cache import DatabaseCache
from core.telemetry.frames import floor_time, rows_frame

SITE_HISTORY_COLUMNS = ["time", "building_load_kw", "pv_kw", "ev_charge_kw", "ev_discharge_kw", "net_import_kw"]
VEHICLE_HISTORY_COLUMNS = ["time", "power_kw", "soc"]
SETTLED = timedelta(minutes=30)  # history older than this is read once and kept (below)

# Samples older than half an hour no longer change (the site meter writes "now"), so the result
# for a given window can be kept; the key moves with the window every few minutes.
_settled_history = DatabaseCache(maxsize=16)


def site_history_frame(
    site_id: str, *, since: datetime, until: datetime, bucket_minutes: int = 5, engine: Engine | None = None
) -> pd.DataFrame:
    """Site power averaged per bucket (a pandas DataFrame with a `time` column, UTC).

    Columns: building_load_kw, pv_kw, ev_charge_kw, ev_discharge_kw, net_import_kw and `hours`, the
    hours of the bucket that samples cover (for energy sums).
    """
    step = timedelta(minutes=bucket_minutes)
    since = floor_time(since, step)
    cut = max(since, floor_time(until, SETTLED))
    with session_scope(engine) as session:
        parts = []
        if cut > since:
            key = (site_id, since, cut, bucket_minutes)
            settled = _settled_history.get(
                session, key, lambda: _site_history(session, site_id, since, cut, bucket_minutes)
            )
            parts.append(settled)
        parts.append(_site_history(session, site_id, cut, until, bucket_minutes))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=[*SITE_HISTORY_COLUMNS, "hours"])
    # concat makes a new frame; a lone part is copied so the cached one is never handed out.
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()


def _site_history(
    session: Session, site_id: str, since: datetime, until: datetime, bucket_minutes: int
) -> pd.DataFrame:
    # Time as text, parsed by pandas in one vectorised step (see frames.rows_frame).
    rows = session.exec(
        select(
            cast(models.SiteSample.time, String),
            models.SiteSample.building_load_kw,
            models.SiteSample.pv_kw,
            models.SiteSample.ev_charge_kw,
            models.SiteSample.ev_discharge_kw,
            models.SiteSample.net_import_kw,
        )
        .where(models.SiteSample.site_id == site_id)
        .where(models.SiteSample.time >= since)
        .where(models.SiteSample.time < until)
        .order_by(models.SiteSample.time)
    ).all()
    if not rows:
        return pd.DataFrame(columns=[*SITE_HISTORY_COLUMNS, "hours"])
    frame = rows_frame(rows, SITE_HISTORY_COLUMNS)
    out = frame.set_index("time").resample(f"{bucket_minutes}min").mean().dropna(how="all")
    out["hours"] = bucket_minutes / 60
    return out.reset_index()


def vehicle_history_frame(
    charger_id: str, *, since: datetime, until: datetime, bucket_minutes: int = 5, engine: Engine | None = None
) -> pd.DataFrame:
    """A charger's power and SoC averaged per bucket (DataFrame: time, power_kw, soc)."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(cast(models.MeterSample.time, String), models.MeterSample.power_kw, models.MeterSample.soc)
            .where(models.MeterSample.charger_id == charger_id)
            .where(models.MeterSample.time >= since)
            .where(models.MeterSample.time < until)
            .order_by(models.MeterSample.time)
        ).all()
    if not rows:
        return pd.DataFrame(columns=VEHICLE_HISTORY_COLUMNS)
    frame = rows_frame(rows, VEHICLE_HISTORY_COLUMNS)
    return frame.set_index("time").resample(f"{bucket_minutes}min").mean().dropna(how="all").reset_index()


def clear_history_cache() -> None:
    """Forget the settled history (tests, benchmarks)."""
    _settled_history.cache_clear()
