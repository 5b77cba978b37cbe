"""What the Grid page shows (`grid_view`): prices with what was assumed, the tariff, caps and export
requests with their ledger totals, the metered net import, and the readings that came near or over the
connection limit (the gateway's guard), as plain data in the site's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.clock import now
from core.db import session_scope
from core.rules.local_time import to_local
from core.rules.steps import STEP, floor_step
from core.signals.ledger import event_summaries
from core.signals.price_feed import feed_status
from core.signals.prices import demo_profile, price_steps
from core.signals.tariffs import TariffTable, tariff_table
from core.sites import get_site


def _tariff_view(tariff: TariffTable | None) -> dict | None:
    if tariff is None:
        return None
    return {
        "name": tariff.name,
        "demand_charge_per_kw_month": tariff.demand_charge_per_kw_month,
        "rules": [
            {
                "weekdays": r.weekdays,
                "start": r.start_time,
                "end": r.end_time,
                "import": r.import_price_per_kwh,
                "export": r.export_price_per_kwh,
            }
            for r in tariff.rules
        ],
    }


def grid_view(*, site_id: str, engine: Engine | None = None, hours_back: int = 24, hours_ahead: int = 24) -> dict:
    """Prices (with what was assumed), caps, requests and the metered net import around now, as plain data."""
    at = now()
    start = floor_step(at) - timedelta(hours=hours_back)
    steps = timedelta(hours=hours_back + hours_ahead) // STEP
    end = start + STEP * steps
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        tz = site.timezone
        prices = price_steps(session=session, site=site, start=start, steps=steps, profile=demo_profile())
        events = event_summaries(session=session, site_id=site_id, start=start, end=end, at=at)
        samples = session.exec(
            select(models.SiteSample.time, models.SiteSample.net_import_kw)
            .where(models.SiteSample.site_id == site_id)
            .where(models.SiteSample.time >= start)
            .where(models.SiteSample.time < at)
        ).all()
        buckets: dict[datetime, list[float]] = defaultdict(list)
        for t, kw in samples:
            buckets[floor_step(t)].append(kw)
        tariff = tariff_table(session=session, site=site)
        excursions = session.exec(
            select(models.LimitExcursion)
            .where(models.LimitExcursion.site_id == site_id)
            .where(models.LimitExcursion.started_at >= start)
            .order_by(models.LimitExcursion.started_at.desc())
            .limit(50)
        ).all()
        return {
            "site_id": site.id,
            "timezone": site.timezone,
            "currency": site.currency,
            "import_limit_kw": site.import_limit_kw,
            "export_limit_kw": site.export_limit_kw,
            "now": to_local(at, tz),
            "prices": [
                {
                    "time": to_local(p.start, tz),
                    "import": p.import_price_per_kwh,
                    "export": p.export_price_per_kwh,
                    "source": p.source,
                }
                for p in prices
            ],
            "net_import": [{"time": to_local(t, tz), "kw": sum(v) / len(v)} for t, v in sorted(buckets.items())],
            "events": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "source": e.source,
                    "start": to_local(e.start, tz),
                    "end": to_local(e.end, tz),
                    "kw": e.committed_kw,
                    "reward_per_kwh": e.reward_per_kwh,
                    "delivered_kwh": e.delivered_kwh,
                    "committed_kwh": e.committed_kwh,
                    "performance_pct": e.performance_pct,
                    "reward": e.reward,
                }
                for e in events
            ],
            "tariff": _tariff_view(tariff),
            # The day-ahead feed and, when it failed or left the horizon without prices, what stands in.
            "price_feed": feed_status(
                session=session, site=site, horizon=[p for p in prices if p.start >= floor_step(at)]
            ),
            "limit_excursions": [
                {
                    "direction": x.direction,
                    "start": to_local(x.started_at, tz),
                    "end": None if x.ended_at is None else to_local(x.ended_at, tz),
                    "limit_kw": x.limit_kw,
                    "readings": x.readings,
                    "readings_over_limit": x.readings_over_limit,
                    "worst_kw_over_limit": x.worst_kw_over_limit,
                    "seconds_over_limit": x.seconds_over_limit,
                    "guard_commands": x.guard_commands,
                }
                for x in excursions
            ],
        }
