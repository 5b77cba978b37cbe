"""Chargers: registered with a password shown once (stored hashed), edited, rotated, retired."""

from __future__ import annotations

import pytest

from core import models
from core.admin import add_charger, edit_charger, list_chargers, retire_charger, rotate_password
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from core.security import verify_password
from tests.admin.support import ADMIN, table_counts

GOOD = dict(charger_id="CP-NEW-1", site_id="depot-ams", protocol="2.0.1", max_charge_kw=22, max_discharge_kw=11)


def test_a_new_charger_gets_a_generated_password_that_is_stored_hashed(admin_engine):
    with session_scope(admin_engine) as s:
        charger, password = add_charger(session=s, actor=ADMIN, accepts_negative_limits=True, **GOOD)
    assert len(password) >= 16
    with session_scope(admin_engine) as s:
        row = s.get(models.Charger, "CP-NEW-1")
        assert password not in row.password_hash and verify_password(password, row.password_hash)
        assert (row.protocol, row.max_charge_kw, row.max_discharge_kw, row.accepts_negative_limits) == (
            "2.0.1",
            22,
            11,
            True,
        )
        audit = s.exec(models.AuditEvent.__table__.select().where(models.AuditEvent.action == "charger.add")).one()
        assert audit.actor == ADMIN and password not in str(audit.after) and "password_hash" not in audit.after


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"protocol": "2.0"}, "protocol", "one of 1.6, 2.0.1, 2.1"),
        ({"max_charge_kw": -3}, "max_charge_kw", "more than 0 kW"),
        ({"max_discharge_kw": -1}, "max_discharge_kw", "zero or more"),
        ({"efficiency": 1.5}, "efficiency", "at most 1"),
        ({"efficiency": 0}, "efficiency", "more than 0"),
        ({"password": "short"}, "password", "8 to 40 characters"),
        ({"charger_id": "CP:1"}, "id", "no ':'"),
        ({"charger_id": "CP-BUS-01"}, "id", "already registered"),
        ({"site_id": "nowhere"}, "site", "no site 'nowhere'"),
        ({"accepts_negative_limits": "perhaps"}, "accepts_negative_limits", "yes or no"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_saved(admin_engine, change, field, message):
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        add_charger(session=s, actor=ADMIN, **{**GOOD, **change})
    assert message in refused.value.errors.get(field, ""), refused.value.errors
    assert table_counts(admin_engine) == before


def test_rotating_the_password_makes_the_old_one_useless(admin_engine):
    with session_scope(admin_engine) as s:
        _, old = add_charger(session=s, actor=ADMIN, **GOOD)
    with session_scope(admin_engine) as s:
        new = rotate_password(session=s, actor=ADMIN, charger_id="CP-NEW-1")
    with session_scope(admin_engine) as s:
        stored = s.get(models.Charger, "CP-NEW-1").password_hash
        assert new != old and verify_password(new, stored) and not verify_password(old, stored)


def test_edit_then_retire_keeps_the_history_and_stops_connections(admin_engine):
    with session_scope(admin_engine) as s:
        edit_charger(session=s, actor=ADMIN, charger_id="CP-BUS-01", max_charge_kw=150)
    with session_scope(admin_engine) as s:
        retire_charger(session=s, actor=ADMIN, charger_id="CP-BUS-01")
    with session_scope(admin_engine) as s:
        row = s.get(models.Charger, "CP-BUS-01")
        assert row.max_charge_kw == 150 and row.retired_at is not None and row.password_hash == ""
        assert s.get(models.Vehicle, "BUS-01").home_charger_id is None
        assert "CP-BUS-01" not in [c["id"] for c in list_chargers(session=s)]
        assert "CP-BUS-01" in [c["id"] for c in list_chargers(session=s, include_retired=True)]
    with pytest.raises(ValidationError, match="retired"), session_scope(admin_engine) as s:
        edit_charger(session=s, actor=ADMIN, charger_id="CP-BUS-01", max_charge_kw=50)


def test_an_operator_cannot_register_a_charger(admin_engine):
    before = table_counts(admin_engine)
    with pytest.raises(PermissionDenied), session_scope(admin_engine) as s:
        add_charger(session=s, actor="ops", **GOOD)
    assert table_counts(admin_engine) == before
