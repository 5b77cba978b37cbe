"""The Audit page in a real headless Chromium: each change reads as a sentence on the site's clock,
the raw row opens with a click, and the page fits a 390 px phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, delete

from core import models
from core.db import session_scope
from tests.conftest import T0
from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui

ACTOR = "ui-audit"


def click(dash_duo, element) -> None:
    # A script click: in a long suite run the window may be short enough that a sticky bar lies over
    # the element (ElementClickInterceptedException) although a user scrolling would reach it.
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element)


@pytest.fixture
def audit_rows():
    """Audit rows as the services write them (straight into the table: nothing else changes)."""
    rows = [
        models.AuditEvent(time=T0, actor=ACTOR, action="soc_floor.set", target="vehicle:BUS-01",
                          before={"soc_floor": 0.35}, after={"soc_floor": 0.5}),
        models.AuditEvent(time=T0 + timedelta(minutes=7), actor=ACTOR, action="v2g_window.add", target="window:99",
                          after={"id": 99, "vehicle_id": None, "weekdays": "01234", "start_time": "17:00",
                                 "end_time": "21:00", "date_from": None, "date_to": None, "enabled": True}),
        models.AuditEvent(time=T0 + timedelta(minutes=9), actor=ACTOR, action="site_settings.set", target="site:depot-ams",
                          before={"import_limit_kw": 400.0}, after={"import_limit_kw": 380.0}),
    ]  # fmt: skip
    with session_scope() as s:
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
    yield ids
    with session_scope() as s:
        s.exec(delete(models.AuditEvent).where(col(models.AuditEvent.id).in_(ids)))


def test_audit_rows_read_as_sentences_with_the_raw_change_a_click_away(dash_duo, audit_rows, artifacts_dir):
    from app import app

    base = start_logged_in(dash_duo, app, username="audit-viewer", role="viewer", path="/audit")
    floor_row = f"#audit-row-{audit_rows[0]}"
    dash_duo.wait_for_element(floor_row, timeout=15)
    row = dash_duo.find_element(floor_row)
    # 13:00 in Amsterdam (T0 is 12:00 UTC), 24-hour, and the vehicle by its name
    assert row.find_element("css selector", ".audit-when").text == "Tue 1 Dec 13:00"
    assert row.find_element("css selector", ".audit-sentence").text == f"{ACTOR} raised E-bus 1's floor 35 % → 50 %"
    window = dash_duo.find_element(f"#audit-row-{audit_rows[1]} .audit-sentence").text
    assert window == f"{ACTOR} added V2G window #99: Mon–Fri 17:00–21:00 for all vehicles"
    assert "import limit 400 kW → 380 kW" in dash_duo.find_element(f"#audit-row-{audit_rows[2]}").text
    raw = row.find_element("css selector", ".audit-raw")
    assert not raw.is_displayed()  # folded away...
    click(dash_duo, row.find_element("css selector", "summary"))
    assert raw.is_displayed()  # ...one click away
    assert "action: soc_floor.set" in raw.text and 'after: {"soc_floor": 0.5}' in raw.text
    dash_duo.driver.save_screenshot(str(artifacts_dir / "audit-desktop.png"))

    dash_duo.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False}
    )
    dash_duo.driver.get(base + "/audit")
    dash_duo.wait_for_element(floor_row, timeout=15)
    # (under device emulation selenium's pointer misses; a script click opens it the same way)
    dash_duo.driver.execute_script("arguments[0].click()", dash_duo.find_element(f"{floor_row} summary"))
    assert dash_duo.find_element(f"{floor_row} .audit-raw").is_displayed()
    assert dash_duo.driver.execute_script("return document.scrollingElement.scrollWidth") <= 390
    dash_duo.driver.save_screenshot(str(artifacts_dir / "audit-390.png"))
    assert dash_duo.get_logs() == []
