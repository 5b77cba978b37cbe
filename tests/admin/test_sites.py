"""Sites: added, edited and listed by admins; every bad field named, nothing saved."""

from __future__ import annotations

import json

import pytest

from core import models
from core.admin import add_site, edit_site, list_sites
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from tests.admin.support import ADMIN, table_counts

GOOD = dict(site_id="depot-2", name="North depot", timezone="Europe/Berlin", import_limit_kw=250, export_limit_kw=100)


def test_an_admin_adds_a_site_with_every_field_and_it_is_audited(fresh_engine):
    tariff = json.dumps(
        {"name": "TOU", "rules": [{"days": "all", "start": "00:00", "end": "00:00", "import_per_kwh": 0.25}]}
    )
    with session_scope(fresh_engine) as s:
        add_site(
            session=s, actor=ADMIN, latitude=52.4, longitude=4.9, pv_peak_kwp=80, currency="eur", tariff=tariff, **GOOD
        )
    with session_scope(fresh_engine) as s:
        site = s.get(models.Site, "depot-2")
        assert (site.name, site.timezone, site.import_limit_kw, site.export_limit_kw) == (
            "North depot",
            "Europe/Berlin",
            250,
            100,
        )
        assert (site.latitude, site.longitude, site.pv_peak_kwp, site.currency) == (52.4, 4.9, 80, "EUR")
        assert s.get(models.Tariff, "depot-2").name == "TOU"
        audit = [(a.actor, a.action, a.target) for a in s.exec(models.AuditEvent.__table__.select()).all()]
        assert (ADMIN, "site.add", "site:depot-2") in audit
        assert [r["id"] for r in list_sites(session=s)] == ["depot-2"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"import_limit_kw": -5}, "import_limit_kw", "must be more than 0"),
        ({"export_limit_kw": -1}, "export_limit_kw", "must be zero or more"),
        ({"export_limit_kw": "lots"}, "export_limit_kw", "must be a number"),
        ({"name": "  "}, "name", "required"),
        ({"site_id": "depot 2!"}, "id", "letters, digits"),
        ({"latitude": 95, "longitude": 4}, "latitude", "at most 90"),
        ({"latitude": 52}, "longitude", "give both"),
        ({"currency": "euro"}, "currency", "three-letter"),
        ({"pv_peak_kwp": -3}, "pv_peak_kwp", "zero or more"),
        ({"tariff": "{not json"}, "tariff", "not valid JSON"),
        (
            {
                "tariff": json.dumps(
                    {"rules": [{"days": "someday", "start": "00:00", "end": "06:00", "import_per_kwh": 0.2}]}
                )
            },
            "tariff",
            "days",
        ),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_saved(admin_engine, change, field, message):
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        add_site(session=s, actor=ADMIN, **{**GOOD, **change})
    assert field in refused.value.errors and message in refused.value.errors[field], refused.value.errors
    assert table_counts(admin_engine) == before


def test_a_duplicate_id_is_refused(admin_engine):
    before = table_counts(admin_engine)
    with (
        pytest.raises(ValidationError, match="id: a site 'depot-ams' exists already"),
        session_scope(admin_engine) as s,
    ):
        add_site(session=s, actor=ADMIN, **{**GOOD, "site_id": "depot-ams"})
    assert table_counts(admin_engine) == before


def test_editing_changes_only_the_fields_given_and_asks_for_a_plan(admin_engine):
    with session_scope(admin_engine) as s:
        edit_site(session=s, actor=ADMIN, site_id="depot-ams", import_limit_kw=350, pv_peak_kwp=120)
    with session_scope(admin_engine) as s:
        site = s.get(models.Site, "depot-ams")
        assert (site.import_limit_kw, site.export_limit_kw, site.pv_peak_kwp) == (350, 250, 120)
        assert site.replan_requested_at is not None
        row = s.exec(models.AuditEvent.__table__.select().where(models.AuditEvent.action == "site.edit")).one()
        assert row.before == {"import_limit_kw": 400.0, "pv_peak_kwp": 0.0} and row.after == {
            "import_limit_kw": 350.0,
            "pv_peak_kwp": 120.0,
        }


def test_operators_and_viewers_are_refused(admin_engine):
    before = table_counts(admin_engine)
    with pytest.raises(PermissionDenied), session_scope(admin_engine) as s:
        add_site(session=s, actor="ops", **GOOD)
    with pytest.raises(PermissionDenied), session_scope(admin_engine) as s:
        edit_site(session=s, actor="nobody", site_id="depot-ams", name="x")
    assert table_counts(admin_engine) == before
