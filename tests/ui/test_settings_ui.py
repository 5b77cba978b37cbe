"""Settings in a real headless Chromium: an operator logs in, previews and saves a SoC floor, the audit
row is written and the next dispatch run keeps the floor; an invalid floor is shown next to the field
and changes nothing; a viewer sees the forms read-only."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlmodel import col, select

from components import audit as audit_ui
from components import settings as ui
from core import models
from core.clock import FixedClock, now, set_clock
from core.db import session_scope
from core.security import hash_password

pytestmark = pytest.mark.ui

PASSWORD = "ui-test-password"
VEHICLE, CHARGER = "BUS-02", "CP-BUS-02"


def dash_id(**parts) -> str:
    """The DOM id Dash gives a dict id."""
    return json.dumps(parts, sort_keys=True, separators=(",", ":"))


def by_id(dash_duo, **parts):
    return dash_duo.driver.find_element(By.XPATH, f"//*[@id='{dash_id(**parts)}']")


def start_logged_in(dash_duo, app, username: str, password: str = PASSWORD) -> None:
    """Start the app, log in through the /login form, then open the console."""
    dash_duo.start_server(app, navigate=False)
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#login-username", timeout=10).send_keys(username)
    dash_duo.find_element("#login-password").send_keys(password)
    dash_duo.find_element("#login-submit").click()
    dash_duo.server_url = dash_duo.server.url  # opens / and waits for the Dash app


@pytest.fixture
def users_and_plug(demo_database):
    """An operator and a viewer; BUS-02 plugged in with a fresh SoC of 80 % (clock fixed at now)."""
    at = now().replace(microsecond=0)
    tx = f"ui-tx-{uuid.uuid4().hex[:8]}"
    set_clock(FixedClock(at))
    with session_scope() as s:
        for name, role in (("ui-op", "operator"), ("ui-viewer", "viewer")):
            if s.exec(select(models.User).where(models.User.username == name)).first() is None:
                s.add(models.User(username=name, role=role, password_hash=hash_password(PASSWORD)))
        for p in s.exec(select(models.PlugSession).where(models.PlugSession.charger_id == CHARGER)).all():
            p.ended_at = p.ended_at or at - timedelta(minutes=1)
        plug = models.PlugSession(charger_id=CHARGER, vehicle_id=VEHICLE, transaction_id=tx, started_at=at - timedelta(hours=1))
        s.add(plug)
        s.flush()
        s.add(models.MeterSample(time=at - timedelta(seconds=2), charger_id=CHARGER, session_id=plug.id, power_kw=0.0, soc=0.8))
        s.add(models.V2GWindow(site_id="depot-ams", vehicle_id=VEHICLE, weekdays="0123456", start_time="00:00", end_time="23:59"))
        s.get(models.Vehicle, VEHICLE).soc_floor = 0.35
    yield tx
    with session_scope() as s:
        for p in s.exec(select(models.PlugSession).where(models.PlugSession.transaction_id == tx)).all():
            p.ended_at = at
        for w in s.exec(select(models.V2GWindow).where(models.V2GWindow.vehicle_id == VEHICLE)).all():
            s.delete(w)
    set_clock(None)


def floor_of(vehicle_id: str) -> float | None:
    with session_scope() as s:
        return s.get(models.Vehicle, vehicle_id).soc_floor


def audit_rows(actor: str) -> list[models.AuditEvent]:
    with session_scope() as s:
        return list(s.exec(select(models.AuditEvent).where(models.AuditEvent.actor == actor).order_by(models.AuditEvent.id)).all())


def fill_floor_form(dash_duo, percent) -> None:
    Select(by_id(dash_duo, type=ui.FIELD, form="floor", field="vehicle")).select_by_value(VEHICLE)
    box = by_id(dash_duo, type=ui.FIELD, form="floor", field="floor")
    box.clear()
    box.send_keys(str(percent))


def test_operator_previews_saves_floor_and_next_dispatch_keeps_it(dash_duo, users_and_plug, artifacts_dir):
    from app import app
    from core import planning

    start_logged_in(dash_duo, app, "ui-op")
    dash_duo.driver.get(dash_duo.server_url + "/settings")
    dash_duo.wait_for_text_to_equal(f"#{ui.SETTINGS_TITLE}", "Settings", timeout=15)

    fill_floor_form(dash_duo, 60)
    by_id(dash_duo, type=ui.PREVIEW_BUTTON, form="floor").click()
    dash_duo.wait_for_contains_text("#settings-preview-panel", "Cost over the next 24 h", timeout=60)
    panel = dash_duo.find_element("#settings-preview-panel").text
    assert "SoC of E-bus 2" in panel and "Preview only" in panel
    assert floor_of(VEHICLE) == 0.35, "a preview must not save"
    dash_duo.driver.save_screenshot(str(artifacts_dir / "settings-preview.png"))

    by_id(dash_duo, type=ui.SAVE_BUTTON, form="floor").click()
    dash_duo.wait_for_contains_text("#settings-status-alert", "Saved by ui-op", timeout=20)
    assert floor_of(VEHICLE) == 0.6
    [row] = [r for r in audit_rows("ui-op") if r.target == f"vehicle:{VEHICLE}"]
    assert (row.action, row.before, row.after) == ("soc_floor.set", {"soc_floor": 0.35}, {"soc_floor": 0.6})

    # The next dispatch run keeps the new floor: BUS-02 never planned below 60 % although discharge is allowed all day.
    set_clock(FixedClock(now().replace(microsecond=0)))
    with session_scope() as s:  # the SoC reading must be fresh for discharge to be planned at all
        plug = s.exec(select(models.PlugSession).where(models.PlugSession.transaction_id == users_and_plug)).one()
        s.add(models.MeterSample(time=now(), charger_id=CHARGER, session_id=plug.id, power_kw=0.0, soc=0.8))
    run_id = planning.run_dispatch(site_id="depot-ams", trigger="setting")
    with session_scope() as s:
        socs = s.exec(
            select(models.Setpoint.soc_end).where(models.Setpoint.run_id == run_id).where(models.Setpoint.vehicle_id == VEHICLE)
        ).all()
        powers = s.exec(
            select(models.Setpoint.power_kw).where(models.Setpoint.run_id == run_id).where(models.Setpoint.vehicle_id == VEHICLE)
        ).all()
        assert socs and min(x for x in socs if x is not None) >= 0.6 - 1e-6
        assert min(powers) < 0, "the plan discharges BUS-02 (so the floor is what stops it)"
        assert s.get(models.DispatchRun, run_id).finished_at is not None
    in_force = f"[id='{dash_id(type=ui.IN_FORCE, form='floor')}']"
    dash_duo.wait_for_contains_text(in_force, "New plan in force", timeout=20)

    # An invalid floor: the message sits next to the field and nothing changes.
    count = len(audit_rows("ui-op"))
    fill_floor_form(dash_duo, 10)
    by_id(dash_duo, type=ui.SAVE_BUTTON, form="floor").click()
    feedback = f"[id='{dash_id(type=ui.FEEDBACK, form='floor', field='floor')}']"
    dash_duo.wait_for_contains_text(feedback, "hard floor", timeout=20)
    assert "is-invalid" in by_id(dash_duo, type=ui.FIELD, form="floor", field="floor").get_attribute("class")
    dash_duo.wait_for_contains_text("#settings-status-alert", "Not saved", timeout=10)
    assert floor_of(VEHICLE) == 0.6 and len(audit_rows("ui-op")) == count
    dash_duo.driver.save_screenshot(str(artifacts_dir / "settings-invalid.png"))

    # The audit page lists the change.
    dash_duo.driver.get(dash_duo.server_url + "/audit")
    dash_duo.wait_for_contains_text(f"#{audit_ui.AUDIT_TABLE}", "ui-op", timeout=15)
    table = dash_duo.find_element(f"#{audit_ui.AUDIT_TABLE}").text
    assert "ui-op raised E-bus 2's floor 35 % → 60 %" in table  # the row as a sentence (raw change: a click away)
    assert dash_duo.get_logs() == []
    with session_scope() as s:  # leave the demo floor as it was for other tests
        s.get(models.Vehicle, VEHICLE).soc_floor = 0.35
        assert s.exec(select(models.AuditEvent).where(col(models.AuditEvent.actor) == "ui-op")).first() is not None


def test_viewer_sees_settings_read_only(dash_duo, users_and_plug):
    from app import app

    start_logged_in(dash_duo, app, "ui-viewer")
    dash_duo.driver.get(dash_duo.server_url + "/settings")
    dash_duo.wait_for_element(f"#{ui.SETTINGS_ROLE_NOTE}", timeout=15)
    assert not by_id(dash_duo, type=ui.SAVE_BUTTON, form="floor").is_enabled()
    assert dash_duo.get_logs() == []


def test_site_wide_window_asks_for_confirmation(dash_duo, users_and_plug):
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from app import app

    def site_windows() -> int:
        with session_scope() as s:
            return len(s.exec(select(models.V2GWindow).where(col(models.V2GWindow.vehicle_id).is_(None))).all())

    start_logged_in(dash_duo, app, "ui-op")
    dash_duo.driver.get(dash_duo.server_url + "/settings")
    dash_duo.wait_for_text_to_equal(f"#{ui.SETTINGS_TITLE}", "Settings", timeout=15)
    Select(by_id(dash_duo, type=ui.FIELD, form="window", field="vehicle")).select_by_value(ui.SITE_WIDE)
    for name, value in (("start_time", "10:00"), ("end_time", "11:00")):  # 24-hour HH:MM text fields
        field = by_id(dash_duo, type=ui.FIELD, form="window", field=name)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value)
    before = site_windows()

    by_id(dash_duo, type=ui.SAVE_BUTTON, form="window").click()
    alert = WebDriverWait(dash_duo.driver, 15).until(EC.alert_is_present())
    assert "site-wide window allows discharge across the fleet" in alert.text
    alert.dismiss()  # cancel: nothing saved
    assert site_windows() == before

    by_id(dash_duo, type=ui.SAVE_BUTTON, form="window").click()
    WebDriverWait(dash_duo.driver, 15).until(EC.alert_is_present()).accept()
    dash_duo.wait_for_contains_text("#settings-status-alert", "Saved by ui-op", timeout=20)
    assert site_windows() == before + 1
    with session_scope() as s:
        added = s.exec(select(models.V2GWindow).order_by(col(models.V2GWindow.id).desc())).first()
        assert (added.vehicle_id, added.start_time, added.end_time) == (None, "10:00", "11:00")
        s.delete(added)
