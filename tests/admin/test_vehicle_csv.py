"""Importing vehicles from a CSV: every row or none; a wrong header or a bad row is named."""

from __future__ import annotations

import pytest

from core import models
from core.admin import CSV_COLUMNS, import_vehicles
from core.db import session_scope
from core.errors import ValidationError
from tests.admin.support import ADMIN, table_counts

HEADER = ",".join(CSV_COLUMNS)
GOOD = f"""{HEADER}
BUS-21,E-bus 21,bus,350,100,100,85,35,95,19:30,05:30,yes,TAG-21,,CP-BUS-01
VAN-21,Van 21,van,75,11,0,,,90,18:00,07:00,no,,00:1a:2b:3c:4d:5e,
CAR-21,Car 21,car,60,11,11,,,,,,,,,
"""


def test_a_good_file_adds_every_vehicle(admin_engine):
    with session_scope(admin_engine) as s:
        assert import_vehicles(session=s, actor=ADMIN, site_id="depot-ams", text=GOOD) == ["BUS-21", "VAN-21", "CAR-21"]
    with session_scope(admin_engine) as s:
        bus, van, car = (s.get(models.Vehicle, i) for i in ("BUS-21", "VAN-21", "CAR-21"))
        assert (bus.taper_start_soc, bus.soc_floor, bus.target_soc, bus.id_tag) == (0.85, 0.35, 0.95, "TAG-21")
        assert (van.v2g_allowed, van.evcc_id, van.soc_floor) == (False, "001A2B3C4D5E", None)
        assert (car.kind, car.target_soc, car.usual_departure, car.v2g_allowed, car.id_tag) == (
            "car",
            0.9,
            "07:00",
            True,
            None,
        )
        assert (
            len(s.exec(models.AuditEvent.__table__.select().where(models.AuditEvent.action == "vehicle.add")).all())
            == 3
        )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("id,name\nX,y\n", "header", "lacks column(s) kind"),
        (HEADER + ",colour\n", "header", "unknown column(s) colour"),
        (HEADER + "\n", "file", "no vehicle rows"),
        (GOOD + "BUS-08,E-bus 8,bus,-3,100,100,,,,,,,,,\n", "row 5, battery_kwh", "more than 0"),
        (GOOD + "BUS-08,E-bus 8,bus,350,100,100,,,120,,,,,,\n", "row 5, target_soc_pct", "at most 100"),
        (GOOD + "BUS-08,E-bus 8,bus,350,100,100,,,,24:61,,,,,\n", "row 5, usual_arrival", "HH:MM"),
        (GOOD + "BUS-08,E-bus 8,bus,350,100,100,,,,,,,TAG-21,,\n", "row 5, id_tag", "the tag of BUS-21"),
        (GOOD + "BUS-21,E-bus 21 again,bus,350,100,100,,,,,,,,,\n", "row 5, id", "on row 2 already"),
        (GOOD + "BUS-01,Old,bus,350,100,100,,,,,,,,,\n", "row 5, id", "exists already"),
        (GOOD + "BUS-08,E-bus 8,bus,350,100,100,,,,,,,,,,extra\n", "row 5", "more than the header"),
    ],
)
def test_a_bad_file_is_refused_whole_with_row_and_column_named(admin_engine, text, where, message):
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        import_vehicles(session=s, actor=ADMIN, site_id="depot-ams", text=text)
    assert message in refused.value.errors.get(where, ""), refused.value.errors
    assert table_counts(admin_engine) == before  # the good rows before the bad one were not saved either


def test_an_unknown_site_is_named_once(admin_engine):
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        import_vehicles(session=s, actor=ADMIN, site_id="nowhere", text=GOOD)
    assert refused.value.errors == {"site": "no site 'nowhere'"}
