"""CSV reports: site energy, sessions, savings, grid events, audit log, dispatch runs.

The Reports page and `python -m core.reports` call the same `build_report`, so they give the same
numbers. The modules:

- `context`: the request (`Context`, `Report`, `ReportError`), the 15-minute site intervals and
  their prices, the plug-in sessions of the range;
- `energy`: site energy per 15 minutes, the uncontrolled counterfactual and the savings per day;
- `plug_sessions`: the sessions report, one row per plug-in;
- `events`: grid events, the audit log and dispatch runs;
- `catalog`: `REPORTS` by name and `build_report`; `cli`: the command line (how each number is
  made is in its help text).
"""

from core.reports.catalog import REPORTS, build_report, report_range
from core.reports.cli import main
from core.reports.context import MAX_DAYS, Context, Interval, Report, ReportError
from core.reports.energy import savings, site_energy, uncontrolled_ev_kw
from core.reports.events import audit, dispatch_runs, grid_events
from core.reports.plug_sessions import sessions
from core.sites import NoSiteError

__all__ = [
    "MAX_DAYS",
    "REPORTS",
    "Context",
    "Interval",
    "NoSiteError",
    "Report",
    "ReportError",
    "audit",
    "build_report",
    "dispatch_runs",
    "grid_events",
    "main",
    "report_range",
    "savings",
    "sessions",
    "site_energy",
    "uncontrolled_ev_kw",
]
