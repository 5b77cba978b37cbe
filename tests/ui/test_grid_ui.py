"""The Grid page in a real browser: the figure, the tariff and the events render; a bad upload is
refused with its row and column; a good one is previewed, then saved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from components import ids
from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui


def open_logged_in(dash_duo, path: str, role: str = "operator") -> str:
    """Start the app, log in as an account of `role` and open `path`; returns the server's base URL."""
    from app import app

    base = start_logged_in(dash_duo, app, username=f"ui-{role}", role=role, path=path)
    dash_duo.wait_for_element("#react-entry-point", timeout=15)
    return base


def test_grid_page_renders_and_takes_an_upload(dash_duo, tmp_path, artifacts_dir):
    from sqlmodel import func, select

    from core import models
    from core.db import session_scope

    open_logged_in(dash_duo, "/grid")
    dash_duo.wait_for_element(f"#{ids.GRID_FIGURE} .main-svg", timeout=15)
    figure_text = dash_duo.find_element(f"#{ids.GRID_FIGURE}").text
    assert "Price (EUR/kWh)" in figure_text and "kW" in figure_text
    assert "Time-of-use tariff" in dash_duo.find_element(f"#{ids.GRID_TARIFF}").text
    assert "5 MB" in dash_duo.find_element("#_pages_content").text  # the stated size limit

    # A bad file (tried: a gap, 00:30 missing): refused, row and column named, Save stays disabled.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "start,import_eur_per_kwh\n2031-01-06T00:00:00+01:00,0.2\n2031-01-06T00:15:00+01:00,0.2\n"
        "2031-01-06T00:45:00+01:00,0.2\n"
    )
    upload = dash_duo.find_element(f"#{ids.GRID_UPLOAD} input[type=file]")
    upload.send_keys(str(bad))
    dash_duo.wait_for_contains_text(f"#{ids.GRID_UPLOAD_PREVIEW}", "row 4, column 'start': gap", timeout=10)
    assert not dash_duo.find_element(f"#{ids.GRID_UPLOAD_SAVE}").is_enabled()

    # Tried: a 6 MB file: refused with the limit named, without parsing.
    big = tmp_path / "big.csv"
    big.write_bytes(b"start,import_eur_per_kwh\n" + b"x" * (6 * 1024 * 1024))
    dash_duo.find_element(f"#{ids.GRID_UPLOAD} input[type=file]").send_keys(str(big))
    dash_duo.wait_for_contains_text(f"#{ids.GRID_UPLOAD_PREVIEW}", "the limit is 5 MB", timeout=20)

    good = tmp_path / "good.csv"
    good.write_text("start,import_eur_per_mwh,export_eur_per_mwh\n2031-01-06 00:00,210,60\n2031-01-06 01:00,190,50\n")
    dash_duo.find_element(f"#{ids.GRID_UPLOAD} input[type=file]").send_keys(str(good))
    dash_duo.wait_for_contains_text(f"#{ids.GRID_UPLOAD_PREVIEW}", "8 15-minute prices will be stored", timeout=10)
    assert "0.21000" in dash_duo.find_element(f"#{ids.GRID_UPLOAD_PREVIEW}").text
    save = dash_duo.find_element(f"#{ids.GRID_UPLOAD_SAVE}")
    assert save.is_enabled()
    dash_duo.driver.save_screenshot(str(artifacts_dir / "grid-page.png"))
    # A script click: Selenium's own scrolling could not bring the button (low on a long page) into view.
    dash_duo.driver.execute_script("arguments[0].click()", save)
    dash_duo.wait_for_contains_text(f"#{ids.GRID_UPLOAD_MESSAGE}", "stored 8 15-minute prices", timeout=10)
    with session_scope() as session:
        n = session.exec(
            select(func.count()).select_from(models.PricePoint).where(models.PricePoint.source == "csv")
            .where(models.PricePoint.start >= datetime(2031, 1, 1, tzinfo=UTC))
        ).one()  # fmt: skip
    assert n == 8
    assert dash_duo.get_logs() == []


def _set_input(dash_duo, element_id: str, value: str) -> None:
    """Type into a React-controlled input the way a user's edit reaches it (datetime-local included)."""
    dash_duo.driver.execute_script(
        "const el = document.getElementById(arguments[0]);"
        "Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, arguments[1]);"
        "el.dispatchEvent(new Event('input', {bubbles: true}));"
        "el.dispatchEvent(new Event('change', {bubbles: true}));",
        element_id,
        value,
    )


