"""Times of day are typed on a 24-hour clock: the settings forms' time fields are plain HH:MM text
(a browser's type="time" shows AM/PM in some locales), and whatever is typed, the server checks it
with the one rule (core.controls.validation.time_of_day) and saves nothing when it is not HH:MM."""

from __future__ import annotations

import pytest
from sqlmodel import select

from components import settings as ui
from core import controls, models
from core.controls.forms import save_form
from core.db import session_scope
from tests.ui.helpers import start_logged_in

TIME_FIELDS = [
    ("departure", "departure_time"),
    ("oneoff", "departs_time"),
    ("window", "start_time"),
    ("window", "end_time"),
]
NOT_24_HOUR = ["7:30 PM", "07:30 AM", "24:00", "7.30", "1930", "12:60", ""]


def test_a_time_field_is_24_hour_text():
    control = ui._control("window", ui.Field("start_time", "From", "time", "17:00"))
    assert control.type == "text" and control.value == "17:00" and control.placeholder == "HH:MM"
    assert control.pattern == ui.TIME_PATTERN


def form_values(form: str, field: str, value: str) -> dict:
    base = {
        "departure": {"vehicle": "VAN-08", "weekdays": list("01234"), "departure_time": "06:30", "target": 90},
        "oneoff": {"vehicle": "VAN-08", "departs_date": "2026-12-03", "departs_time": "06:00", "target": None},
        "window": {"vehicle": "VAN-08", "weekdays": list("01234"), "start_time": "17:00", "end_time": "21:00",
                   "date_from": None, "date_to": None},
    }[form]  # fmt: skip
    return {**base, field: value}


def counts(engine) -> tuple[int, int, int, int]:
    with session_scope(engine) as s:
        return tuple(
            len(s.exec(select(table)).all())
            for table in (models.AuditEvent, models.DepartureSchedule, models.DepartureOverride, models.V2GWindow)
        )


@pytest.mark.parametrize(("form", "field"), TIME_FIELDS)
@pytest.mark.parametrize("typed", NOT_24_HOUR)
def test_a_time_not_in_24_hour_hhmm_is_refused_and_nothing_is_saved(demo_engine, clock, form, field, typed):
    before = counts(demo_engine)
    with pytest.raises(controls.ValidationError) as refused:
        save_form(form, form_values(form, field, typed), actor="ops", engine=demo_engine)
    message = refused.value.errors.get(field, "")  # the message sits at the field that was typed in
    assert "HH:MM" in message or (typed == "" and message == "required"), refused.value.errors
    assert counts(demo_engine) == before


@pytest.mark.parametrize(("form", "field"), TIME_FIELDS)
def test_an_evening_time_in_24_hours_is_saved(demo_engine, clock, form, field):
    saved = save_form(form, form_values(form, field, "19:30"), actor="ops", confirmed=True, engine=demo_engine)
    assert saved["audit_id"]


@pytest.mark.ui
def test_the_settings_page_shows_24_hour_times_in_an_en_us_browser(dash_duo):
    """Chromium runs with the en-US locale (which shows type="time" as 06:30 AM): the fields read 06:30."""
    from app import app

    start_logged_in(dash_duo, app, username="time-viewer", role="viewer", path="/settings")
    dash_duo.wait_for_text_to_equal(f"#{ui.SETTINGS_TITLE}", "Settings", timeout=15)
    assert dash_duo.driver.execute_script("return navigator.language").startswith("en")
    fields = dash_duo.driver.find_elements("css selector", "input.time-24h")
    assert len(fields) == len(TIME_FIELDS)
    for field in fields:
        assert field.get_attribute("type") == "text"
        assert len(field.get_attribute("value")) == 5 and ":" in field.get_attribute("value")
        assert "M" not in field.get_attribute("value")
    assert dash_duo.get_logs() == []
