"""Vehicles: added, edited, retired; recognised by RFID tag, EVCCID or an operator."""

from __future__ import annotations

import pytest

from core import models
from core.admin import add_vehicle, edit_vehicle, list_vehicles, retire_vehicle, vehicle_for_token
from core.db import session_scope
from core.errors import ValidationError
from tests.admin.support import ADMIN, table_counts

GOOD = dict(
    vehicle_id="BUS-07",
    site_id="depot-ams",
    name="E-bus 7",
    kind="bus",
    battery_kwh=350,
    max_charge_kw=100,
    max_discharge_kw=100,
    target_soc=0.95,
    soc_floor=0.35,
    taper_start_soc=0.85,
    usual_departure="05:30",
    id_tag="TAG-BUS-07",
    home_charger_id="CP-BUS-01",
)


def test_a_vehicle_is_added_with_every_field_and_found_by_its_tag_or_evcc_id(admin_engine):
    with session_scope(admin_engine) as s:
        add_vehicle(session=s, actor=ADMIN, evcc_id="00:1a:2b:3c:4d:5e", **GOOD)
    with session_scope(admin_engine) as s:
        v = s.get(models.Vehicle, "BUS-07")
        assert (v.battery_kwh, v.max_charge_kw, v.taper_start_soc, v.soc_floor, v.target_soc) == (
            350,
            100,
            0.85,
            0.35,
            0.95,
        )
        assert v.evcc_id == "001A2B3C4D5E"
        assert vehicle_for_token(session=s, token="TAG-BUS-07") == "BUS-07"
        assert vehicle_for_token(session=s, token="00-1A-2B-3C-4D-5E") == "BUS-07"
        assert vehicle_for_token(session=s, token="TAG-NOBODY") is None


def test_a_vehicle_without_tags_is_recognised_by_an_operator(admin_engine):
    with session_scope(admin_engine) as s:
        add_vehicle(session=s, actor=ADMIN, **{**GOOD, "id_tag": ""})
        row = next(r for r in list_vehicles(session=s) if r["id"] == "BUS-07")
    assert row["recognition"] == "operator" and row["id_tag"] is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"battery_kwh": -10}, "battery_kwh", "more than 0"),
        ({"max_charge_kw": "fast"}, "max_charge_kw", "must be a number"),
        ({"max_discharge_kw": -1}, "max_discharge_kw", "zero or more"),
        ({"target_soc": 1.5}, "target_soc", "between 0 and 100 %"),
        ({"soc_floor": 0.1}, "soc_floor", "hard floor"),
        ({"soc_floor": 0.9, "target_soc": 0.8}, "target_soc", "below the floor"),
        ({"usual_departure": "25:00"}, "usual_departure", "HH:MM"),
        ({"kind": "tram"}, "kind", "one of bus, van, car"),
        ({"id_tag": "TAG-BUS-01"}, "id_tag", "the tag of BUS-01 already"),
        ({"evcc_id": "not-a-mac"}, "evcc_id", "12 hex digits"),
        ({"home_charger_id": "CP-NONE"}, "home_charger_id", "no charger"),
        ({"vehicle_id": "BUS-01"}, "id", "exists already"),
        ({"site_id": "nowhere"}, "site", "no site"),
        ({"v2g_allowed": "sometimes"}, "v2g_allowed", "yes or no"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_saved(admin_engine, change, field, message):
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        add_vehicle(session=s, actor=ADMIN, **{**GOOD, **change})
    assert message in refused.value.errors.get(field, ""), refused.value.errors
    assert table_counts(admin_engine) == before


def test_editing_and_retiring(admin_engine):
    with session_scope(admin_engine) as s:
        edit_vehicle(session=s, actor=ADMIN, vehicle_id="BUS-01", usual_departure="06:15", v2g_allowed="no")
    with session_scope(admin_engine) as s:
        retire_vehicle(session=s, actor=ADMIN, vehicle_id="BUS-01")
    with session_scope(admin_engine) as s:
        v = s.get(models.Vehicle, "BUS-01")
        assert (v.usual_departure, v.v2g_allowed, v.id_tag, v.retired_at is not None) == ("06:15", False, None, True)
        assert vehicle_for_token(session=s, token="TAG-BUS-01") is None
        actions = [a.action for a in s.exec(models.AuditEvent.__table__.select()).all()]
        assert actions[-2:] == ["vehicle.edit", "vehicle.retire"]
    with session_scope(admin_engine) as s:  # its old tag is free for a new vehicle
        add_vehicle(session=s, actor=ADMIN, **{**GOOD, "id_tag": "TAG-BUS-01"})


def test_the_taper_an_admin_sets_is_the_one_the_plan_uses(admin_engine):
    """Tried: BUS-01 plugged in, planned with the bus default (85 %), then with its own 70 % set here."""
    from core import planning
    from tests.conftest import T0

    with session_scope(admin_engine) as s:
        s.add(models.PlugSession(charger_id="CP-BUS-01", vehicle_id="BUS-01", transaction_id="t1", started_at=T0))

    def planned_taper() -> float:
        with session_scope(admin_engine) as s:
            problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
        return next(v for v in problem.scenario["vehicles"] if v["id"] == "BUS-01")["taper_start_soc"]

    assert planned_taper() == 0.85
    with session_scope(admin_engine) as s:
        edit_vehicle(session=s, actor=ADMIN, vehicle_id="BUS-01", taper_start_soc=0.7)
    assert planned_taper() == 0.7
