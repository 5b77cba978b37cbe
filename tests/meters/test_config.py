"""Configuring site meters: each bad input is refused naming its field, and nothing is saved; a good
change is stored with its audit row; only admins may make one. Through the command line too."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from core import models
from core.admin.__main__ import main as admin_main
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from core.meters.config import add_meter, edit_meter, remove_meter
from core.users import create_user
from tests.meters.support import ACTOR, SITE_ID, configure

pytestmark = pytest.mark.usefixtures("clock")

GOOD_MODBUS = dict(
    kind="modbus", host="10.1.2.3", registers={"net_import_kw": {"address": 100, "type": "int32", "scale": 0.001}}
)


def counts(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (session.exec(select(func.count()).select_from(models.SiteMeter)).one(),
                session.exec(select(func.count()).select_from(models.AuditEvent)).one())  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (dict(GOOD_MODBUS, kind="bacnet"), "kind", "one of modbus, mqtt, ocpp"),
        (dict(GOOD_MODBUS, host=""), "host", "required"),
        (dict(GOOD_MODBUS, port=70000), "port", "1-65535"),
        (dict(GOOD_MODBUS, registers='{"net_import_kw": {"address": 1,'), "registers", "not valid JSON"),
        (dict(GOOD_MODBUS, registers={"grid_kw": {"address": 1}}), "registers", "unknown quantity 'grid_kw'"),
        (dict(GOOD_MODBUS, registers={"pv_kw": {"address": 1, "type": "int8"}}), "registers.pv_kw", "type must be"),
        (dict(GOOD_MODBUS, registers={"pv_kw": {"address": 1, "scale": 0}}), "registers.pv_kw", "non-zero"),
        (dict(GOOD_MODBUS, registers={"pv_kw": {"address": 1, "sign": 2}}), "registers.pv_kw", "1 or -1"),
        (dict(GOOD_MODBUS, registers={}), "registers", "register map is required"),
        (dict(GOOD_MODBUS, sunspec=True), "registers", "leave empty for a SunSpec meter"),
        (
            dict(kind="modbus", host="h", sunspec=True, quantities="building_load_kw"),
            "quantities",
            "not one this meter can give",
        ),
        (dict(GOOD_MODBUS, poll_interval_s=0), "poll_interval_s", "0.1-3600"),
        (dict(GOOD_MODBUS, net_import_sign="up"), "net_import_sign", "import_positive"),
        (dict(GOOD_MODBUS, site_id="nowhere"), "site_id", "no site 'nowhere'"),
        (dict(kind="mqtt", host="h", paths={"pv_kw": {"path": "a"}}), "paths.pv_kw", "needs a topic"),
        (dict(kind="mqtt", host="h", topic="site/#", paths={"pv_kw": "a"}), "paths.pv_kw", "no wildcards"),
        (dict(kind="ocpp", charger_id="CP-NOPE"), "charger_id", "no charger 'CP-NOPE'"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_saved(engine, fields, field, message):
    before = counts(engine)
    with pytest.raises(ValidationError) as refused, session_scope(engine) as session:
        add_meter(session=session, actor=ACTOR, name="grid", **{"site_id": SITE_ID, **fields})
    assert message in refused.value.errors[field], refused.value.errors
    assert counts(engine) == before


def test_a_second_meter_may_not_give_the_same_quantity_and_a_name_is_unique(engine):
    configure(engine, **GOOD_MODBUS)
    before = counts(engine)
    with pytest.raises(ValidationError) as refused, session_scope(engine) as session:
        add_meter(session=session, actor=ACTOR, name="grid", site_id=SITE_ID, kind="ocpp", charger_id="CP-BUS-01")
    assert refused.value.errors == {
        "name": "a meter called 'grid' already exists",
        "quantities": "meter 'grid' already gives net_import_kw for site 'depot-ams'",
    }
    assert counts(engine) == before


def test_add_edit_remove_are_audited_and_admins_only(engine):
    configure(engine, **GOOD_MODBUS)
    with session_scope(engine) as session:
        meter = edit_meter(session=session, actor=ACTOR, name="grid", kind="modbus", sunspec=True, poll_interval_s=2)
        assert (meter.sunspec, meter.registers, meter.quantities, meter.poll_interval_s) == (
            True,
            {},
            ["net_import_kw"],
            2.0,
        )
    with session_scope(engine) as session:
        create_user(session=session, actor=ACTOR, username="olga", password="operator-password", role="operator")
    with pytest.raises(PermissionDenied), session_scope(engine) as session:
        remove_meter(session=session, actor="olga", name="grid")
    with session_scope(engine) as session:
        remove_meter(session=session, actor=ACTOR, name="grid")
    with session_scope(engine) as session:
        trail = session.exec(
            select(models.AuditEvent).where(models.AuditEvent.target == "grid").order_by(models.AuditEvent.id)
        ).all()
        assert [e.action for e in trail] == ["site_meter.add", "site_meter.edit", "site_meter.remove"]
        assert trail[1].before["registers"] and trail[1].after["sunspec"] is True
        assert session.exec(select(models.SiteMeter)).all() == []


def test_the_command_line_adds_lists_and_refuses(engine, capsys):
    assert admin_main(["meter", "add", "grid", "--kind", "modbus", "--host", "127.0.0.1", "--port", "5020",
                       "--sunspec", "--quantities", "net_import_kw,pv_kw"], engine=engine) == 0  # fmt: skip
    assert "added meter grid at site depot-ams: modbus, 127.0.0.1:5020 unit 1 SunSpec" in capsys.readouterr().out
    before = counts(engine)
    assert admin_main(["meter", "edit", "grid", "--poll-interval-s", "-1"], engine=engine) == 2
    assert "error: poll_interval_s: seconds, 0.1-3600, got '-1'" in capsys.readouterr().err
    assert counts(engine) == before
    assert admin_main(["meter", "list"], engine=engine) == 0
    assert "net_import_kw,pv_kw" in capsys.readouterr().out
