"""Prices, tariffs and grid events from files:

    python -m core.signals import-prices FILE.csv [--site ID] [--timezone ZONE]
    python -m core.signals import-signals FILE.csv [--site ID] [--timezone ZONE]
    python -m core.signals set-tariff FILE.json [--site ID]
    python -m core.signals price-feed set|show|fetch ...   (day-ahead prices: core/signals/price_feed_cli.py)

Price CSV (UTF-8, comma-separated, '.' decimal, header in the first row):

    start,import_eur_per_kwh,export_eur_per_kwh
    2026-03-02T00:00:00+01:00,0.2310,0.0810
    2026-03-02T00:15:00+01:00,0.2290,0.0790

- `start`: ISO 8601. With a UTC offset (`+01:00`, `Z`) the offset is used. Without one, the time is
  local time in the zone given with `--timezone` (the Grid page's "Time zone" field, filled with the
  site's zone); a file without offsets and no zone is refused. The repeated hour at the end of
  summer time is read in order (first pass, then second); a time that does not exist is refused.
- Rows are 15 minutes or one hour apart (all rows the same), without gaps or repeats. An optional
  `end` column gives each interval's end; without it the interval is the distance to the next row.
- Prices: `import_<currency>_per_kwh` or `import_<currency>_per_mwh`, and the same for `export_`
  (optional; 0 when absent). The currency must be the site's. Per-MWh prices are divided by 1000.
- Hourly rows are stored as four 15-minute price points. Saving replaces the stored prices of the
  file's period; nothing else is touched.

Grid-event CSV: `kind,start,end,kw[,reward_<currency>_per_kwh][,external_id]`, kind `import_cap` or
`export_request`, timestamps as above.

Limits: at most 5 MB and 100,000 data rows, checked before the file is parsed. A file with any fault
(wrong header, bad timestamp, gap, repeated interval, a value that is not a number) is refused as a
whole, and the message names the row (the header is row 1, as in a spreadsheet) and the column.

Tariff JSON (`set-tariff`): {"name": "...", "demand_charge_per_kw_month": 4.5, "rules": [{"days":
"weekday", "start": "07:00", "end": "23:00", "import_per_kwh": 0.30, "export_per_kwh": 0.08}, ...]}
with days `weekday`, `weekend`, `all` or weekday digits (`"0123456"`, Monday = 0); an end before the
start crosses midnight and belongs to the weekday it starts on (as V2G windows: Fri 23:00-07:00 covers
Saturday morning); end equal to start is the whole day. Two rules may not cover the same time.
Example: tests/data/tariff.json.

Where no price is stored, dispatch and the Grid page use, in this order: the tariff rule, the demo
profile (demo mode), the price at the same time on the last day that has one (up to a week back),
the last stored price, and a flat 0.25/kWh; every such step is marked as assumed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.db import init_db, run_in_transaction
from core.errors import ValidationError
from core.signals.csv_import import read_text_file
from core.signals.errors import SignalError
from core.signals.grid_events import import_signals
from core.signals.price_feed_cli import add_parser as add_price_feed_parser
from core.signals.price_feed_cli import run as run_price_feed
from core.signals.prices import import_prices
from core.signals.tariffs import parse_tariff, set_tariff
from core.sites import NoSiteError, default_site_id


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.signals", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("import-prices", "import a price CSV"), ("import-signals", "import a grid-event CSV")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("file", type=Path)
        p.add_argument("--site", help="site id (default: the first site)")
        p.add_argument("--timezone", help="zone of timestamps without a UTC offset, e.g. Europe/Amsterdam")
    p = sub.add_parser("set-tariff", help="set the time-of-use tariff from a JSON file")
    p.add_argument("file", type=Path)
    p.add_argument("--site", help="site id (default: the first site)")
    add_price_feed_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command on the configured database; 0 when stored, 2 when refused (message on stderr)."""
    args = _parser().parse_args(argv)
    init_db()
    try:
        site_id = args.site or default_site_id()
        if args.command == "price-feed":
            return run_price_feed(args, site_id)
        if args.command == "set-tariff":
            try:
                doc = json.loads(read_text_file(args.file))
            except json.JSONDecodeError as exc:
                raise SignalError(f"{args.file}: not JSON ({exc})") from None
            spec = parse_tariff(doc)
            run_in_transaction(set_tariff, site_id=site_id, spec=spec, actor="cli")
            print(f"tariff {spec.name!r}: {len(spec.rules)} rules for site {site_id}")
            return 0
        text = read_text_file(args.file)
        if args.command == "import-prices":
            n = import_prices(text=text, site_id=site_id, timezone=args.timezone, actor="cli")
            print(f"stored {n} 15-minute price points for site {site_id}")
        else:
            n = import_signals(text=text, site_id=site_id, timezone=args.timezone, actor="cli")
            print(f"stored {n} grid events for site {site_id}")
        return 0
    except (SignalError, NoSiteError, OSError, ValidationError) as exc:
        print(f"error: {getattr(args, 'file', args.command)}: {exc}", file=sys.stderr)
        return 2
