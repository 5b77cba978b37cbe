"""What the Plan page shows as forecast against actual: over the last 24 h the forecast as it was made
a day ago (from the history before then) beside the measured 15-minute means, and the forecast ahead.
Clock pinned at T0 (Tue 13:00 CET)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import delete

from core import models, telemetry
from core.db import session_scope
from core.rules.steps import STEP
from tests.conftest import T0

SITE = "depot-ams"


@pytest.fixture
def history(demo_engine):
    """Four weeks at 100 kW, then the last day at 120 kW: one reading in the middle of every quarter."""
    telemetry.clear_caches()
    with session_scope(demo_engine) as s:
        s.exec(delete(models.SiteSample).where(models.SiteSample.site_id == SITE))
        t = T0 - timedelta(days=28) + STEP / 2
        while t < T0:
            kw = 120.0 if t >= T0 - timedelta(days=1) else 100.0
            s.add(models.SiteSample(site_id=SITE, time=t, building_load_kw=kw, pv_kw=0.0, net_import_kw=kw))
            t += STEP
    yield demo_engine
    telemetry.clear_caches()


def test_the_last_day_shows_the_forecast_made_then_against_what_was_measured(history, clock):
    frame, source = telemetry.forecast_vs_actual(SITE, engine=history)
    assert len(frame) == 192
    assert frame["time"].iloc[0] == T0 - timedelta(days=1) and frame["time"].iloc[96] == T0
    past, ahead = frame.iloc[:96], frame.iloc[96:]
    # A day ago the history said 100 kW; 120 kW was measured: 20 kW off on average.
    assert (past["load_forecast_kw"] == 100.0).all() and (past["load_actual_kw"] == 120.0).all()
    assert telemetry.mean_abs_error_kw(frame, "load") == pytest.approx(20.0)
    # Ahead: the forecast now, nothing measured yet.
    assert (ahead["load_forecast_kw"] == 100.0).all() and ahead["load_actual_kw"].isna().all()
    assert (frame["pv_forecast_kw"] == 0.0).all()
    assert source == "history"


def test_ahead_it_shows_what_the_latest_plan_planned_with(history, clock):
    from core import planning

    run_id = planning.run_dispatch(site_id=SITE, trigger="test", engine=history)
    assert run_id is not None
    with session_scope(history) as s:
        run = s.get(models.DispatchRun, run_id)
        assert run.inputs_summary["base_load_kw"] == [100.0] * 96
        # Marked, so the chart is seen to read the run's inputs rather than forecast again.
        run.inputs_summary = {**run.inputs_summary, "base_load_kw": [77.0] * 96}
    frame, _ = telemetry.forecast_vs_actual(SITE, engine=history)
    assert list(frame["load_forecast_kw"].iloc[96:]) == [77.0] * 96


def test_nothing_measured_leaves_the_actual_lines_empty(demo_engine, clock):
    telemetry.clear_caches()
    with session_scope(demo_engine) as s:
        s.exec(delete(models.SiteSample).where(models.SiteSample.site_id == SITE))
    frame, source = telemetry.forecast_vs_actual(SITE, engine=demo_engine)
    assert frame["load_actual_kw"].isna().all() and frame["pv_actual_kw"].isna().all()
    assert telemetry.mean_abs_error_kw(frame, "pv") is None
    assert source == "demo profile"  # the tests run in demo mode: the demo week stands in
