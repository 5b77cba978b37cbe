"""How vehicles left, in a real headless Chromium: the vehicle page lists a short departure with its
kWh and why, and the overview counts today's departures met and short."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dash.testing.wait import until
from sqlmodel import delete

from components import ids
from core import models
from core.clock import now
from core.db import session_scope
from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui


@pytest.fixture
def departures():
    """Two departures a minute ago (today on the site's clock): E-bus 3 left 10.5 kWh short, E-bus 4 met its target."""
    left = now() - timedelta(minutes=1)
    with session_scope() as s:
        plugs = [
            models.PlugSession(charger_id=f"CP-BUS-0{n}", vehicle_id=f"BUS-0{n}", transaction_id=f"ui-departure-{n}",
                               started_at=left - timedelta(hours=9), ended_at=left)
            for n in (3, 4)
        ]
        s.add_all(plugs)
        s.flush()
        s.add(models.DepartureOutcome(session_id=plugs[0].id, vehicle_id="BUS-03", charger_id="CP-BUS-03", departed_at=left,
                                      planned_departure_at=left, target_soc=0.95, soc_at_departure=0.92, short_kwh=10.5,
                                      met=False, reason="charger ignored its profile (last profile: Rejected)"))
        s.add(models.DepartureOutcome(session_id=plugs[1].id, vehicle_id="BUS-04", charger_id="CP-BUS-04", departed_at=left,
                                      planned_departure_at=left, target_soc=0.95, soc_at_departure=0.95, short_kwh=0.0,
                                      met=True))
        session_ids = [p.id for p in plugs]
    yield
    with session_scope() as s:
        s.exec(delete(models.DepartureOutcome).where(models.DepartureOutcome.session_id.in_(session_ids)))
        s.exec(delete(models.PlugSession).where(models.PlugSession.id.in_(session_ids)))


def text_of(dash_duo, selector: str) -> str:
    return dash_duo.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", selector
    )


def test_the_vehicle_page_and_the_overview_show_a_short_departure(dash_duo, departures):
    from app import app

    start_logged_in(dash_duo, app, username="departures-viewer", role="viewer", path="/vehicles/BUS-03")
    dash_duo.wait_for_element(f"#{ids.VEHICLE_DETAIL_DEPARTURES}", timeout=15)
    table = text_of(dash_duo, f"#{ids.VEHICLE_DETAIL_DEPARTURES}")
    assert "✖ short −10.5 kWh" in table and "charger ignored its profile (last profile: Rejected)" in table
    assert "95 %" in table and "92 %" in table  # target and SoC at departure

    dash_duo.driver.get(dash_duo.server.url + "/")
    until(lambda: "✔ 1 met · ✖ 1 short" in text_of(dash_duo, f"#{ids.OVERVIEW_DEPARTED}"), timeout=15)
    assert "E-bus 3 −10.5 kWh" in text_of(dash_duo, f"#{ids.OVERVIEW_DEPARTED}")
    assert dash_duo.get_logs() == []
