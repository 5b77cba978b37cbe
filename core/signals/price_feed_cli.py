"""`python -m core.signals price-feed ...`: the day-ahead price feed of a site from the command line.

    python -m core.signals price-feed set --zone NL --markup 0.12 [--export day_ahead|fixed] [--feed-in 0.07]
    python -m core.signals price-feed show
    python -m core.signals price-feed fetch

`set` validates and stores the feed (audited; nothing is stored when a field is refused), `fetch`
fetches today's and tomorrow's prices now (as the gateway does on start and each afternoon), `show`
prints the feed and its last fetch. The token is V2G_ENTSOE_TOKEN, never an argument.
"""

from __future__ import annotations

import argparse

from core.db import run_in_transaction
from core.signals.day_ahead import refresh_day_ahead
from core.signals.price_feed import EXPORT_MODES, PriceFeedSpec, get_price_feed, set_price_feed


def add_parser(sub) -> None:
    """The `price-feed` command and its three actions, on the main parser's subparsers."""
    p = sub.add_parser("price-feed", help="day-ahead prices from ENTSO-E (set, show, fetch)")
    actions = p.add_subparsers(dest="action", required=True)
    s = actions.add_parser("set", help="set the site's bidding zone, mark-up and feed-in")
    s.add_argument("--zone", required=True, help="bidding zone, e.g. NL or 10YNL----------L")
    s.add_argument("--markup", type=float, default=0.0, help="import mark-up per kWh added to day-ahead")
    s.add_argument("--export", choices=EXPORT_MODES, default="day_ahead", help="export price: day-ahead or fixed")
    s.add_argument("--feed-in", type=float, default=0.0, help="fixed feed-in per kWh (with --export fixed)")
    s.add_argument("--disable", action="store_true", help="store the feed switched off")
    for name in ("show", "fetch"):
        actions.add_parser(name, help={"show": "show the feed and its last fetch", "fetch": "fetch prices now"}[name])
    for a in actions.choices.values():
        a.add_argument("--site", help="site id (default: the first site)")


def run(args: argparse.Namespace, site_id: str) -> int:
    """Run one `price-feed` action; 0 when done, 1 when a fetch failed (ValidationError propagates)."""
    if args.action == "set":
        spec = PriceFeedSpec(args.zone, args.markup, args.export, args.feed_in, not args.disable)
        feed = run_in_transaction(set_price_feed, site_id=site_id, spec=spec, actor="cli")
        export = "day-ahead" if feed.export_mode == "day_ahead" else f"{feed.export_fixed_per_kwh:g}/kWh fixed"
        print(
            f"price feed for site {site_id}: zone {feed.bidding_zone}, import day-ahead + "
            f"{feed.import_markup_per_kwh:g}/kWh, export {export}; fetch now with `price-feed fetch`"
        )
        return 0
    if args.action == "fetch":
        result = refresh_day_ahead(site_id=site_id)
        if result.ok:
            print(f"stored {result.points} 15-minute day-ahead prices for site {site_id}")
            return 0
        print(f"day-ahead fetch failed after {result.attempts} attempt(s): {result.error}")
        return 1
    feed = get_price_feed(site_id)
    if feed is None:
        print(f"site {site_id} has no price feed")
        return 0
    for key in ("bidding_zone", "import_markup_per_kwh", "export_mode", "export_fixed_per_kwh", "enabled",
                "last_status", "last_attempt_at", "last_success_at", "last_error", "prices_through"):  # fmt: skip
        print(f"{key}: {getattr(feed, key)}")
    return 0
