"""Today's money for the overview: the same numbers as the savings report (core.reports)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import reports
from core.telemetry.site import site_info


def today_cost_and_savings(site_id: str, *, engine: Engine | None = None) -> tuple[float | None, float | None]:
    """Today's energy cost and the saving against uncontrolled charging, in the site's currency
    (None, None when the report has no row for today's local date)."""
    site = site_info(site_id, engine=engine)
    today = site.local_time.date()
    report = reports.build_report("savings", date_from=today, date_to=today, site_id=site_id, engine=engine)
    if report.frame.empty:
        return None, None
    row = report.frame.iloc[0]
    currency = site.currency.lower()
    return float(row[f"actual_cost_{currency}"]), float(row[f"savings_{currency}"])
