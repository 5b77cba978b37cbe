"""Day-ahead prices: the real entsoe-py client against a local stand-in for the ENTSO-E API
(tests/prices/entsoe_server.py) serving the real 2024 Netherlands prices in the platform's
Publication_MarketDocument; the platform failing (500s, no answer) -> retries, then the tariff, and
the Grid page's read model says so. The clock stands at Saturday 11 May 2024, 11:00 in Amsterdam."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core import models, signals
from core.clock import FixedClock, set_clock
from core.config import get_settings
from core.db import run_in_transaction, session_scope
from core.signals.day_ahead import refresh_day_ahead
from core.signals.price_feed import PriceFeedSpec, set_price_feed
from tests.prices.entsoe_server import TOKEN, EntsoeStandIn, load_prices

SITE = "depot-ams"
AT = datetime(2024, 5, 11, 9, 0, tzinfo=UTC)  # Saturday 11:00 CEST
FAST = {"backoff_s": (0.05, 0.1), "timeout_s": 5.0}

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def at_publication_day():
    set_clock(FixedClock(AT))
    yield
    set_clock(None)


@pytest.fixture
def entsoe_settings(monkeypatch):
    """Point the settings at a stand-in server (set by `use`) with the stand-in's token."""

    def use(url: str, token: str = TOKEN) -> None:
        monkeypatch.setenv("V2G_ENTSOE_URL", url)
        monkeypatch.setenv("V2G_ENTSOE_TOKEN", token)
        get_settings.cache_clear()

    yield use
    monkeypatch.delenv("V2G_ENTSOE_URL", raising=False)
    monkeypatch.delenv("V2G_ENTSOE_TOKEN", raising=False)
    get_settings.cache_clear()


def configure(engine, **fields) -> None:
    spec = PriceFeedSpec(**{"bidding_zone": "NL", "import_markup_per_kwh": 0.12, **fields})
    run_in_transaction(set_price_feed, site_id=SITE, spec=spec, actor="test", engine=engine)


def flat_tariff(engine) -> None:
    spec = signals.parse_tariff({"name": "flat", "rules": [{"days": "all", "start": "00:00", "end": "00:00",
                                                             "import_per_kwh": 0.30, "export_per_kwh": 0.05}]})  # fmt: skip
    run_in_transaction(signals.set_tariff, site_id=SITE, spec=spec, actor="test", engine=engine)


def stored(engine) -> dict[datetime, models.PricePoint]:
    """The day-ahead price points (the demo site's own prices are for 2026)."""
    with session_scope(engine) as s:
        rows = s.exec(
            select(models.PricePoint).where(models.PricePoint.site_id == SITE, models.PricePoint.source == "entsoe")
        )
        return {p.start: p for p in rows}


def horizon_sources(engine) -> list[str]:
    with session_scope(engine) as s:
        site = s.get(models.Site, SITE)
        return [p.source for p in signals.price_steps(session=s, site=site, start=AT, steps=96, profile=None)]


def test_day_ahead_prices_become_price_points_with_the_markup(demo_engine, at_publication_day, entsoe_settings):
    configure(demo_engine, import_markup_per_kwh=0.12, export_mode="day_ahead")
    day_ahead = load_prices()
    with EntsoeStandIn() as server:
        entsoe_settings(server.url)
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, **FAST)

    assert result.ok and result.attempts == 1
    # Today and tomorrow in Amsterdam (Sat 11 and Sun 12 May: 48 hours) as 15-minute points.
    assert result.points == 48 * 4
    points = stored(demo_engine)
    assert min(points) == datetime(2024, 5, 10, 22, 0, tzinfo=UTC)
    assert max(points) == datetime(2024, 5, 12, 21, 45, tzinfo=UTC)
    # Sunday 14:00 CEST (12:00Z): a negative hour; import = day-ahead + 0.12, export = day-ahead.
    hour = datetime(2024, 5, 12, 12, 0, tzinfo=UTC)
    assert day_ahead[hour] < 0
    for quarter in range(4):
        p = points[hour + timedelta(minutes=15 * quarter)]
        assert p.import_price_per_kwh == pytest.approx(day_ahead[hour] / 1000 + 0.12)
        assert p.export_price_per_kwh == pytest.approx(day_ahead[hour] / 1000)
        assert p.source == "entsoe"
    # The client asked for NL with the token, padded a day each side, as the platform expects.
    first = server.requests[0]
    assert (first["documentType"], first["in_Domain"], first["securityToken"]) == ("A44", "10YNL----------L", TOKEN)
    assert (first["periodStart"], first["periodEnd"]) == ("202405092200", "202405132200")

    with session_scope(demo_engine) as s:
        feed = s.get(models.PriceFeed, SITE)
        assert (feed.last_status, feed.last_error, feed.last_success_at) == ("ok", "", AT)
        assert feed.prices_through == datetime(2024, 5, 12, 22, 0, tzinfo=UTC)
        audit = s.exec(select(models.AuditEvent).where(models.AuditEvent.actor == "day-ahead feed")).all()
        assert [a.after["source"] for a in audit] == ["entsoe"]
        assert not any(TOKEN in str(a.before) + str(a.after) for a in s.exec(select(models.AuditEvent)))
    assert set(horizon_sources(demo_engine)) == {"stored"}
    view = signals.grid_view(site_id=SITE, engine=demo_engine)
    assert view["price_feed"]["status"] == "ok" and view["price_feed"]["message"] == ""


