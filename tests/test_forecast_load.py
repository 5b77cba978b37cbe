"""The building-load forecast from the site's own history: the median of the same weekday and time over
the last weeks (gaps left out, an odd week outvoted), then the demo profile, the same time of day
lately, the mean of history, and 0 with no history at all. The horizon starts at T0 (Tue 13:00 CET)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import delete

from core import models
from core.config import get_settings
from core.db import session_scope
from core.demo import demo_profile
from core.planning.forecast import load_pv_forecast
from core.planning.load_forecast import SiteHistory, history_forecast
from core.rules.steps import STEP
from tests.conftest import T0

SITE = "depot-ams"


def add_samples(engine, samples: list[tuple[datetime, float]], *, pv_kw: float = 0.0) -> None:
    with session_scope(engine) as s:
        s.exec(delete(models.SiteSample).where(models.SiteSample.site_id == SITE))
        for t, kw in samples:
            s.add(models.SiteSample(site_id=SITE, time=t, building_load_kw=kw, pv_kw=pv_kw, net_import_kw=kw - pv_kw))


def forecast(engine, *, start=T0, steps=8, profile=None):
    with session_scope(engine) as s:
        site = s.get(models.Site, SITE)
        history = SiteHistory(session=s, site=site, start=start, steps=steps)
        profile_kw = [profile.at(start + STEP * k)[0] for k in range(steps)] if profile else None
        return history_forecast(history, "building_load_kw", profile_kw=profile_kw)


def week_ago(weeks: int, step: int = 0, minute: int = 5) -> datetime:
    return T0 - timedelta(days=7 * weeks) + STEP * step + timedelta(minutes=minute)


def test_the_median_of_past_weeks_leaves_gaps_out_and_outvotes_an_odd_week(demo_engine):
    # Step 0: weeks 1, 3 and 4 read 100, 110 and 900 kW (week 2's meter was off): median 110, not the mean.
    # Step 1: two readings in week 1 (mean 200) and one in week 2 (240): median of the weekly means, 220.
    add_samples(demo_engine, [
        (week_ago(1), 100.0), (week_ago(3), 110.0), (week_ago(4), 900.0),
        (week_ago(1, 1, 2), 190.0), (week_ago(1, 1, 9), 210.0), (week_ago(2, 1), 240.0),
    ])  # fmt: skip
    f = forecast(demo_engine, steps=2)
    assert f.kw == [110.0, 220.0]
    assert f.sources == ["history", "history"] and f.source == "history"


def test_steps_without_that_weekday_fall_back_to_the_same_time_of_day_then_the_mean(demo_engine):
    # Step 0 has a week-ago reading (300). Step 1 has none on that weekday, but yesterday and the day
    # before read 50 and 70 kW at that time: their median, 60. Step 2 has nothing at that time at all:
    # the mean of every 15-minute mean read (300, 50, 70): 140.
    add_samples(demo_engine, [
        (week_ago(1), 300.0),
        (T0 - timedelta(days=1) + STEP + timedelta(minutes=3), 50.0),
        (T0 - timedelta(days=2) + STEP + timedelta(minutes=3), 70.0),
    ])  # fmt: skip
    f = forecast(demo_engine, steps=3)
    assert f.kw == [300.0, 60.0, pytest.approx(140.0)]
    assert f.sources == ["history", "same time of day", "mean of history"]
    assert f.source == "history + same time of day + mean of history"


def test_in_demo_mode_the_profile_fills_what_the_weekday_history_does_not(demo_engine):
    profile = demo_profile(get_settings().demo_dir)
    add_samples(demo_engine, [(week_ago(1), 300.0), (T0 - timedelta(days=1) + STEP, 55.0)])
    f = forecast(demo_engine, steps=3, profile=profile)
    assert f.kw[0] == 300.0  # the site's own history wins
    assert f.kw[1:] == [pytest.approx(profile.at(T0 + STEP * k)[0]) for k in (1, 2)]  # not yesterday's 55
    assert f.source == "history + demo profile"


def test_a_site_without_history_forecasts_zero_and_says_so(demo_engine):
    add_samples(demo_engine, [])
    f = forecast(demo_engine, steps=4)
    assert f.kw == [0.0] * 4 and f.source == "no history"


def test_the_same_local_time_is_matched_across_a_dst_change(demo_engine):
    # Horizon: Monday 30 March 2026 08:00 CEST (06:00Z); a week earlier 08:00 was CET (07:00Z).
    start = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    add_samples(
        demo_engine, [(datetime(2026, 3, 23, 7, 5, tzinfo=UTC), 123.0), (datetime(2026, 3, 23, 6, 5, tzinfo=UTC), 9.0)]
    )
    f = forecast(demo_engine, start=start, steps=1)
    assert f.kw == [123.0] and f.sources == ["history"]


def test_the_plan_uses_it_for_the_whole_horizon(demo_engine):
    # Four weeks of a flat 80 kW at every quarter of the horizon's weekday: the whole horizon is history.
    add_samples(demo_engine, [(week_ago(w, k), 80.0) for w in range(1, 5) for k in range(96)])
    with session_scope(demo_engine) as s:
        load, pv, source = load_pv_forecast(session=s, site=s.get(models.Site, SITE), start=T0, profile=None)
    assert load == [80.0] * 96 and pv == [0.0] * 96 and source == "history"
