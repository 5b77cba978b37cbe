"""What the plan expects over its horizon: building load and PV, prices, grid signals, the tariff and
the month's demand peak so far.

Reads only: the month-peak bookkeeping is returned as a `MonthPeak` and written to the site row by
the dispatch run's final transaction (`record_month_peak`), never while a problem is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import models, signals
from core.planning.load_forecast import HISTORY_WEEKS, SiteHistory, history_forecast
from core.planning.pv_forecast import has_pv_location, pv_forecast
from core.rules.local_time import to_local
from core.rules.steps import HORIZON_STEPS, STEP, floor_step, step_times

# The load forecast is the median of the same weekday and time over this many past weeks.
FORECAST_WEEKS = HISTORY_WEEKS


def price_forecast(
    *, session: Session, site: models.Site, start: datetime, profile
) -> tuple[list[float], list[float], int]:
    """Import and export price per step, and how many steps were assumed.

    Where no price is stored: the tariff rule, the demo profile, the last known day or the last
    known price (core.signals.price_steps).
    """
    steps = signals.price_steps(session=session, site=site, start=start, steps=HORIZON_STEPS, profile=profile)
    return (
        [s.import_price_per_kwh for s in steps],
        [s.export_price_per_kwh for s in steps],
        sum(1 for s in steps if s.assumed),
    )


def load_pv_forecast(
    *, session: Session, site: models.Site, start: datetime, profile, steps: int = HORIZON_STEPS
) -> tuple[list[float], list[float], str]:
    """Building load and PV per step (kW), and where the forecast came from.

    Load: the site's own history (core.planning.load_forecast: same weekday and time over the last
    weeks, then the demo profile, the same time of day lately, the mean). PV: clear sky at the
    site's location scaled by its recent measured output (core.planning.pv_forecast) when the site
    has a latitude, longitude and kWp; else the same history ladder as the load.
    """
    history = SiteHistory(session=session, site=site, start=start, steps=steps)
    profile_rows = [profile.at(t) for t in step_times(start, steps)] if profile is not None else None
    load = history_forecast(
        history, "building_load_kw", profile_kw=[r[0] for r in profile_rows] if profile_rows else None
    )
    if has_pv_location(site):
        pv = pv_forecast(history, site)
        return load.kw, pv.kw, f"{load.source}; PV: {pv.source}"
    pv_hist = history_forecast(history, "pv_kw", profile_kw=[r[1] for r in profile_rows] if profile_rows else None)
    source = load.source if pv_hist.source == load.source else f"{load.source}; PV: {pv_hist.source}"
    return load.kw, pv_hist.kw, source


def grid_signal_entries(*, session: Session, site: models.Site, start: datetime) -> list[dict]:
    """The import caps and opted-in export requests over the horizon, as scenario `grid_signals`."""
    end = start + STEP * HORIZON_STEPS
    rows = session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site.id)
        .where(models.GridSignal.end > start)
        .where(models.GridSignal.start < end)
        .where(col(models.GridSignal.kind).in_(("import_cap", "export_request")))
    ).all()
    step_s = STEP.total_seconds()
    out = []
    for s in rows:
        if s.kind == "export_request" and not s.opted_in:
            continue
        entry = {
            "kind": s.kind,
            # A step the signal touches at all is inside it: its start rounds down, its end up.
            "start_step": max(0, math.floor((s.start - start).total_seconds() / step_s)),
            "end_step": min(HORIZON_STEPS, math.ceil((s.end - start).total_seconds() / step_s)),
            "kw": s.kw,
        }
        if s.kind == "export_request":
            entry["reward_per_kwh"] = s.reward_per_kwh
        out.append(entry)
    return out


# --- the month's demand peak -----------------------------------------------------------------


@dataclass(frozen=True)
class MonthPeak:
    """The highest 15-minute mean net import of the site's local month, counted through `through`."""

    import_kw: float
    through: datetime
    month_start: datetime


def month_peak(*, session: Session, site: models.Site, at: datetime) -> MonthPeak:
    """The month's peak up to `at`: the site row's stored peak, extended by the quarters completed since.

    Reads a few minutes of samples, not the month; writes nothing (see `record_month_peak`).
    """
    local = to_local(at, site.timezone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(at.tzinfo)
    peak_kw, counted_through = site.month_peak_import_kw, site.month_peak_through
    if counted_through is None or counted_through < month_start:
        peak_kw, counted_through = 0.0, month_start
    through = floor_step(at)
    if through > counted_through:
        rows = session.exec(
            select(models.SiteSample.time, models.SiteSample.net_import_kw)
            .where(models.SiteSample.site_id == site.id)
            .where(models.SiteSample.time >= counted_through)
            .where(models.SiteSample.time < through)
        ).all()
        quarters: dict[datetime, list[float]] = {}
        for t, net_kw in rows:
            quarters.setdefault(floor_step(t), []).append(net_kw)
        peak_kw = max([peak_kw, *(sum(v) / len(v) for v in quarters.values())])
        counted_through = through
    return MonthPeak(import_kw=peak_kw, through=counted_through, month_start=month_start)


def record_month_peak(site: models.Site, peak: MonthPeak) -> None:
    """Keep `peak` on the site row (in the caller's write transaction), unless the row already counts further."""
    stored = site.month_peak_through
    if stored is None or stored < peak.month_start:
        site.month_peak_import_kw, site.month_peak_through = peak.import_kw, peak.through
    elif peak.through >= stored:
        site.month_peak_import_kw = max(site.month_peak_import_kw, peak.import_kw)
        site.month_peak_through = peak.through


def tariff_entry(
    *, session: Session, site: models.Site, at: datetime, import_prices: list[float], export_prices: list[float]
) -> tuple[dict, MonthPeak | None]:
    """The scenario's `tariff`, and the month peak it was priced against (None without a demand charge)."""
    tariff: dict = {"import_price": import_prices, "export_price": export_prices}
    rule = session.get(models.Tariff, site.id)
    if rule is None or rule.demand_charge_per_kw_month <= 0:
        return tariff, None
    # A monthly demand charge: raising the month's peak costs the whole monthly rate per kW,
    # staying under the peak so far costs nothing more (demand_peak_floor_kw, the engine's extension).
    peak = month_peak(session=session, site=site, at=at)
    tariff["demand_charge_per_kw"] = rule.demand_charge_per_kw_month
    tariff["demand_peak_floor_kw"] = peak.import_kw
    return tariff, peak
