"""The reports by name and `build_report`, which the Reports page and the command line both call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Engine

from core import models
from core.db import session_scope
from core.reports.context import MAX_DAYS, Context, Report, ReportError
from core.reports.energy import savings, site_energy
from core.reports.events import audit, dispatch_runs, grid_events
from core.reports.plug_sessions import sessions
from core.rules.local_time import local_range
from core.sites import first_site_id

REPORTS: dict[str, tuple[str, Callable[[Context], pd.DataFrame]]] = {
    "site-energy": ("Site energy per 15 minutes", site_energy),
    "sessions": ("Plug-in sessions", sessions),
    "savings": ("Savings per day", savings),
    "grid-events": ("Grid events", grid_events),
    "audit": ("Audit log", audit),
    "dispatch-runs": ("Dispatch runs", dispatch_runs),
}


def report_range(timezone: str, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC range of local dates [date_from, date_to]; ReportError when the end is before the
    start or the range is longer than MAX_DAYS."""
    if date_to < date_from:
        raise ReportError(f"the end date {date_to} is before the start date {date_from}")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ReportError(f"at most {MAX_DAYS} days per report")
    return local_range(timezone, date_from, date_to)


def build_report(
    name: str, *, date_from: date, date_to: date, site_id: str | None = None, engine: Engine | None = None
) -> Report:
    """The report `name` for the site (default: the first) over local dates [date_from, date_to].

    ReportError for an unknown name, site or bad dates; core.sites.NoSiteError when there is no site.
    """
    if name not in REPORTS:
        raise ReportError(f"unknown report {name!r}; one of {', '.join(REPORTS)}")
    with session_scope(engine) as session:
        site_id = site_id or first_site_id(session=session)
        site = session.get(models.Site, site_id)
        if site is None:
            raise ReportError(f"no site {site_id!r}")
        start, end = report_range(site.timezone, date_from, date_to)
        ctx = Context(session, site, ZoneInfo(site.timezone), start, end, site.currency.lower())
        frame = REPORTS[name][1](ctx)
    return Report(name, frame, f"{name}_{site_id}_{date_from.isoformat()}_{date_to.isoformat()}.csv")
