"""core.gateway.meter: OCPP meter values -> readings in kW, kWh, SoC fraction, UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.gateway.meter import MeterValueError, parse_timestamp, readings_from_meter_values

AT = "2026-03-02T17:00:00Z"


def sv16(value, measurand=None, unit=None, **extra):
    return {
        k: v for k, v in {"value": str(value), "measurand": measurand, "unit": unit, **extra}.items() if v
    }


def sv2(value, measurand=None, unit=None, multiplier=None, **extra):
    entry = {"value": value, **extra}
    if measurand:
        entry["measurand"] = measurand
    if unit or multiplier is not None:
        entry["unit_of_measure"] = {
            k: v for k, v in {"unit": unit, "multiplier": multiplier}.items() if v is not None
        }
    return entry


def test_1_6_values_scale_by_their_unit_and_default_to_wh():
    (reading,) = readings_from_meter_values(
        [
            {
                "timestamp": AT,
                "sampled_value": [
                    sv16("7400", "Power.Active.Import", "W"),
                    sv16("12.5", "Energy.Active.Import.Register", "kWh"),
                    sv16(
                        "3000"
                    ),  # no measurand: Energy.Active.Import.Register in Wh (a second total: ignored)
                    sv16("1500", "Energy.Active.Export.Register"),  # Wh by default
                    sv16("63.5", "SoC", "Percent", location="EV"),
                ],
            }
        ],
        protocol="1.6",
    )
    assert reading.time == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    assert reading.power_kw == pytest.approx(7.4)
    assert reading.energy_import_kwh == pytest.approx(12.5)  # the first total given wins
    assert reading.energy_export_kwh == pytest.approx(1.5)
    assert reading.soc == pytest.approx(0.635)


def test_2_x_values_use_unit_and_multiplier():
    (reading,) = readings_from_meter_values(
        [
            {
                "timestamp": AT,
                "sampled_value": [
                    sv2(7.4, "Power.Active.Import", "kW"),
                    sv2(25, "Energy.Active.Import.Register", "Wh", multiplier=3),  # 25 x 10^3 Wh = 25 kWh
                    sv2(44, "SoC", "Percent", location="EV"),
                ],
            }
        ],
        protocol="2.0.1",
    )
    assert reading.power_kw == pytest.approx(7.4)
    assert reading.energy_import_kwh == pytest.approx(25.0)
    assert reading.soc == pytest.approx(0.44)


@pytest.mark.parametrize(
    ("values", "expected_kw"),
    [
        (
            [sv2(0, "Power.Active.Import", "W"), sv2(5000, "Power.Active.Export", "W")],
            -5.0,
        ),  # export reported
        ([sv2(-5000, "Power.Active.Import", "W")], -5.0),  # negative import reported
        (
            [
                sv2(2000, "Power.Active.Import", "W", phase="L1"),
                sv2(2000, "Power.Active.Import", "W", phase="L2"),
                sv2(2000, "Power.Active.Import", "W", phase="L3"),
            ],
            6.0,
        ),  # per phase only: summed
        ([sv2(6000, "Power.Active.Import", "W"), sv2(2000, "Power.Active.Import", "W", phase="L1")], 6.0),
        (
            [
                sv2(9000, "Power.Active.Import", "W", location="Inlet"),
                sv2(8000, "Power.Active.Import", "W", location="Outlet"),
            ],
            8.0,
        ),  # the outlet, where the EV is
    ],
)
def test_one_signed_power_whatever_the_station_reports(values, expected_kw):
    (reading,) = readings_from_meter_values([{"timestamp": AT, "sampled_value": values}], protocol="2.1")
    assert reading.power_kw == pytest.approx(expected_kw)


def test_unused_measurands_and_units_are_skipped():
    readings = readings_from_meter_values(
        [
            {
                "timestamp": AT,
                "sampled_value": [sv16("16", "Current.Import", "A"), sv16("230", "Voltage", "V")],
            }
        ],
        protocol="1.6",
    )
    assert readings == []


@pytest.mark.parametrize(
    "meter_value",
    [
        [{"timestamp": AT, "sampled_value": [sv16("abc", "SoC", "Percent")]}],
        [{"timestamp": AT, "sampled_value": [sv16("140", "SoC", "Percent")]}],
        [{"timestamp": AT, "sampled_value": [sv16("nan", "Power.Active.Import", "W")]}],
        [{"timestamp": "yesterday", "sampled_value": [sv16("1", "SoC", "Percent")]}],
    ],
)
def test_values_that_cannot_be_readings_are_refused(meter_value):
    with pytest.raises(MeterValueError):
        readings_from_meter_values(meter_value, protocol="1.6")


def test_timestamps_without_a_zone_are_utc():
    assert parse_timestamp("2026-03-02T18:00:00+01:00") == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    assert parse_timestamp("2026-03-02T17:00:00") == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
