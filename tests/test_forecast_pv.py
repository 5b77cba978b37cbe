"""The PV forecast: pvlib's clear sky at the site's location and kWp (PVWatts-style), scaled by the
site's recent measured PV against clear sky. Checked against physics for Amsterdam (52.37 N, 4.90 E):
nothing at night, the peak near solar noon, never above the inverter's rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import delete

from core import models
from core.db import session_scope
from core.planning.forecast import load_pv_forecast
from core.planning.load_forecast import SiteHistory
from core.planning.pv_forecast import DC_AC_RATIO, MAX_SCALE, clear_sky_pv_kw, pv_forecast
from core.rules.steps import STEP, step_times

SITE = "depot-ams"
LAT, LON, KWP = 52.37, 4.90, 100.0
MIDSUMMER = datetime(2026, 6, 20, 22, 0, tzinfo=UTC)  # 21 June 00:00 CEST
# Solar noon in Amsterdam on 21 June: 12:00 UTC less the longitude (4.90° = 19.6 min) less the
# equation of time (-1.7 min): about 11:42 UTC.
SOLAR_NOON = datetime(2026, 6, 21, 11, 42, tzinfo=UTC)


def day(start: datetime) -> list[datetime]:
    return step_times(start, 96)


def test_clear_sky_pv_is_physically_sensible_on_midsummer_day():
    times = day(MIDSUMMER)
    kw = clear_sky_pv_kw(times, latitude=LAT, longitude=LON, kwp=KWP)
    by_time = dict(zip(times, kw, strict=True))
    # Night: sunset ~22:00 CEST, sunrise ~05:20 CEST.
    night = [v for t, v in by_time.items() if t.hour in (0, 1, 2) or t.hour == 23 or t.hour == 22]
    assert night and max(night) == 0.0
    peak_time = max(by_time, key=by_time.get)
    assert abs(peak_time + STEP / 2 - SOLAR_NOON) <= timedelta(minutes=45)
    assert 0.6 * KWP < max(kw) <= KWP / DC_AC_RATIO + 1e-9  # clipped at the inverter's AC rating
    energy_kwh = sum(kw) * 0.25
    assert 500 < energy_kwh < 900  # a clear June day in the Netherlands: 5-9 kWh per kWp


def test_winter_gives_less_than_summer_and_a_later_sunrise():
    summer = clear_sky_pv_kw(day(MIDSUMMER), latitude=LAT, longitude=LON, kwp=KWP)
    winter = clear_sky_pv_kw(day(datetime(2026, 12, 20, 23, 0, tzinfo=UTC)), latitude=LAT, longitude=LON, kwp=KWP)
    assert sum(winter) < 0.3 * sum(summer)
    first_light = [next(k for k, v in enumerate(series) if v > 0) for series in (summer, winter)]
    assert first_light[1] > first_light[0] + 8  # more than two hours later (local time)


def set_location(engine, *, samples_scale: float | None):
    """Amsterdam, 100 kWp; with `samples_scale`, three days of PV readings at that share of clear sky."""
    with session_scope(engine) as s:
        site = s.get(models.Site, SITE)
        site.latitude, site.longitude, site.pv_peak_kwp = LAT, LON, KWP
        s.exec(delete(models.SiteSample).where(models.SiteSample.site_id == SITE))
        if samples_scale is not None:
            past = step_times(MIDSUMMER - timedelta(days=3), 3 * 96)
            for t, kw in zip(past, clear_sky_pv_kw(past, latitude=LAT, longitude=LON, kwp=KWP), strict=True):
                pv = kw * samples_scale
                s.add(models.SiteSample(site_id=SITE, time=t + STEP / 2, building_load_kw=50.0, pv_kw=pv,
                                        net_import_kw=50.0 - pv))  # fmt: skip


def forecast(engine):
    with session_scope(engine) as s:
        site = s.get(models.Site, SITE)
        return pv_forecast(SiteHistory(session=s, site=site, start=MIDSUMMER, steps=96), site)


@pytest.mark.parametrize(("measured", "scale"), [(0.5, 0.5), (0.9, 0.9), (2.0, MAX_SCALE)])
def test_the_forecast_is_clear_sky_scaled_by_recent_measured_output(demo_engine, measured, scale):
    set_location(demo_engine, samples_scale=measured)
    f = forecast(demo_engine)
    # The readings are at the step's middle, the clear sky is the step's middle too, so the ratio is exact.
    assert f.scale == pytest.approx(scale, abs=0.01)
    ac_kw = KWP / DC_AC_RATIO  # scaled up, it still never beats the inverter
    assert f.kw == [pytest.approx(min(ac_kw, c * scale), abs=0.01) for c in f.clear_sky_kw]
    assert max(f.kw) <= ac_kw + 1e-9
    assert "(measured)" in f.source


def test_without_measured_pv_the_forecast_is_clear_sky_and_says_so(demo_engine):
    set_location(demo_engine, samples_scale=None)
    f = forecast(demo_engine)
    assert f.scale == 1.0 and f.kw == f.clear_sky_kw
    assert f.source == "clear sky (too little measured PV to scale it)"


def test_the_plan_takes_pv_from_the_sky_where_the_site_has_a_location(demo_engine):
    set_location(demo_engine, samples_scale=0.5)
    with session_scope(demo_engine) as s:
        load, pv, source = load_pv_forecast(session=s, site=s.get(models.Site, SITE), start=MIDSUMMER, profile=None)
    assert pv[0] == 0.0 and max(pv) > 30.0  # midnight dark, noon bright at half of clear sky
    assert load == [50.0] * 96  # the same time of day over the last three days
    assert source == "same time of day; PV: clear sky × 0.50 (measured)"
