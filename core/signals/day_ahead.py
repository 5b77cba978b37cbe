"""Day-ahead prices from the ENTSO-E Transparency Platform (entsoe-py), for each site with a price feed
(core.signals.price_feed).

`refresh_day_ahead` fetches today and tomorrow (the site's local days; tomorrow's prices are
published after about 12:45 CET) for the feed's bidding zone, tries again with a back-off when the
platform fails (HTTP 5xx, a time-out, no connection), and stores the prices as 15-minute price points
(source "entsoe") in one transaction with the feed's status: import = day-ahead + mark-up, export =
day-ahead or the fixed feed-in. A fetch that still fails is recorded on the feed (when and why) and
changes no price: where no price is stored, planning uses the tariff rule (core.signals.prices), and
the Grid page says so. The gateway's scheduler runs `refresh_all` on start and each afternoon.

The token (V2G_ENTSOE_TOKEN) and the API address (V2G_ENTSOE_URL) are settings; the token never
reaches the database, the audit log or a message.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.clock import now
from core.config import get_settings
from core.db import session_scope
from core.rules.local_time import to_local
from core.signals.csv_import import PriceRow
from core.signals.prices import save_prices

log = logging.getLogger(__name__)

SOURCE = "entsoe"
ACTOR = "day-ahead feed"
ATTEMPTS = 3
BACKOFF_S = (10.0, 60.0)  # wait before the 2nd and 3rd attempt
TIMEOUT_S = 30.0
DAYS = 2  # today and tomorrow, local days of the site


class FeedError(RuntimeError):
    """A fetch that failed; `retry` says whether trying again may help; the message is safe to show."""

    def __init__(self, reason: str, *, retry: bool):
        super().__init__(reason)
        self.retry = retry


@dataclass(frozen=True)
class FetchResult:
    """What one refresh did: the points stored (0 when it failed), how many attempts, and why it failed."""

    site_id: str
    ok: bool
    points: int
    attempts: int
    error: str = ""


def query_day_ahead(zone: str, start: pd.Timestamp, end: pd.Timestamp, *, token: str, url: str, timeout_s: float):
    """Day-ahead prices (EUR/MWh, a pandas Series indexed by interval start) in [start, end), one try.

    Raises FeedError with a message that names neither the token nor the query.
    """
    import entsoe.entsoe  # the module whose URL global every request reads
    import requests
    from bs4 import XMLParsedAsHTMLWarning
    from entsoe import EntsoePandasClient
    from entsoe.exceptions import NoMatchingDataError

    entsoe.entsoe.URL = url
    # entsoe-py's own retry (connection errors only, with a fixed sleep) is off: ours has a back-off.
    client = EntsoePandasClient(api_key=token, retry_count=1, retry_delay=0, timeout=timeout_s)
    try:
        with warnings.catch_warnings():  # entsoe-py reads the XML with bs4's HTML parser, on purpose
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            series = client.query_day_ahead_prices(zone, start=start, end=end)
    except NoMatchingDataError:
        raise FeedError("no day-ahead prices published for that period", retry=False) from None
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        reason = {401: "the token was refused", 403: "the token was refused"}.get(status, f"HTTP {status}")
        raise FeedError(reason, retry=status is None or status >= 500 or status == 429) from None
    except requests.Timeout:
        raise FeedError(f"no answer within {timeout_s:g} s", retry=True) from None
    except requests.ConnectionError:
        raise FeedError("cannot connect to the ENTSO-E API", retry=True) from None
    except Exception as exc:  # a document entsoe-py cannot read
        raise FeedError(f"unreadable answer ({type(exc).__name__})", retry=False) from None
    series = series[series.index < end].dropna()  # entsoe-py keeps the interval starting at `end`
    if series.empty:
        raise FeedError("no day-ahead prices published for that period", retry=False)
    return series


def price_rows(series, feed: models.PriceFeed) -> list[PriceRow]:
    """The day-ahead series as price rows per kWh: import = day-ahead + mark-up, export = day-ahead or fixed."""
    starts = [t.to_pydatetime() for t in series.index.tz_convert("UTC")]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    resolution = min(gaps) if gaps else timedelta(hours=1)
    rows = []
    for k, (start, eur_per_mwh) in enumerate(zip(starts, series.to_numpy(), strict=True)):
        end = starts[k + 1] if k + 1 < len(starts) and starts[k + 1] - start <= resolution else start + resolution
        day_ahead = float(eur_per_mwh) / 1000.0
        export = day_ahead if feed.export_mode == "day_ahead" else feed.export_fixed_per_kwh
        rows.append(PriceRow(k + 1, start, end, round(day_ahead + feed.import_markup_per_kwh, 6), round(export, 6)))
    return rows


def fetch_window(at: datetime, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Local midnight of `at`'s day and DAYS calendar days later (23, 24 or 25 h each)."""
    day = pd.Timestamp(to_local(at, timezone).date(), tz=timezone)
    return day, day + pd.DateOffset(days=DAYS)