def test_operator_adds_an_export_request_with_the_form(dash_duo):
    from sqlmodel import select

    from core import models
    from core.db import session_scope

    open_logged_in(dash_duo, "/grid")
    dash_duo.wait_for_element(f"#{ids.GRID_FORM_ADD}", timeout=15)
    add = dash_duo.find_element(f"#{ids.GRID_FORM_ADD}")

    # Tried: an end before the start; refused, nothing stored.
    _set_input(dash_duo, ids.GRID_FORM_START, "2031-02-03T18:00")
    _set_input(dash_duo, ids.GRID_FORM_END, "2031-02-03T17:00")
    _set_input(dash_duo, ids.GRID_FORM_KW, "35")
    _set_input(dash_duo, ids.GRID_FORM_REWARD, "0.4")
    dash_duo.driver.execute_script("arguments[0].click()", add)
    dash_duo.wait_for_contains_text(f"#{ids.GRID_FORM_MESSAGE}", "the end must be after the start", timeout=10)

    _set_input(dash_duo, ids.GRID_FORM_END, "2031-02-03T19:00")
    dash_duo.driver.execute_script("arguments[0].click()", add)
    dash_duo.wait_for_contains_text(f"#{ids.GRID_FORM_MESSAGE}", "Added export request", timeout=10)
    with session_scope() as session:
        rows = session.exec(
            select(models.GridSignal).where(models.GridSignal.start >= datetime(2031, 2, 1, tzinfo=UTC))
        ).all()
    # 18:00-19:00 local (CET) is 17:00-18:00 UTC.
    assert [(r.kind, r.kw, r.reward_per_kwh, r.start, r.end, r.source) for r in rows] == [
        (
            "export_request",
            35.0,
            0.4,
            datetime(2031, 2, 3, 17, tzinfo=UTC),
            datetime(2031, 2, 3, 18, tzinfo=UTC),
            "operator",
        )
    ]
    assert dash_duo.get_logs() == []


def test_operator_opts_the_site_out_of_demand_response_from_the_grid_page(dash_duo):
    """Tried: an operator flips the demand-response switch off; the site setting and an audit row follow."""
    from sqlmodel import select

    from app import app
    from components import ids
    from core import models
    from core.db import session_scope
    from tests.ui.helpers import start_logged_in

    start_logged_in(dash_duo, app, username="grid-dr-operator", role="operator", path="/grid")
    switch = dash_duo.wait_for_element(f"#{ids.GRID_DR_OPT_IN}", timeout=15)
    try:
        dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", switch)
        dash_duo.wait_for_contains_text(f"#{ids.GRID_DR_MESSAGE}", "Opted out", timeout=15)
        with session_scope() as s:
            assert s.get(models.Site, "depot-ams").demand_response_opt_in is False
            audit = s.exec(select(models.AuditEvent).where(models.AuditEvent.action == "demand_response.set")).all()[-1]
            assert (audit.actor, audit.after) == ("grid-dr-operator", {"demand_response_opt_in": False})
    finally:
        with session_scope() as s:
            s.get(models.Site, "depot-ams").demand_response_opt_in = True


def test_grid_page_reports_a_breach_of_the_connection_limit(dash_duo, artifacts_dir):
    """A spell of readings over the import limit (as the gateway's guard records it) is on the Grid page:
    when, the limit, how many readings, the worst kW over, how long, how many chargers were capped."""
    from datetime import timedelta

    from core import models
    from core.clock import now
    from core.db import session_scope

    start = now() - timedelta(minutes=20)
    with session_scope() as session:
        session.add(models.LimitExcursion(
            site_id="depot-ams", direction="import", limit_kw=400.0, started_at=start, ended_at=start + timedelta(seconds=40),
            readings=4, readings_over_limit=2, worst_kw_over_limit=12.5, seconds_over_limit=20.0, guard_commands=3,
        ))  # fmt: skip
    open_logged_in(dash_duo, "/grid")
    dash_duo.wait_for_contains_text(f"#{ids.GRID_LIMITS_TABLE}", "1 breach(es) of the limit", timeout=15)
    text = dash_duo.find_element(f"#{ids.GRID_LIMITS_TABLE}").text
    assert "import 400" in text and "2 of 4" in text and "12.5" in text and "20 s" in text
    dash_duo.driver.set_window_size(1280, 1500)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "grid-limits.png"))
