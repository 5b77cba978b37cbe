"""Every page fits a 390 px phone screen: nothing makes the page scroll sideways (wide tables scroll
inside their own box instead). Real headless Chromium, emulating a 390 x 844 phone."""

from __future__ import annotations

import time

import dash
import pytest

from tests.ui.helpers import start_logged_in

pytestmark = pytest.mark.ui

WIDTH = 390

# The elements that stick out to the right, for the failure message.
WIDEST = """
const out = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.right > window.innerWidth + 1 && r.width > 0) {
    let inside = false;  // skip what sits inside a box that scrolls by itself
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { inside = true; break; }
    }
    if (!inside) out.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + Math.round(r.right));
  }
}
return out.slice(0, 8);
"""


def page_width(driver) -> int:
    return driver.execute_script("return document.scrollingElement.scrollWidth")


def test_no_page_scrolls_sideways_at_390_px(dash_duo, artifacts_dir):
    from app import app

    base = start_logged_in(dash_duo, app, username="narrow-viewer", role="viewer")
    driver = dash_duo.driver
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": 844, "deviceScaleFactor": 1, "mobile": False}
    )
    too_wide = {}
    for page in dash.page_registry.values():
        driver.get(base + page["relative_path"])
        dash_duo.wait_for_element("#_pages_content > *", timeout=15)
        time.sleep(1.5)  # graphs and tables fill in after the first paint
        assert driver.execute_script("return window.innerWidth") == WIDTH
        width = page_width(driver)
        if width > WIDTH:
            too_wide[page["relative_path"]] = (width, driver.execute_script(WIDEST))
        name = page["name"].lower().replace(" ", "-")
        driver.save_screenshot(str(artifacts_dir / f"narrow-{name}.png"))
    assert too_wide == {}, f"pages wider than {WIDTH} px: {too_wide}"
    assert dash_duo.get_logs() == []
