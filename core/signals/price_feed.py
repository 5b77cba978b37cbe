"""A site's day-ahead price feed: its settings (validated, stored, audited: `set_price_feed`) and
what the Grid page says about it (`feed_status`).

The retail prices follow from the day-ahead price: import = day-ahead + `import_markup_per_kwh`;
export = the day-ahead price (`export_mode` "day_ahead") or a fixed feed-in (`export_mode` "fixed").
The ENTSO-E token is a setting (V2G_ENTSOE_TOKEN), never stored here nor in the audit log.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import models
from core.audit import write_audit
from core.clock import now
from core.db import session_scope
from core.errors import FieldErrors
from core.rules.local_time import to_local
from core.sites import get_site, request_replan

EXPORT_MODES = ("day_ahead", "fixed")
# Sane bounds per kWh: a mark-up is what taxes and fees add (NL: about 0.10-0.15); a feed-in may be
# negative (a fee for exporting).
MAX_MARKUP_PER_KWH = 5.0
MIN_FEED_IN_PER_KWH, MAX_FEED_IN_PER_KWH = -1.0, 5.0
# ENTSO-E publishes day-ahead prices in EUR/MWh.
FEED_CURRENCY = "EUR"


@dataclass(frozen=True)
class PriceFeedSpec:
    """A price feed as entered, validated by `validate_price_feed`."""

    bidding_zone: str
    import_markup_per_kwh: float = 0.0
    export_mode: str = "day_ahead"
    export_fixed_per_kwh: float = 0.0
    enabled: bool = True


def bidding_zone_code(zone: str) -> str | None:
    """The ENTSO-E area code of a bidding zone given as a code ("NL") or an EIC ("10YNL----------L");
    None when entsoe-py knows no such area."""
    from entsoe.mappings import lookup_area  # entsoe-py (requests, bs4) only when a feed is configured

    try:
        return lookup_area(zone.strip()).name
    except (ValueError, AttributeError):
        return None


def _number(errors: FieldErrors, name: str, value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.add(name, f"a number, got {value!r}")
        return 0.0
    if not low <= value <= high:
        errors.add(name, f"must be between {low} and {high} per kWh, got {value}")
    return float(value)


def validate_price_feed(spec: PriceFeedSpec, *, site: models.Site) -> PriceFeedSpec:
    """The spec with the zone as its ENTSO-E code; ValidationError naming every bad field."""
    errors = FieldErrors()
    zone = bidding_zone_code(spec.bidding_zone) if isinstance(spec.bidding_zone, str) else None
    if zone is None:
        errors.add(
            "bidding_zone", f'an ENTSO-E bidding zone such as "NL" or "10YNL----------L", got {spec.bidding_zone!r}'
        )
    markup = _number(errors, "import_markup_per_kwh", spec.import_markup_per_kwh, 0.0, MAX_MARKUP_PER_KWH)
    if spec.export_mode not in EXPORT_MODES:
        errors.add("export_mode", f"one of {', '.join(EXPORT_MODES)}, got {spec.export_mode!r}")
    feed_in = _number(
        errors, "export_fixed_per_kwh", spec.export_fixed_per_kwh, MIN_FEED_IN_PER_KWH, MAX_FEED_IN_PER_KWH
    )
    if site.currency != FEED_CURRENCY:
        errors.add("bidding_zone", f"day-ahead prices are in {FEED_CURRENCY}; the site's currency is {site.currency}")
    errors.raise_if_any()
    return PriceFeedSpec(zone, markup, spec.export_mode, feed_in, bool(spec.enabled))


def _settings_of(feed: models.PriceFeed | None) -> dict:
    if feed is None:
        return {}
    return {
        "bidding_zone": feed.bidding_zone,
        "import_markup_per_kwh": feed.import_markup_per_kwh,
        "export_mode": feed.export_mode,
        "export_fixed_per_kwh": feed.export_fixed_per_kwh,
        "enabled": feed.enabled,
    }


def set_price_feed(*, session: Session, site_id: str, spec: PriceFeedSpec, actor: str) -> models.PriceFeed:
    """Validate and store the site's price feed with an audit row (in the caller's transaction);
    asks for a new plan. Nothing is written when a field is refused."""
    site = get_site(session=session, site_id=site_id)
    spec = validate_price_feed(spec, site=site)
    feed = session.get(models.PriceFeed, site_id)
    before = _settings_of(feed)
    if feed is None:
        feed = models.PriceFeed(site_id=site_id, bidding_zone=spec.bidding_zone)
        session.add(feed)
    for key, value in asdict(spec).items():
        setattr(feed, key, value)
    feed.updated_at = now()
    request_replan(session=session, site_id=site_id)
    write_audit(
        session=session, actor=actor, action="price_feed.set", target=site_id, before=before, after=_settings_of(feed)
    )
    return feed


def get_price_feed(site_id: str, *, engine: Engine | None = None) -> models.PriceFeed | None:
    """The site's price feed (None when it has none), detached from its session."""
    with session_scope(engine) as session:
        feed = session.get(models.PriceFeed, site_id)
        if feed is not None:
            session.expunge(feed)
        return feed


def feed_status(*, session: Session, site: models.Site, horizon: list) -> dict | None:
    """What the Grid page says about the day-ahead feed (None without one).

    `horizon`: the PriceSteps from now on. `message` is set when the feed failed or prices for the
    horizon are missing: "day-ahead feed failed at HH:MM (reason); using tariff", naming what stands
    in for the missing prices (core.signals.prices.price_steps).
    """
    feed = session.get(models.PriceFeed, site.id)
    if feed is None or not feed.enabled:
        return None
    fallback = next((p for p in horizon if p.assumed), None)
    message = ""
    if feed.last_status == "failed":
        at = to_local(feed.last_attempt_at, site.timezone).strftime("%H:%M")
        message = f"day-ahead feed failed at {at} ({feed.last_error})"
        message += f"; using {fallback.source}" if fallback is not None else "; the stored prices still cover the plan"
    elif fallback is not None:
        since = to_local(fallback.start, site.timezone).strftime("%a %H:%M")
        fetched = "not fetched yet" if feed.last_status == "never" else "not published yet"
        message = f"day-ahead prices from {since} {fetched}; using {fallback.source}"
    return {
        "bidding_zone": feed.bidding_zone,
        "status": feed.last_status,
        "last_attempt": _local(feed.last_attempt_at, site.timezone),
        "last_success": _local(feed.last_success_at, site.timezone),
        "error": feed.last_error,
        "prices_through": _local(feed.prices_through, site.timezone),
        "fallback": fallback.source if fallback is not None else None,
        "message": message,
    }


def _local(t: datetime | None, timezone: str) -> datetime | None:
    return None if t is None else to_local(t, timezone)
