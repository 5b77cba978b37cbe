"""The price feed's settings: validated (every bad field named), stored with an audit row, or
refused with nothing saved; the same from the command line."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from core import models
from core.db import run_in_transaction, session_scope
from core.errors import ValidationError
from core.signals.price_feed import PriceFeedSpec, set_price_feed

SITE = "depot-ams"


def counts(engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return (
            s.exec(select(func.count()).select_from(models.PriceFeed)).one(),
            s.exec(select(func.count()).select_from(models.AuditEvent)).one(),
        )


def test_a_feed_is_stored_with_its_zone_code_and_audited(demo_engine):
    spec = PriceFeedSpec("10YNL----------L", 0.125, "fixed", 0.07)
    run_in_transaction(set_price_feed, site_id=SITE, spec=spec, actor="alice", engine=demo_engine)
    run_in_transaction(set_price_feed, site_id=SITE, spec=PriceFeedSpec("NL", 0.13), actor="alice", engine=demo_engine)
    with session_scope(demo_engine) as s:
        feed = s.get(models.PriceFeed, SITE)
        assert (feed.bidding_zone, feed.import_markup_per_kwh, feed.export_mode) == ("NL", 0.13, "day_ahead")
        audit = s.exec(select(models.AuditEvent).where(models.AuditEvent.action == "price_feed.set")).all()
        assert [a.actor for a in audit] == ["alice", "alice"]
        assert audit[1].before["import_markup_per_kwh"] == 0.125 and audit[1].after["export_mode"] == "day_ahead"
        assert "token" not in str(audit[1].after).lower()
        assert s.get(models.Site, SITE).replan_requested_at is not None


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (PriceFeedSpec("Atlantis"), {"bidding_zone"}),
        (PriceFeedSpec("NL", import_markup_per_kwh=-0.1), {"import_markup_per_kwh"}),
        (PriceFeedSpec("NL", import_markup_per_kwh=float("nan")), {"import_markup_per_kwh"}),
        (PriceFeedSpec("NL", export_mode="both"), {"export_mode"}),
        (PriceFeedSpec("NL", export_mode="fixed", export_fixed_per_kwh="0.07"), {"export_fixed_per_kwh"}),
        (
            PriceFeedSpec("XX", 9.0, "never", 99.0),
            {"bidding_zone", "import_markup_per_kwh", "export_mode", "export_fixed_per_kwh"},
        ),  # fmt: skip
    ],
)
def test_bad_settings_are_refused_field_by_field_and_nothing_is_saved(demo_engine, spec, fields):
    before = counts(demo_engine)
    with pytest.raises(ValidationError) as refused:
        run_in_transaction(set_price_feed, site_id=SITE, spec=spec, actor="alice", engine=demo_engine)
    assert set(refused.value.errors) == fields
    assert counts(demo_engine) == before


def test_a_site_not_in_euro_cannot_take_entsoe_prices(demo_engine):
    with session_scope(demo_engine) as s:
        s.get(models.Site, SITE).currency = "GBP"
    with pytest.raises(ValidationError, match="bidding_zone: day-ahead prices are in EUR; the site's currency is GBP"):
        run_in_transaction(set_price_feed, site_id=SITE, spec=PriceFeedSpec("NL"), actor="a", engine=demo_engine)


def test_the_command_line_refuses_a_bad_zone_naming_the_field(capsys):
    from core.db import get_engine
    from core.signals.cli import main

    before = counts(get_engine())
    assert main(["price-feed", "set", "--zone", "Atlantis", "--markup", "0.12"]) == 2
    err = capsys.readouterr().err
    assert "bidding_zone" in err and "Atlantis" in err
    assert counts(get_engine()) == before
