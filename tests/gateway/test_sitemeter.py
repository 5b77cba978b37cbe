"""The site meter: building and PV from the demo profile, EV power from the chargers' latest readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import models
from core.db import session_scope
from core.gateway.sitemeter import SiteMeter
from tests.gateway.support import DEMO, SITE_ID, gateway_settings, rows

AT = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday around noon: building load and some PV


def add_samples(engine, samples):
    with session_scope(engine) as session:
        for charger_id, seconds_ago, power_kw in samples:
            session.add(
                models.MeterSample(
                    time=AT - timedelta(seconds=seconds_ago), charger_id=charger_id, power_kw=power_kw
                )
            )


def test_a_site_sample_sums_the_latest_charger_powers(engine):
    add_samples(
        engine,
        [
            ("CP-BUS-01", 25, 80.0),
            ("CP-BUS-01", 5, 100.0),  # the latest counts: 100
            ("CP-VAN-05", 5, -20.0),  # discharging
            ("CP-CAR-01", 5, 11.0),
            ("CP-CAR-02", 600, 11.0),  # ten minutes old: not counted
        ],
    )
    meter = SiteMeter(
        engine=engine, settings=gateway_settings(str(engine.url), demo=True, meter_interval_s=10.0)
    )
    meter.write_samples(AT)

    (sample,) = rows(engine, models.SiteSample, models.SiteSample.site_id == SITE_ID)
    building_kw, pv_kw, _, _ = DEMO.profile.at(AT)
    assert (sample.building_load_kw, sample.pv_kw) == (building_kw, pv_kw)
    assert sample.ev_power_kw == pytest.approx(100.0 - 20.0 + 11.0)
    assert (sample.ev_charge_kw, sample.ev_discharge_kw) == (pytest.approx(111.0), pytest.approx(20.0))
    assert sample.net_import_kw == pytest.approx(building_kw - pv_kw + 91.0)
    assert sample.time == AT


def test_without_a_meter_reader_no_site_sample_is_invented(engine):
    meter = SiteMeter(engine=engine, settings=gateway_settings(str(engine.url), demo=False))
    assert meter.write_samples(AT) == []
    assert rows(engine, models.SiteSample) == []
