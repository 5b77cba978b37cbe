"""Forecast against actual for the Plan page: building load and PV over the last 24 h and the next.

The last 24 h show the forecast as it was made a day ago (core.planning's forecast from the history
before that time; the same ladder a dispatch run then used) beside the measured 15-minute means;
the next 24 h show what the latest plan planned with (or, before the first run, the forecast now).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from core.clock import now
from core.db import session_scope
from core.planning import load_pv_forecast
from core.rules.steps import HORIZON_STEPS, STEP, floor_step
from core.signals import demo_profile
from core.sites import get_site
from core.telemetry.cache import DatabaseCache
from core.telemetry.history import site_history_frame
from core.telemetry.plans import latest_plan_in

FORECAST_ACTUAL_COLUMNS = ["time", "load_forecast_kw", "load_actual_kw", "pv_forecast_kw", "pv_actual_kw"]

# The forecast made a day ago reads only history older than that, so it is kept per horizon start.
_past_forecasts = DatabaseCache(maxsize=8)


def forecast_vs_actual(site_id: str, *, engine: Engine | None = None) -> tuple[pd.DataFrame, str]:
    """(DataFrame with FORECAST_ACTUAL_COLUMNS per 15-minute step, UTC, from 24 h ago to 24 h ahead;
    where the forecast came from). Actual values are NaN where nothing was measured (and ahead)."""
    start = floor_step(now())
    past_start = start - STEP * HORIZON_STEPS
    profile = demo_profile()
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        past_load, past_pv, source = _past_forecasts.get(
            session,
            (site_id, past_start, site.latitude, site.longitude, site.pv_peak_kwp),
            lambda: load_pv_forecast(session=session, site=site, start=past_start, profile=profile),
        )
        plan = latest_plan_in(session=session, site_id=site_id)
        planned = plan.inputs.get("base_load_kw") if plan.horizon_start == start else None
        if planned:
            next_load, next_pv = list(planned), list(plan.inputs.get("pv_kw") or [0.0] * len(planned))
            source = plan.inputs.get("forecast", source)
        else:
            next_load, next_pv, source = load_pv_forecast(session=session, site=site, start=start, profile=profile)
    times = pd.date_range(past_start, periods=2 * HORIZON_STEPS, freq=STEP)
    frame = pd.DataFrame(
        {"time": times, "load_forecast_kw": [*past_load, *next_load], "pv_forecast_kw": [*past_pv, *next_pv]}
    )
    measured = site_history_frame(site_id, since=past_start, until=now(), bucket_minutes=15, engine=engine)
    actual = measured.set_index("time")[["building_load_kw", "pv_kw"]] if len(measured) else None
    for column, name in (("building_load_kw", "load_actual_kw"), ("pv_kw", "pv_actual_kw")):
        frame[name] = frame["time"].map(actual[column]).astype(float) if actual is not None else float("nan")
    return frame[FORECAST_ACTUAL_COLUMNS], source


def mean_abs_error_kw(frame: pd.DataFrame, kind: str) -> float | None:
    """Mean absolute error (kW) of the `kind` ("load" or "pv") forecast over the measured steps."""
    both = frame[[f"{kind}_forecast_kw", f"{kind}_actual_kw"]].dropna()
    if both.empty:
        return None
    return float((both[f"{kind}_forecast_kw"] - both[f"{kind}_actual_kw"]).abs().mean())


def clear_forecast_actual_cache() -> None:
    """Forget the kept forecasts (tests)."""
    _past_forecasts.cache_clear()
