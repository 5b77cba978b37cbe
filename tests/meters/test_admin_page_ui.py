"""The Meters admin page and the overview's warning in a real headless Chromium: an admin adds a
SunSpec meter through the form (a bad port is refused field by field, nothing saved); a viewer sees
only a note; while the meter has given no reading the overview says the plan assumes the worst case."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select
from sqlmodel import delete, select

from components import ids
from core import models
from core.db import session_scope
from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui


@pytest.fixture
def no_meters_after(demo_database):
    """These tests use the session's database (the app's): leave no meter behind for the next test."""
    yield
    with session_scope() as session:
        session.exec(delete(models.SiteMeter))


def field(name: str) -> str:
    return f"#admin-meters-field-{name}"  # pages/admin_meters.field_id (the page imports only under the app)


def click(dash_duo, selector: str) -> None:
    # A script click: the page may be taller than the window and its bottom under the navbar's shadow.
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(selector))


def type_into(dash_duo, name: str, text: str) -> None:
    element = dash_duo.find_element(field(name))
    element.clear()
    element.send_keys(text)


def test_an_admin_adds_a_meter_a_bad_one_is_refused_and_the_overview_warns(dash_duo, no_meters_after):
    from app import app
    from pages import admin_meters as page

    base = start_logged_in(dash_duo, app, username="meter-admin", role="admin", path="/admin/meters")
    dash_duo.wait_for_text_to_equal(f"#{page.TITLE}", "Site meters", timeout=15)
    Select(dash_duo.find_element(field("kind"))).select_by_value("modbus")
    type_into(dash_duo, "name", "grid")
    type_into(dash_duo, "host", "127.0.0.1")
    type_into(dash_duo, "port", "70000")
    click(dash_duo, field("sunspec"))
    type_into(dash_duo, "quantities", "net_import_kw,pv_kw")
    click(dash_duo, f"#{page.SAVE}")
    dash_duo.wait_for_contains_text(f"#{page.STATUS}", "Nothing was saved", timeout=10)
    assert "port: must be a whole number 1-65535" in dash_duo.find_element(f"#{page.STATUS}").text
    with session_scope() as session:
        assert session.exec(select(models.SiteMeter)).all() == []

    type_into(dash_duo, "port", "5020")
    click(dash_duo, f"#{page.SAVE}")
    dash_duo.wait_for_contains_text(f"#{page.STATUS}", "saved meter grid", timeout=10)
    dash_duo.wait_for_contains_text(f"#{page.TABLE}", "127.0.0.1:5020 unit 1 SunSpec", timeout=10)
    assert "no reading yet" in dash_duo.find_element(f"#{page.TABLE}").text
    with session_scope() as session:
        (meter,) = session.exec(select(models.SiteMeter)).all()
        assert (meter.sunspec, meter.quantities, meter.port) == (True, ["net_import_kw", "pv_kw"], 5020)

    # Nothing reads the meter in this test: it has no reading, so it is stale and the overview says so.
    dash_duo.driver.get(base + "/")
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_SITE_METER_NOTE}", "planning with worst-case load", timeout=15)
    assert dash_duo.find_element(f"#{ids.OVERVIEW_SITE_METER_NOTE}").text.startswith("site meter stale since ")
    assert dash_duo.get_logs() == []


def test_a_viewer_sees_that_meters_are_for_admins(dash_duo):
    from app import app
    from pages import admin_meters as page

    start_logged_in(dash_duo, app, username="meter-viewer", role="viewer", path="/admin/meters")
    dash_duo.wait_for_text_to_equal(f"#{page.TITLE}", "Meters: admins only.", timeout=15)
