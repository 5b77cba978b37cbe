"""CSV reports: site energy, sessions, savings, grid events, audit log, dispatch runs.

    python -m core.reports NAME --from YYYY-MM-DD --to YYYY-MM-DD [--site ID] -o FILE.csv

NAME is one of site-energy, sessions, savings, grid-events, audit, dispatch-runs. The Reports page
and the command line call the same `build_report`, so they give the same numbers.

Conventions: a header row; units in the column names (`energy_kwh`, `cost_eur`, the currency from
the site); timestamps ISO 8601 with the UTC offset, in the site's time zone; '.' as the decimal
mark; UTF-8. --from and --to are local dates in the site's time zone, both included.

How the numbers are made:
- Site energy: the site meter's readings averaged per 15-minute interval; energy = mean kW x 0.25 h.
  Net import and export come from the interval's mean net power. Cost = import kWh x import price -
  export kWh x export price, with the price dispatch used (`price_source` says when it was assumed).
- Sessions: per plug-in, from the charger's meter readings averaged per 15 minutes: charged and
  discharged kWh, their cost at the import price and revenue at the export price, degradation cost
  = discharged kWh x the site's degradation cost per kWh. The floor column counts minutes of
  discharging below the vehicle's SoC floor (it should be 0).
- Savings: per day, the actual cost against an uncontrolled counterfactual in which every session
  charges at full power from arrival until it has taken the energy to its target (same building and
  PV), and the highest 15-minute net import both ways.
- Grid events: per event, committed and delivered energy, performance and reward, and each vehicle's
  discharged kWh and share of the reward (by its part of each interval's discharge; core.signals).
  For an import cap, delivered_kwh is the energy imported during the cap and performance the share
  of 15-minute intervals whose mean import stayed at or under it; it has no committed kWh.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from core.db import init_db
from core.reports.catalog import REPORTS, build_report
from core.reports.context import ReportError
from core.sites import NoSiteError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    """`python -m core.reports`: write one report as CSV; 2 on a bad request or no site."""
    parser = argparse.ArgumentParser(
        prog="python -m core.reports", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", choices=list(REPORTS))
    parser.add_argument("--from", dest="date_from", type=_date, required=True, help="first local date, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", type=_date, required=True, help="last local date, included")
    parser.add_argument("--site", help="site id (default: the first site)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write ('-' for stdout)")
    args = parser.parse_args(argv)
    init_db()
    try:
        report = build_report(args.name, date_from=args.date_from, date_to=args.date_to, site_id=args.site)
    except (ReportError, NoSiteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if str(args.output) == "-":
        sys.stdout.write(report.to_csv())
    else:
        args.output.write_text(report.to_csv(), encoding="utf-8")
        print(f"{args.name}: {len(report.frame)} rows -> {args.output}")
    return 0