def test_fixed_feed_in_replaces_the_export_price(demo_engine, at_publication_day, entsoe_settings):
    configure(demo_engine, import_markup_per_kwh=0.0, export_mode="fixed", export_fixed_per_kwh=0.07)
    with EntsoeStandIn() as server:
        entsoe_settings(server.url)
        assert refresh_day_ahead(site_id=SITE, engine=demo_engine, **FAST).ok
    day_ahead = load_prices()
    points = stored(demo_engine)
    assert {p.export_price_per_kwh for p in points.values()} == {0.07}
    noon = datetime(2024, 5, 11, 10, 0, tzinfo=UTC)
    assert points[noon].import_price_per_kwh == pytest.approx(day_ahead[noon] / 1000)


def test_a_failing_platform_is_retried_then_the_tariff_is_used_and_the_grid_page_says_so(
    demo_engine, at_publication_day, entsoe_settings
):
    flat_tariff(demo_engine)
    configure(demo_engine)
    with EntsoeStandIn(mode="error") as server:
        entsoe_settings(server.url)
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, attempts=3, **FAST)
    assert not result.ok
    assert (result.attempts, len(server.requests), result.error) == (3, 3, "HTTP 500")
    assert stored(demo_engine) == {}  # nothing half-stored
    assert set(horizon_sources(demo_engine)) == {"tariff"}
    with session_scope(demo_engine) as s:
        feed = s.get(models.PriceFeed, SITE)
        assert (feed.last_status, feed.last_attempt_at, feed.last_success_at) == ("failed", AT, None)
    feed_view = signals.grid_view(site_id=SITE, engine=demo_engine)["price_feed"]
    assert feed_view["message"] == "day-ahead feed failed at 11:00 (HTTP 500); using tariff"


def test_no_answer_in_time_counts_as_a_failure_too(demo_engine, at_publication_day, entsoe_settings):
    flat_tariff(demo_engine)
    configure(demo_engine)
    with EntsoeStandIn(mode="hang", hang_s=1.5) as server:
        entsoe_settings(server.url)
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, attempts=2, backoff_s=(0.0,), timeout_s=0.3)
    assert (result.ok, result.attempts, len(server.requests)) == (False, 2, 2)
    assert result.error == "no answer within 0.3 s"
    assert "no answer within 0.3 s" in signals.grid_view(site_id=SITE, engine=demo_engine)["price_feed"]["message"]


def test_a_passing_outage_is_ridden_out_by_the_retries(demo_engine, at_publication_day, entsoe_settings):
    configure(demo_engine)
    with EntsoeStandIn(fail_first=2) as server:
        entsoe_settings(server.url)
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, attempts=3, **FAST)
    assert (result.ok, result.attempts, result.points) == (True, 3, 192)


def test_a_refused_token_is_not_retried_and_never_shown(demo_engine, at_publication_day, entsoe_settings):
    configure(demo_engine)
    with EntsoeStandIn() as server:
        entsoe_settings(server.url, token="wrong-token-9d2e")
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, **FAST)
    assert (result.ok, result.attempts, result.error) == (False, 1, "the token was refused")
    with session_scope(demo_engine) as s:
        assert "wrong-token" not in s.get(models.PriceFeed, SITE).last_error


