"""The Reports page in a real browser: preview, then download a CSV and read it back with pandas."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
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


def _wait_for_file(folder: Path, timeout: float = 15) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.csv")]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no CSV downloaded into {folder}: {list(folder.iterdir())}")


def test_download_site_energy_report(dash_duo):
    from sqlmodel import delete

    from core import models, reports, telemetry
    from core.clock import now
    from core.db import session_scope

    site = telemetry.site_info()
    marker = 12345.0  # pv_kw of the readings this test adds, so it can remove them again
    # Two hours of site meter readings every 5 minutes, ending now: 24 readings in 8 or 9 intervals.
    with session_scope() as session:
        for k in range(24):
            t = now() - timedelta(minutes=5 * k)
            session.add(
                models.SiteSample(
                    site_id=site.id, time=t, building_load_kw=40 + k, pv_kw=marker, ev_power_kw=10, ev_charge_kw=10,
                    net_import_kw=45 + k,
                )
            )  # fmt: skip
    try:
        today = site.local_time.date()
        expected = reports.build_report("site-energy", date_from=today - timedelta(days=6), date_to=today).frame
        assert len(expected) >= 8

        open_logged_in(dash_duo, "/reports")
        dash_duo.wait_for_element(f"#{ids.REPORTS_PREVIEW} table", timeout=15)
        assert f"{len(expected)} rows" in dash_duo.find_element(f"#{ids.REPORTS_PREVIEW}").text
        dash_duo.find_element(f"#{ids.REPORTS_DOWNLOAD_BUTTON}").click()

        path = _wait_for_file(Path(dash_duo.download_path))
        assert path.name.startswith(f"site-energy_{site.id}_")
        got = pd.read_csv(path, encoding="utf-8")
        assert list(got.columns) == list(expected.columns)
        assert "cost_eur" in got.columns and "net_import_kwh" in got.columns
        assert list(got["interval_start"]) == list(expected["interval_start"])
        pd.testing.assert_series_equal(got["net_import_kwh"], expected["net_import_kwh"], check_dtype=False)
        pd.testing.assert_series_equal(got["cost_eur"], expected["cost_eur"], check_dtype=False)
        assert dash_duo.get_logs() == []
    finally:
        with session_scope() as session:
            session.exec(delete(models.SiteSample).where(models.SiteSample.pv_kw == marker))
