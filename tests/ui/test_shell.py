"""The app in a real headless Chromium: the overview shows the demo fleet, every page opens
without a console error, and no request leaves 127.0.0.1 (control rooms are often air-gapped)."""

from __future__ import annotations

import dash
import pytest

from components import ids
from tests.ui.helpers import non_local, requested_urls, start_logged_in

pytestmark = pytest.mark.ui


def test_overview_shows_demo_fleet_and_every_page_opens_offline(dash_duo, artifacts_dir):
    from app import app, nav_pages

    start_logged_in(dash_duo, app, username="shell-viewer", role="viewer")  # every page needs a log-in
    dash_duo.wait_for_text_to_equal(f"#{ids.OVERVIEW_TITLE}", "Amsterdam West bus & van depot", timeout=15)
    table = dash_duo.find_element(f"#{ids.OVERVIEW_FLEET_TABLE}")
    assert "E-bus 1" in table.text and "Staff car 8" in table.text
    assert len(table.find_elements("css selector", "tbody tr")) == 20
    assert "400.0 kW" in dash_duo.find_element(f"#{ids.OVERVIEW_LIMITS}").text
    # Bootstrap is served by the app: the navbar is styled (dark background), not raw HTML.
    navbar_bg = dash_duo.driver.execute_script(
        "return getComputedStyle(document.querySelector('nav.navbar')).backgroundColor"
    )
    assert navbar_bg not in ("rgba(0, 0, 0, 0)", "transparent"), navbar_bg
    dash_duo.driver.save_screenshot(str(artifacts_dir / "overview.png"))

    pages = nav_pages()
    assert len(pages) >= 1
    for page in pages:
        dash_duo.find_element(f"#{ids.nav_link_id(page['name'])}").click()
        dash_duo.wait_for_element(f"#{ids.nav_link_id(page['name'])}.active", timeout=10)
        dash_duo.wait_for_element("#_pages_content > *", timeout=10)
        name = page["name"].lower().replace(" ", "-")
        dash_duo.driver.save_screenshot(str(artifacts_dir / f"page-{name}.png"))
    # Pages outside the navbar (the wall display) open by their path.
    for page in dash.page_registry.values():
        if page not in pages:
            dash_duo.driver.get(dash_duo.server.url.rstrip("/") + page["relative_path"])
            dash_duo.wait_for_element("#_pages_content > *", timeout=10)

    assert dash_duo.get_logs() == [], "console errors on a page"
    leaving = non_local(requested_urls(dash_duo.driver))
    assert leaving == [], f"requests left 127.0.0.1: {leaving}"


def test_offline_check_catches_a_cdn_request():
    """The offline check itself can fail: a CDN URL is reported, a local one is not."""
    urls = ["http://127.0.0.1:8050/_dash-layout", "https://cdn.jsdelivr.net/npm/bootstrap.css", "data:image/png;base64,x"]
    assert non_local(urls) == ["https://cdn.jsdelivr.net/npm/bootstrap.css"]