def test_no_platform_at_all_names_no_token_or_query(demo_engine, at_publication_day, entsoe_settings):
    # Tried: a port where nothing listens (requests' message would carry the URL with the token).
    with EntsoeStandIn() as server:
        url = server.url
    configure(demo_engine)
    entsoe_settings(url)
    result = refresh_day_ahead(site_id=SITE, engine=demo_engine, attempts=2, backoff_s=(0.0,), timeout_s=1.0)
    assert (result.ok, result.error) == (False, "cannot connect to the ENTSO-E API")


def test_without_a_token_nothing_is_asked_and_the_page_says_why(demo_engine, at_publication_day, entsoe_settings):
    configure(demo_engine)
    with EntsoeStandIn() as server:
        entsoe_settings(server.url, token="")
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, **FAST)
    assert server.requests == [] and result.error == "no ENTSO-E token: set V2G_ENTSOE_TOKEN"
    assert "set V2G_ENTSOE_TOKEN" in signals.grid_view(site_id=SITE, engine=demo_engine)["price_feed"]["message"]


def test_prices_missing_for_part_of_the_horizon_fall_back_and_are_named(demo_engine, entsoe_settings):
    # Monday 13 May 11:00: tomorrow (Tuesday) is outside the served slice, as before publication.
    set_clock(FixedClock(datetime(2024, 5, 13, 9, 0, tzinfo=UTC)))
    try:
        flat_tariff(demo_engine)
        configure(demo_engine)
        with EntsoeStandIn() as server:
            entsoe_settings(server.url)
            assert refresh_day_ahead(site_id=SITE, engine=demo_engine, **FAST).ok
        message = signals.grid_view(site_id=SITE, engine=demo_engine)["price_feed"]["message"]
    finally:
        set_clock(None)
    assert message == "day-ahead prices from Tue 00:00 not published yet; using tariff"


def test_the_gateway_fetches_on_start(demo_engine, at_publication_day, entsoe_settings):
    from core.gateway.scheduler import DAY_AHEAD_JOB_ID, DispatchScheduler
    from tests.gateway.support import FakePlanning, wait_until

    configure(demo_engine)
    with EntsoeStandIn() as server:
        entsoe_settings(server.url)

        async def scenario():
            scheduler = DispatchScheduler(engine=demo_engine, planning=FakePlanning(), dispatch_interval_s=60)
            scheduler.start()
            try:
                await wait_until(lambda: len(stored(demo_engine)) == 192, what="day-ahead prices", timeout_s=20)
                return scheduler.scheduler.get_job(DAY_AHEAD_JOB_ID)
            finally:
                scheduler.shutdown()

        job = asyncio.run(scenario())
    assert str(job.trigger) == "cron[hour='13,16', minute='15']"


def test_a_stopping_gateway_cuts_the_back_off_short(demo_engine, at_publication_day, entsoe_settings):
    import threading

    configure(demo_engine)
    stop = threading.Event()
    stop.set()  # the gateway is stopping: no 60 s wait before the next attempt
    with EntsoeStandIn(mode="error") as server:
        entsoe_settings(server.url)
        result = refresh_day_ahead(site_id=SITE, engine=demo_engine, attempts=3, backoff_s=(60.0,), stop=stop)
    assert (result.ok, result.attempts, len(server.requests), result.error) == (False, 1, 1, "HTTP 500")


def test_the_command_line_sets_fetches_and_shows_the_feed(
    demo_engine, at_publication_day, entsoe_settings, monkeypatch, capsys
):
    from core.signals.cli import main

    monkeypatch.setenv("DATABASE_URL", str(demo_engine.url))  # the command line's own database: this test's
    with EntsoeStandIn() as server:
        entsoe_settings(server.url)
        assert main(["price-feed", "set", "--zone", "10YNL----------L", "--markup", "0.11"]) == 0
        assert "zone NL, import day-ahead + 0.11/kWh, export day-ahead" in capsys.readouterr().out
        assert main(["price-feed", "fetch"]) == 0
        assert capsys.readouterr().out.strip() == "stored 192 15-minute day-ahead prices for site depot-ams"
        assert main(["price-feed", "show"]) == 0
    shown = capsys.readouterr().out
    assert "last_status: ok" in shown and TOKEN not in shown
    assert main(["price-feed", "set", "--zone", "NL", "--markup", "-1"]) == 2
    assert "import_markup_per_kwh: must be between 0.0 and 5.0" in capsys.readouterr().err
    assert len(stored(demo_engine)) == 192
    with session_scope(demo_engine) as s:
        assert s.get(models.PriceFeed, SITE).import_markup_per_kwh == 0.11  # the refused change saved nothing
