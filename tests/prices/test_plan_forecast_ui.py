"""The Plan page in a real browser shows building load and PV, forecast against measured."""

from __future__ import annotations

import pytest

from components import ids
from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui


def test_plan_page_draws_forecast_against_measured(dash_duo):
    from app import app

    start_logged_in(dash_duo, app, username="ui-forecast", role="viewer", path="/plan")
    dash_duo.wait_for_element(f"#{ids.PLAN_FORECAST_FIGURE} .main-svg", timeout=20)
    legend = dash_duo.find_element(f"#{ids.PLAN_FORECAST_FIGURE} .legend").text
    for name in ("Building load (forecast)", "Building load (measured)", "PV (forecast)", "PV (measured)"):
        assert name in legend
    assert dash_duo.find_element(f"#{ids.PLAN_FORECAST_NOTE}").text.startswith("Forecast from ")
    assert dash_duo.get_logs() == []
