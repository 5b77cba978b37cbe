"""core.charging_profiles: setpoint schedule -> SetChargingProfile payloads, checked against the OCPP schemas.

Each payload goes through exactly what the gateway does before sending: the library's request class
built from the snake_case keys, converted back to camelCase and validated against the official
schema of its version. The round trip must give back the very payload (no key lost or renamed).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import Call, validate_payload
from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201

from core import charging_profiles as profiles
from core.charging_profiles import (
    ProfileError,
    build_charging_profile,
    clear_charging_profile,
    safe_default_profile,
)

CALLS = {"1.6": call16, "2.0.1": call201, "2.1": call21}
T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def on_the_wire(protocol: str, action: str, payload: dict) -> dict:
    """What the gateway would send for `payload`; raises if the library or the schema refuses it."""
    request = getattr(CALLS[protocol], action)(**camel_to_snake_case(payload))
    wire = remove_nones(snake_to_camel_case(serialize_as_dict(request)))
    asyncio.run(validate_payload(Call("test", action, wire), protocol))
    return wire


def periods_of(payload: dict) -> list[dict]:
    schedule = profiles.charging_profile_of(payload)["chargingSchedule"]
    return (schedule if isinstance(schedule, dict) else schedule[0])["chargingSchedulePeriod"]


def numbers_in(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_a_charge_schedule_becomes_a_tx_profile_in_watts(protocol):
    payload = build_charging_profile(
        protocol=protocol,
        periods=[(T0, 11.0), (T0 + timedelta(minutes=15), 3.7), (T0 + timedelta(minutes=30), 3.7)],
        max_charge_kw=22.0,
        transaction_id="42",
        end=T0 + timedelta(hours=1),
    )
    assert on_the_wire(protocol, "SetChargingProfile", payload) == payload
    profile = profiles.charging_profile_of(payload)
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["stackLevel"] == profiles.DISPATCH_STACK_LEVEL
    assert profile["validTo"] == "2026-03-02T18:00:00Z"
    # 1.6 transactionId is an integer, 2.x a string.
    assert profile["transactionId"] == (42 if protocol == "1.6" else "42")
    # The two equal 3.7 kW steps make one period; limits in W.
    assert [(p["startPeriod"], p["limit"]) for p in periods_of(payload)] == [(0, 11000.0), (900, 3700.0)]
    if protocol == "2.1":
        assert {p["operationMode"] for p in periods_of(payload)} == {"ChargingOnly"}
        assert profile["maxOfflineDuration"] == profiles.MAX_OFFLINE_DURATION_S


@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_without_a_transaction_it_is_a_tx_default_profile(protocol):
    payload = build_charging_profile(protocol=protocol, periods=[(T0, 5.0)], max_charge_kw=11.0)
    on_the_wire(protocol, "SetChargingProfile", payload)
    profile = profiles.charging_profile_of(payload)
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert "transactionId" not in profile
    # No end given: one day.
    assert profile["validTo"] == "2026-03-03T17:00:00Z"


def test_discharge_on_2_1_is_a_central_setpoint_with_a_discharge_limit():
    payload = build_charging_profile(
        protocol="2.1",
        periods=[(T0, 20.0), (T0 + timedelta(hours=1), -7.4)],
        max_charge_kw=22.0,
        max_discharge_kw=10.0,
        transaction_id="TX-1",
    )
    on_the_wire("2.1", "SetChargingProfile", payload)
    charge, discharge = periods_of(payload)
    assert charge == {"startPeriod": 0, "limit": 20000.0, "operationMode": "ChargingOnly"}
    assert discharge == {
        "startPeriod": 3600,
        "limit": 0.0,
        "operationMode": "CentralSetpoint",
        "setpoint": -7400.0,
        "dischargeLimit": -7400.0,
    }


@pytest.mark.parametrize(
    ("protocol", "max_discharge_kw", "accepts_negative_limits", "expected_w"),
    [
        ("2.1", 10.0, False, -10000.0),  # clamped to the charger's discharge power
        ("2.0.1", 20.0, True, -15000.0),  # vendor convention: a negative limit
        ("1.6", 20.0, True, -15000.0),
        ("2.0.1", 20.0, False, 0.0),  # no standard discharge in 2.0.1: charge-only
        ("1.6", 0.0, True, 0.0),  # one-way charger: never
        ("2.1", 0.0, False, 0.0),
    ],
)
def test_discharge_only_where_charger_and_protocol_allow_it(
    protocol, max_discharge_kw, accepts_negative_limits, expected_w
):
    payload = build_charging_profile(
        protocol=protocol,
        periods=[(T0, -15.0)],
        max_charge_kw=22.0,
        max_discharge_kw=max_discharge_kw,
        accepts_negative_limits=accepts_negative_limits,
        transaction_id="7",
    )
    on_the_wire(protocol, "SetChargingProfile", payload)
    (period,) = periods_of(payload)
    given_w = period.get("setpoint", period["limit"])
    assert given_w == expected_w
    if expected_w == 0:
        assert min(numbers_in(payload)) >= 0, "nothing negative may reach a charger that must not discharge"


@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_safe_default_charges_at_full_power_below_every_dispatch_profile(protocol):
    payload = safe_default_profile(protocol=protocol, max_charge_kw=11.0, at=T0)
    assert on_the_wire(protocol, "SetChargingProfile", payload) == payload
    profile = profiles.charging_profile_of(payload)
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert profile["stackLevel"] == profiles.SAFE_DEFAULT_STACK_LEVEL < profiles.DISPATCH_STACK_LEVEL
    assert "validTo" not in profile  # it never ends
    (period,) = periods_of(payload)
    assert period["limit"] == 11000.0
    assert min(numbers_in(payload)) >= 0
    assert payload.get("connectorId", payload.get("evseId")) == 0  # every connector / EVSE


@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_clear_payloads_are_valid_and_spare_the_safe_default(protocol):
    on_the_wire(
        protocol, "ClearChargingProfile", clear_charging_profile(protocol=protocol, transaction_id="3")
    )
    on_the_wire(protocol, "ClearChargingProfile", clear_charging_profile(protocol=protocol, profile_id=100))
    with pytest.raises(ProfileError):
        clear_charging_profile(protocol=protocol, profile_id=profiles.SAFE_DEFAULT_PROFILE_ID)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"periods": []}, "at least one period"),
        ({"periods": [(T0, 1.0), (T0, 2.0)]}, "increase"),
        ({"periods": [(T0.replace(tzinfo=None), 1.0)]}, "naive"),
        ({"periods": [(T0, float("nan"))]}, "finite"),
        ({"protocol": "2.0"}, "protocol"),
        ({"transaction_id": "TX-A", "protocol": "1.6"}, "integer"),
        ({"profile_id": profiles.SAFE_DEFAULT_PROFILE_ID}, "reserved"),
        ({"end": T0}, "after the last period"),
    ],
)
def test_bad_input_gives_a_clear_error(kwargs, message):
    arguments = {"protocol": "2.1", "periods": [(T0, 1.0)], "max_charge_kw": 11.0, **kwargs}
    with pytest.raises(ProfileError, match=message):
        build_charging_profile(**arguments)


@settings(max_examples=60, deadline=None)
@given(
    protocol=st.sampled_from(["1.6", "2.0.1", "2.1"]),
    powers=st.lists(st.floats(-200, 200, allow_nan=False), min_size=1, max_size=96),
    max_charge_kw=st.floats(1, 150),
    max_discharge_kw=st.sampled_from([0.0, 10.0, 100.0]),
    accepts_negative_limits=st.booleans(),
    with_transaction=st.booleans(),
)
def test_any_schedule_gives_a_valid_profile_within_the_charger_limits(
    protocol, powers, max_charge_kw, max_discharge_kw, accepts_negative_limits, with_transaction
):
    payload = build_charging_profile(
        protocol=protocol,
        periods=[(T0 + timedelta(minutes=15 * k), p) for k, p in enumerate(powers)],
        max_charge_kw=max_charge_kw,
        max_discharge_kw=max_discharge_kw,
        accepts_negative_limits=accepts_negative_limits,
        transaction_id="1" if with_transaction else None,
    )
    on_the_wire(protocol, "SetChargingProfile", payload)
    may_discharge = profiles.discharge_allowed(
        protocol=protocol, max_discharge_kw=max_discharge_kw, accepts_negative_limits=accepts_negative_limits
    )
    starts = [p["startPeriod"] for p in periods_of(payload)]
    assert starts[0] == 0 and starts == sorted(set(starts))
    for period in periods_of(payload):
        power_w = period.get("setpoint", period["limit"])
        assert power_w <= round(max_charge_kw * 1000) + 0.5
        assert power_w >= (-round(max_discharge_kw * 1000) - 0.5 if may_discharge else 0)