def refresh_day_ahead(
    *,
    site_id: str,
    engine: Engine | None = None,
    attempts: int = ATTEMPTS,
    backoff_s: tuple[float, ...] = BACKOFF_S,
    timeout_s: float = TIMEOUT_S,
    stop: threading.Event | None = None,
) -> FetchResult:
    """Fetch and store the site's day-ahead prices for today and tomorrow, with retries; record the outcome.

    `stop` (the gateway stopping) cuts a back-off short: the fetch then counts as failed."""
    settings = get_settings()
    with session_scope(engine) as session:
        feed = session.get(models.PriceFeed, site_id)
        site = session.get(models.Site, site_id)
        if feed is None or site is None:
            return FetchResult(site_id, False, 0, 0, "no price feed configured")
        zone, timezone = feed.bidding_zone, site.timezone
    start, end = fetch_window(now(), timezone)
    tried, error = 0, ""
    series = None
    while tried < max(1, attempts):
        if tried:
            wait = backoff_s[min(tried - 1, len(backoff_s) - 1)] if backoff_s else 0.0
            log.warning("day-ahead prices for %s: %s; trying again in %.0f s", site_id, error, wait)
            if stop is not None and stop.wait(wait):
                break
            if stop is None:
                time.sleep(wait)
        tried += 1
        if not settings.entsoe_token:
            error = "no ENTSO-E token: set V2G_ENTSOE_TOKEN"
            break
        try:
            series = query_day_ahead(
                zone, start, end, token=settings.entsoe_token, url=settings.entsoe_url, timeout_s=timeout_s
            )
            break
        except FeedError as exc:
            error = str(exc).replace(settings.entsoe_token, "***")
            if not exc.retry:
                break
    at = now()
    with session_scope(engine) as session:
        feed = session.get(models.PriceFeed, site_id)
        feed.last_attempt_at = at
        if series is None:
            feed.last_status, feed.last_error = "failed", error
            log.error("day-ahead prices for %s failed after %d attempt(s): %s", site_id, tried, error)
            return FetchResult(site_id, False, 0, tried, error)
        rows = price_rows(series, feed)
        points = save_prices(session=session, site_id=site_id, rows=rows, actor=ACTOR, source=SOURCE)
        feed.last_status, feed.last_error, feed.last_success_at = "ok", "", at
        feed.prices_through = rows[-1].end
    log.info("day-ahead prices for %s: %d points through %s", site_id, points, rows[-1].end.isoformat())
    return FetchResult(site_id, True, points, tried)


def feed_site_ids(engine: Engine | None = None) -> list[str]:
    """The sites with an enabled price feed."""
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(models.PriceFeed.site_id).where(models.PriceFeed.enabled).order_by(models.PriceFeed.site_id)
            ).all()
        )


def refresh_all(*, engine: Engine | None = None, **retry) -> list[FetchResult]:
    """`refresh_day_ahead` for every site with an enabled feed (the gateway's scheduled job)."""
    return [refresh_day_ahead(site_id=site_id, engine=engine, **retry) for site_id in feed_site_ids(engine)]
