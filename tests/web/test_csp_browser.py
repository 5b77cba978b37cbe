"""The Content-Security-Policy in a real headless Chromium: every page still renders (Dash's own
inline scripts are allowed by hash, plotly charts draw) with no violation in the console, while a
script injected into the page is refused."""

from __future__ import annotations

import json

import dash
import pytest

from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui

INJECT = """
const s = document.createElement('script');
s.textContent = 'window.__injected = true;';
document.head.appendChild(s);
return window.__injected === true;
"""


def page_headers(driver, path: str) -> dict:
    """The response headers of the last document load of `path` (Chrome performance log)."""
    found = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived" and message["params"]["type"] == "Document":
            response = message["params"]["response"]
            if response["url"].endswith(path):
                found = {k.lower(): v for k, v in response["headers"].items()}
    return found


def test_pages_render_under_the_csp_and_an_injected_script_is_refused(dash_duo, artifacts_dir):
    from app import app

    base = start_logged_in(dash_duo, app, username="csp-viewer", role="viewer")
    driver = dash_duo.driver
    for page in dash.page_registry.values():
        driver.get(base + page["relative_path"])
        dash_duo.wait_for_element("#_pages_content > *", timeout=15)
        headers = page_headers(driver, page["relative_path"])
        assert "script-src 'self' 'sha256-" in headers.get("content-security-policy", ""), page["relative_path"]
        assert headers.get("cache-control") == "no-store"
    driver.get(base + "/")
    dash_duo.wait_for_element(".js-plotly-plot .main-svg", timeout=20)  # plotly draws under the policy
    assert dash_duo.get_logs() == [], "a page broke the policy (or failed otherwise)"

    assert driver.execute_script(INJECT) is False  # the injected script did not run
    logs = dash_duo.get_logs()
    assert any("Content Security Policy" in entry["message"] for entry in logs), logs
    driver.save_screenshot(str(artifacts_dir / "csp-overview.png"))
