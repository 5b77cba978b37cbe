"""The admin area in a real headless Chromium: an admin adds a site, registers a charger (its password
shown once, stored hashed), imports three vehicles from a CSV (a bad CSV refused with its row and
field named, the database unchanged), adds an account and resets its password. An operator is
refused, on the page and on the server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlmodel import func, select
from werkzeug.exceptions import Forbidden

from components import admin as ui
from core import models, users
from core.admin.vehicle_csv import CSV_COLUMNS
from core.clock import now
from core.db import session_scope
from core.security import verify_password
from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui

SITE = "depot-ui"
SHOTS = Path(os.environ.get("V2G_ADMIN_SHOTS", "")) if os.environ.get("V2G_ADMIN_SHOTS") else None


def dash_id(**parts) -> str:
    return json.dumps(parts, sort_keys=True, separators=(",", ":"))


def by_id(dash_duo, **parts):
    return dash_duo.driver.find_element(By.XPATH, f"//*[@id='{dash_id(**parts)}']")


def fill(dash_duo, form: str, **values) -> None:
    for name, value in values.items():
        element = by_id(dash_duo, type=ui.FIELD, form=form, field=name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(str(value))


def click(dash_duo, form: str, action: str = "save") -> None:
    by_id(dash_duo, type=ui.SUBMIT, form=form, action=action).click()


def status_text(dash_duo, form: str, contains: str, timeout: int = 20) -> str:
    selector = f"[id='{dash_id(type=ui.STATUS, form=form)}']"
    dash_duo.wait_for_contains_text(selector, contains, timeout=timeout)
    return dash_duo.find_element(selector).text


def open_page(dash_duo, base: str, path: str, title: str) -> None:
    dash_duo.driver.get(base + path)
    dash_duo.wait_for_text_to_equal(f"#{ui.ADMIN_TITLE}", title, timeout=15)


def shot(dash_duo, artifacts_dir: Path, name: str) -> None:
    dash_duo.driver.set_window_size(1400, 1800)
    path = artifacts_dir / f"admin-{name}.png"
    dash_duo.driver.save_screenshot(str(path))
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def counts() -> dict[str, int]:
    with session_scope() as s:
        return {
            t.__name__: s.exec(select(func.count()).select_from(t)).one()
            for t in (models.Vehicle, models.AuditEvent, models.Site, models.Charger)
        }


def test_admin_sets_up_a_site_chargers_vehicles_and_people(dash_duo, artifacts_dir, tmp_path):
    from app import app

    base = start_logged_in(dash_duo, app, username="ui-admin", role="admin", path="/admin")
    dash_duo.wait_for_text_to_equal(f"#{ui.ADMIN_TITLE}", "Admin", timeout=15)
    shot(dash_duo, artifacts_dir, "home")

    # 1. A site; a bad time zone first: refused and named.
    open_page(dash_duo, base, "/admin/sites", "Sites")
    fill(
        dash_duo, "site", id=SITE, name="UI depot", timezone="Europe/Atlantis", import_limit_kw=250, export_limit_kw=100
    )
    click(dash_duo, "site")
    assert "unknown time zone 'Europe/Atlantis'" in status_text(dash_duo, "site", "Not saved")
    with session_scope() as s:
        assert s.get(models.Site, SITE) is None
    fill(dash_duo, "site", timezone="Europe/Berlin", latitude=53.55, longitude=9.99, pv_peak_kwp=60)
    click(dash_duo, "site")
    status_text(dash_duo, "site", f"Saved site {SITE}")
    dash_duo.wait_for_contains_text(f"[id='{dash_id(type=ui.TABLE, name='sites')}']", "UI depot", timeout=10)
    with session_scope() as s:
        site = s.get(models.Site, SITE)
        assert (site.timezone, site.import_limit_kw, site.latitude, site.pv_peak_kwp) == (
            "Europe/Berlin",
            250,
            53.55,
            60,
        )
    shot(dash_duo, artifacts_dir, "sites")

    # 2. A charger: its generated password is shown once and stored hashed.
    open_page(dash_duo, base, "/admin/chargers", "Chargers")
    fill(dash_duo, "charger", id="CP-UI-1", site_id=SITE, protocol="2.0.1", max_charge_kw=50, max_discharge_kw=25)
    click(dash_duo, "charger")
    status_text(dash_duo, "charger", "shown this once")
    password = dash_duo.find_element(".admin-secret").text.strip()
    with session_scope() as s:
        assert verify_password(password, s.get(models.Charger, "CP-UI-1").password_hash)
    shot(dash_duo, artifacts_dir, "chargers")
    dash_duo.driver.refresh()  # not shown again
    dash_duo.wait_for_text_to_equal(f"#{ui.ADMIN_TITLE}", "Chargers", timeout=15)
    assert password not in dash_duo.driver.page_source

    # A vehicle the console does not know plugs in at the new charger.
    with session_scope() as s:
        plug = models.PlugSession(
            charger_id="CP-UI-1", transaction_id="ui-unknown-1", id_tag="CARD-UI-77", started_at=now()
        )
        s.add(plug)
        s.flush()
        plug_id = plug.id

    # 3. Vehicles from a CSV: a bad file is refused whole (row and field named), then a good one imports three.
    open_page(dash_duo, base, "/admin/vehicles", "Vehicles")
    header = ",".join(CSV_COLUMNS)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{header}\nUI-BUS-1,UI bus 1,bus,350,100,100,,,,,,,UI-TAG-1,,\nUI-BUS-2,UI bus 2,bus,-350,100,100,,,,,,,,,\n"
    )
    before = counts()
    Select(by_id(dash_duo, type=ui.FIELD, form="vehicle-csv", field="site_id")).select_by_value(SITE)
    dash_duo.find_element(f"#{ui.UPLOAD} input[type=file]").send_keys(str(bad))
    dash_duo.wait_for_contains_text(f"#{ui.UPLOAD_NAME}", "bad.csv", timeout=10)
    click(dash_duo, "vehicle-csv")
    refused = status_text(dash_duo, "vehicle-csv", "Not saved")
    assert "row 3, battery_kwh: must be more than 0" in refused
    assert counts() == before
    shot(dash_duo, artifacts_dir, "vehicles-refused")
    good = tmp_path / "good.csv"
    good.write_text(
        f"{header}\nUI-BUS-1,UI bus 1,bus,350,100,100,85,35,95,19:30,05:30,yes,UI-TAG-1,,CP-UI-1\n"
        "UI-VAN-1,UI van 1,van,75,11,0,,,90,,,no,,00:1A:2B:3C:4D:99,\nUI-CAR-1,UI car 1,car,60,11,11,,,,,,,,,\n"
    )
    dash_duo.find_element(f"#{ui.UPLOAD} input[type=file]").send_keys(str(good))
    dash_duo.wait_for_contains_text(f"#{ui.UPLOAD_NAME}", "good.csv", timeout=10)
    click(dash_duo, "vehicle-csv")
    status_text(dash_duo, "vehicle-csv", "Imported 3 vehicle(s): UI-BUS-1, UI-VAN-1, UI-CAR-1")
    dash_duo.wait_for_contains_text(f"[id='{dash_id(type=ui.TABLE, name='vehicles')}']", "UI van 1", timeout=10)
    with session_scope() as s:
        assert s.get(models.Vehicle, "UI-BUS-1").target_soc == 0.95
        assert s.get(models.Vehicle, "UI-VAN-1").evcc_id == "001A2B3C4D99"

    # The unknown plug-in: "this is UI-CAR-1", one click; its tag is kept so the next plug-in is recognised.
    dash_duo.wait_for_contains_text("#admin-unknown", "unknown vehicle at CP-UI-1 (tag CARD-UI-77)", timeout=10)
    shot(dash_duo, artifacts_dir, "vehicles")
    Select(by_id(dash_duo, type=ui.ASSIGN_SELECT, session=plug_id)).select_by_value("UI-CAR-1")
    by_id(dash_duo, type=ui.ASSIGN_BUTTON, session=plug_id).click()
    dash_duo.wait_for_contains_text(f"[id='{dash_id(type=ui.STATUS, form='assign')}']", "Assigned UI-CAR-1", timeout=20)
    dash_duo.wait_for_contains_text("#admin-unknown", "Every plugged-in vehicle is recognised", timeout=10)
    with session_scope() as s:
        assert s.get(models.PlugSession, plug_id).vehicle_id == "UI-CAR-1"
        assert s.get(models.Vehicle, "UI-CAR-1").id_tag == "CARD-UI-77"
        s.get(models.PlugSession, plug_id).ended_at = now()

    # 4. People: an account, then a password reset.
    open_page(dash_duo, base, "/admin/people", "People")
    fill(dash_duo, "user", username="ui-newbie", password="first-password-1")
    Select(by_id(dash_duo, type=ui.FIELD, form="user", field="role")).select_by_value("operator")
    click(dash_duo, "user")
    status_text(dash_duo, "user", "Added ui-newbie (operator)")
    dash_duo.driver.refresh()
    dash_duo.wait_for_text_to_equal(f"#{ui.ADMIN_TITLE}", "People", timeout=15)
    fill(dash_duo, "user-account", username="ui-newbie", password="second-password-2")
    click(dash_duo, "user-account", "reset")
    status_text(dash_duo, "user-account", "Password of ui-newbie reset")
    with session_scope() as s:
        assert users.authenticate(session=s, username="ui-newbie", password="second-password-2") is not None
        actions = [a.action for a in s.exec(select(models.AuditEvent).where(models.AuditEvent.actor == "ui-admin"))]
        assert {"site.add", "charger.add", "vehicle.add", "user.create", "user.password_reset"} <= set(actions)
    shot(dash_duo, artifacts_dir, "people")

    open_page(dash_duo, base, "/account/password", "Change your password")
    shot(dash_duo, artifacts_dir, "account")


def test_an_operator_is_refused_on_the_page_and_on_the_server(dash_duo):
    from app import app, server
    from pages import admin_sites

    base = start_logged_in(dash_duo, app, username="ui-operator", role="operator", path="/admin/sites")
    dash_duo.wait_for_contains_text("#admin-refused", "Admins only: your role is operator", timeout=15)
    assert dash_duo.driver.find_elements(By.ID, "admin-form-site") == []
    assert "Admin" not in [a.text for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, "#shell-navbar a.nav-link")]
    dash_duo.driver.get(base + "/admin/people")
    dash_duo.wait_for_contains_text("#admin-refused", "Admins only", timeout=15)
    # The callback itself refuses anyone but an admin, whatever a browser sends it.
    with server.test_request_context("/_dash-update-component", method="POST"), pytest.raises(Forbidden):
        admin_sites.save(1, [])
