"""Prices, tariffs and grid events (core.signals): imports of each accepted shape, every kind of bad
file refused with its row and column and nothing saved, tariff fallback in planning, the event ledger.

Each test has its own SQLite file (conftest's empty_engine) holding one test site.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from core import models, signals
from core.db import session_scope
from core.signals import csv_import
from tests.conftest import T0

DATA = Path(__file__).parent / "data"
AMS = "Europe/Amsterdam"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def engine(empty_engine):
    """An empty database with one site, s1 in Amsterdam (the tests give it their own prices and events)."""
    with session_scope(empty_engine) as session:
        session.add(
            models.Site(
                id="s1", name="Test depot", timezone=AMS, currency="EUR", import_limit_kw=100, export_limit_kw=50
            )
        )
    return empty_engine


def stored_points(engine) -> list[models.PricePoint]:
    with session_scope(engine) as session:
        return list(session.exec(select(models.PricePoint).order_by(models.PricePoint.start)).all())


def count(engine, table) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


# --- accepted shapes ------------------------------------------------------------------------


def test_15_minute_rows_with_offset_per_kwh(engine):
    n = signals.import_prices(
        text=(DATA / "prices_15min_offset.csv").read_text(), site_id="s1", timezone=None, actor="t", engine=engine
    )
    points = stored_points(engine)
    assert n == 4 == len(points)
    # 2026-03-02T00:00+01:00 is 2026-03-01T23:00Z.
    assert [p.start for p in points] == [utc(2026, 3, 1, 23, 0) + timedelta(minutes=15 * k) for k in range(4)]
    assert all(p.end - p.start == timedelta(minutes=15) for p in points)
    assert [p.import_price_per_kwh for p in points] == [0.231, 0.229, 0.225, 0.22]
    assert [p.export_price_per_kwh for p in points] == [0.081, 0.079, 0.075, 0.07]
    assert {p.source for p in points} == {"csv"}


def test_hourly_rows_per_mwh_in_a_named_zone_become_four_quarter_hours(engine):
    text = (DATA / "prices_hourly_mwh_local.csv").read_text()
    n = signals.import_prices(text=text, site_id="s1", timezone=AMS, actor="t", engine=engine)
    points = stored_points(engine)
    # 2 hourly rows -> 8 points; 231.0 EUR/MWh = 0.231 EUR/kWh; local 00:00 CET = 23:00Z the day before.
    assert n == 8 == len(points)
    assert points[0].start == utc(2026, 3, 1, 23, 0)
    assert points[-1].end == utc(2026, 3, 2, 1, 0)
    assert [round(p.import_price_per_kwh, 6) for p in points] == [0.231] * 4 + [0.1985] * 4
    assert [round(p.export_price_per_kwh, 6) for p in points] == [0.081] * 4 + [0.0485] * 4


def test_offset_and_named_zone_give_the_same_points():
    with_offset = "start,import_eur_per_kwh\n2026-07-01T12:00:00+02:00,0.3\n2026-07-01T13:00:00+02:00,0.4\n"
    in_zone = "start,import_eur_per_kwh\n2026-07-01T12:00,0.3\n2026-07-01T13:00,0.4\n"
    a = signals.parse_price_csv(with_offset, currency="EUR")
    b = signals.parse_price_csv(in_zone, currency="EUR", timezone=AMS)
    assert [(r.start, r.end, r.import_price_per_kwh) for r in a] == [
        (r.start, r.end, r.import_price_per_kwh) for r in b
    ]
    assert a[0].start == utc(2026, 7, 1, 10, 0)  # CEST is UTC+2


def test_the_repeated_hour_when_clocks_go_back_is_read_in_order():
    # 2026-10-25: 03:00 CEST becomes 02:00 CET, so local 02:00 appears twice (00:00Z and 01:00Z).
    text = "start,import_eur_per_kwh\n2026-10-25 01:00,0.1\n2026-10-25 02:00,0.2\n2026-10-25 02:00,0.3\n2026-10-25 03:00,0.4\n"
    rows = signals.parse_price_csv(text, currency="EUR", timezone=AMS)
    assert [r.start for r in rows] == [
        utc(2026, 10, 24, 23),
        utc(2026, 10, 25, 0),
        utc(2026, 10, 25, 1),
        utc(2026, 10, 25, 2),
    ]


def test_saving_replaces_the_period_of_the_file_only(engine):
    signals.import_prices(
        text=(DATA / "prices_15min_offset.csv").read_text(), site_id="s1", timezone=None, actor="t", engine=engine
    )
    again = "start,import_eur_per_kwh\n2026-03-02T00:15:00+01:00,0.5\n2026-03-02T00:30:00+01:00,0.6\n"
    signals.import_prices(text=again, site_id="s1", timezone=None, actor="t", engine=engine)
    assert [p.import_price_per_kwh for p in stored_points(engine)] == [0.231, 0.5, 0.6, 0.22]


# --- refused files: the message names row and column, the database is unchanged ----------


HEADER = "start,import_eur_per_kwh,export_eur_per_kwh\n"
BAD_FILES = [
    # (what was tried, file text, timezone, row, column, words in the message)
    (
        "wrong header: a column called 'price'",
        "start,price\n2026-03-02T00:00+01:00,0.2\n",
        None,
        1,
        "price",
        "unknown column",
    ),
    (
        "missing import column",
        "start,export_eur_per_kwh\n2026-03-02T00:00+01:00,0.2\n2026-03-02T00:15+01:00,0.2\n",
        None,
        1,
        "import_eur_per_kwh",
        "missing",
    ),
    (
        "wrong currency in the header",
        "start,import_usd_per_kwh\n2026-03-02T00:00+01:00,0.2\n",
        None,
        1,
        "import_usd_per_kwh",
        "not the site's",
    ),
    (
        "bad timestamp: month 13",
        HEADER + "2026-03-02T00:00+01:00,0.2,0.1\n2026-13-02T00:15+01:00,0.2,0.1\n",
        None,
        3,
        "start",
        "not an ISO 8601",
    ),
    (
        "timestamp without offset and no time zone",
        HEADER + "2026-03-02 00:00,0.2,0.1\n2026-03-02 00:15,0.2,0.1\n",
        None,
        2,
        "start",
        "no UTC offset",
    ),
    (
        "gap: 00:30 missing between 00:15 and 00:45",
        HEADER + "2026-03-02T00:00+01:00,0.2,0.1\n2026-03-02T00:15+01:00,0.2,0.1\n2026-03-02T00:45+01:00,0.2,0.1\n",
        None,
        4,
        "start",
        "gap",
    ),
    (
        "duplicate interval: 00:15 twice",
        HEADER + "2026-03-02T00:00+01:00,0.2,0.1\n2026-03-02T00:15+01:00,0.2,0.1\n2026-03-02T00:15+01:00,0.3,0.1\n",
        None,
        4,
        "start",
        "repeats the interval of row 3",
    ),
    (
        "non-number: decimal comma",
        HEADER + '2026-03-02T00:00+01:00,0.2,0.1\n2026-03-02T00:15+01:00,"0,25",0.1\n',
        None,
        3,
        "import_eur_per_kwh",
        "not a number",
    ),
    (
        "non-number: text in export",
        HEADER + "2026-03-02T00:00+01:00,0.2,abc\n2026-03-02T00:15+01:00,0.2,0.1\n",
        None,
        2,
        "export_eur_per_kwh",
        "not a number",
    ),
    (
        "30-minute rows",
        HEADER + "2026-03-02T00:00+01:00,0.2,0.1\n2026-03-02T00:30+01:00,0.2,0.1\n",
        None,
        3,
        "start",
        "15 minutes or 1 hour",
    ),
    (
        "a local time that does not exist (spring forward)",
        HEADER + "2026-03-29 01:00,0.2,0.1\n2026-03-29 02:00,0.2,0.1\n",
        AMS,
        3,
        "start",
        "does not exist",
    ),
]


@pytest.mark.parametrize(
    ("tried", "text", "timezone", "row", "column", "words"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_a_bad_price_file_is_refused_naming_row_and_column_and_nothing_is_saved(
    engine, tried, text, timezone, row, column, words
):
    signals.import_prices(
        text=(DATA / "prices_15min_offset.csv").read_text(), site_id="s1", timezone=None, actor="t", engine=engine
    )
    before = [(p.start, p.import_price_per_kwh) for p in stored_points(engine)]
    audits = count(engine, models.AuditEvent)
    with pytest.raises(signals.SignalError) as caught:
        signals.import_prices(text=text, site_id="s1", timezone=timezone, actor="t", engine=engine)
    message = str(caught.value)
    assert (caught.value.row, caught.value.column) == (row, column), message
    assert f"row {row}" in message and repr(column) in message and words in message, message
    assert [(p.start, p.import_price_per_kwh) for p in stored_points(engine)] == before
    assert count(engine, models.AuditEvent) == audits


def test_a_file_above_the_size_limit_is_refused_before_it_is_parsed(engine, tmp_path, monkeypatch):
    # Tried: a 5 MB + 1 byte file, through the command-line reader and as a browser upload.
    def must_not_parse(*_a, **_k):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(csv_import, "read_rows", must_not_parse)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (signals.MAX_FILE_BYTES + 1))
    with pytest.raises(signals.SignalError, match=r"limit is 5 MB and 100,000 rows"):
        signals.read_text_file(big)
    import base64

    upload = "data:text/csv;base64," + base64.b64encode(big.read_bytes()).decode()
    with pytest.raises(signals.SignalError, match=r"limit is 5 MB"):
        signals.decode_upload(upload)
    assert stored_points(engine) == []


def test_too_many_rows_are_refused_at_the_first_row_over(engine, monkeypatch):
    # Tried: 4 data rows with the row limit set to 3; the refusal names row 5 (header is row 1).
    monkeypatch.setattr(csv_import, "MAX_ROWS", 3)
    with pytest.raises(signals.SignalError, match=r"row 5: more than 3 data rows"):
        signals.import_prices(
            text=(DATA / "prices_15min_offset.csv").read_text(), site_id="s1", timezone=None, actor="t", engine=engine
        )
    assert stored_points(engine) == []


def test_the_command_line_imports_and_refuses(tmp_path, capsys):
    # Uses the session database (demo site); prices in 2020 so that no other test sees them.
    good = tmp_path / "p.csv"
    good.write_text("start,import_eur_per_mwh\n2020-01-06T00:00:00Z,100\n2020-01-06T01:00:00Z,120\n")
    assert signals.main(["import-prices", str(good)]) == 0
    assert "stored 8 15-minute price points" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("start,import_eur_per_mwh\n2020-01-06T00:00:00Z,100\n2020-01-06T01:00:00Z,lots\n")
    assert signals.main(["import-prices", str(bad)]) == 2
    assert "row 3, column 'import_eur_per_mwh'" in capsys.readouterr().err


# --- grid events ----------------------------------------------------------------------------


def test_grid_event_file_is_imported(engine):
    n = signals.import_signals(
        text=(DATA / "grid_events.csv").read_text(), site_id="s1", timezone=None, actor="t", engine=engine
    )
    assert n == 2
    with session_scope(engine) as session:
        rows = session.exec(select(models.GridSignal).order_by(models.GridSignal.start)).all()
        assert [(r.kind, r.kw, r.reward_per_kwh, r.source, r.external_id) for r in rows] == [
            ("import_cap", 150.0, 0.0, "csv", "dso-124"),
            ("export_request", 40.0, 0.45, "csv", "dso-123"),
        ]
        assert rows[1].start == utc(2026, 3, 2, 16, 0)
        assert session.get(models.Site, "s1").replan_requested_at is not None


@pytest.mark.parametrize(
    ("tried", "line", "row", "column"),
    [
        ("unknown kind", "discharge_now,2026-03-02T17:00Z,2026-03-02T18:00Z,40,0.4", 3, "kind"),
        ("end before start", "export_request,2026-03-02T18:00Z,2026-03-02T17:00Z,40,0.4", 3, "end"),
        ("kW not a number", "export_request,2026-03-02T19:00Z,2026-03-02T20:00Z,forty,0.4", 3, "kw"),
        ("duplicate event", "export_request,2026-03-02T10:00Z,2026-03-02T11:00Z,40,0.4", 3, "start"),
    ],
)
def test_a_bad_grid_event_file_is_refused_and_nothing_saved(engine, tried, line, row, column):
    text = (
        "kind,start,end,kw,reward_eur_per_kwh\nexport_request,2026-03-02T10:00Z,2026-03-02T11:00Z,40,0.4\n"
        + line
        + "\n"
    )
    with pytest.raises(signals.SignalError) as caught:
        signals.import_signals(text=text, site_id="s1", timezone=None, actor="t", engine=engine)
    assert (caught.value.row, caught.value.column) == (row, column), str(caught.value)
    assert count(engine, models.GridSignal) == 0


def test_operator_entry_is_validated(engine):
    with session_scope(engine) as session, pytest.raises(signals.SignalError, match="end must be after"):
        signals.add_grid_signal(
            session=session,
            site_id="s1",
            kind="import_cap",
            start=utc(2026, 3, 2, 10),
            end=utc(2026, 3, 2, 9),
            kw=50,
            actor="t",
        )
    assert count(engine, models.GridSignal) == 0


def test_ledger_of_an_export_request(engine):
    """Export request 10 kW, 0.50 EUR/kWh, 12:00-12:30Z.

    12:00-12:15: site samples net -20 and -10 kW -> mean 15 kW exported; reward min(15, 10) x 0.25 h x 0.50 = 1.25.
      Charger c1 (vehicle v1) discharges -8 kW -> 2.0 kWh; charger c2 (no session) -4 kW -> 1.0 kWh.
    12:15-12:30: net -6 kW -> 6 kW delivered; reward 6 x 0.25 x 0.50 = 0.75.
    Committed 2 x 2.5 = 5 kWh; delivered (15 + 6) x 0.25 = 5.25 kWh; performance (15 + 6) / 20 = 105 %.
    """
    with session_scope(engine) as session:
        for cid in ("c1", "c2"):
            session.add(models.Charger(id=cid, site_id="s1", protocol="2.1", max_charge_kw=11, max_discharge_kw=11))
        session.add(
            models.Vehicle(id="v1", site_id="s1", name="Van 1", battery_kwh=60, max_charge_kw=11, id_tag="tag1")
        )
        session.flush()
        plug = models.PlugSession(charger_id="c1", vehicle_id="v1", transaction_id="t1", started_at=utc(2026, 3, 2, 11))
        session.add(plug)
        session.flush()
        for minute, net in ((0, -20), (5, -10), (20, -6)):
            session.add(
                models.SiteSample(
                    site_id="s1", time=utc(2026, 3, 2, 12, minute), building_load_kw=10, net_import_kw=net
                )
            )
        session.add(models.MeterSample(time=utc(2026, 3, 2, 12, 1), charger_id="c1", session_id=plug.id, power_kw=-8))
        session.add(models.MeterSample(time=utc(2026, 3, 2, 12, 2), charger_id="c2", power_kw=-4))
        signal = signals.add_grid_signal(
            session=session,
            site_id="s1",
            kind="export_request",
            start=utc(2026, 3, 2, 12),
            end=utc(2026, 3, 2, 12, 30),
            kw=10,
            reward_per_kwh=0.5,
            actor="t",
        )
        signal_id = signal.id
    with session_scope(engine) as session:
        summary = signals.event_summaries(
            session=session, site_id="s1", start=utc(2026, 3, 2), end=utc(2026, 3, 3), at=utc(2026, 3, 3)
        )[0]
    assert summary.id == signal_id and summary.intervals == 2
    assert summary.committed_kwh == pytest.approx(5.0)
    assert summary.delivered_kwh == pytest.approx(5.25)
    assert summary.performance_pct == pytest.approx(105.0)
    assert summary.reward == pytest.approx(2.0)
    assert summary.vehicle_discharge_kwh == {"v1": pytest.approx(2.0), "c2": pytest.approx(1.0)}
    # The first interval's 1.25 shared 2:1 between v1 and c2; nobody discharged in the second.
    assert summary.vehicle_reward == {"v1": pytest.approx(1.25 * 2 / 3), "c2": pytest.approx(1.25 / 3)}
    assert count(engine, models.GridEventLedger) == 2
    # Halfway through the event only the ended interval is in the ledger.
    with session_scope(engine) as session:
        summary = signals.event_summaries(
            session=session, site_id="s1", start=utc(2026, 3, 2), end=utc(2026, 3, 3), at=utc(2026, 3, 2, 12, 20)
        )[0]
    assert summary.intervals == 1 and summary.reward == pytest.approx(1.25)


# --- tariffs --------------------------------------------------------------------------------


def test_overlapping_tariff_rules_are_refused():
    doc = {"rules": [
        {"days": "weekday", "start": "07:00", "end": "23:00", "import_per_kwh": 0.3},
        {"days": "weekday", "start": "22:00", "end": "07:00", "import_per_kwh": 0.2},
    ]}  # fmt: skip
    with pytest.raises(signals.SignalError, match=r"rules\[1\] overlaps rules\[0\] on weekday 0 at 22:00"):
        signals.parse_tariff(doc)


def test_tariff_rules_fill_the_gaps_between_stored_prices(engine):
    # Monday 2026-03-02 (CET, UTC+1). Stored: 07:00-07:15 local at 0.99. Tariff: weekday 07-23 0.30,
    # weekend 07-23 0.18, every night 23-07 0.20 (Sunday 23:00 spills into Monday 00:00-07:00).
    spec = signals.parse_tariff(json.loads((DATA / "tariff.json").read_text()))
    with session_scope(engine) as session:
        signals.set_tariff(session=session, site_id="s1", spec=spec, actor="t")
        session.add(
            models.PricePoint(
                site_id="s1",
                start=utc(2026, 3, 2, 6),
                end=utc(2026, 3, 2, 6, 15),
                import_price_per_kwh=0.99,
                export_price_per_kwh=0.5,
            )
        )
    with session_scope(engine) as session:
        site = session.get(models.Site, "s1")
        steps = signals.price_steps(session=session, site=site, start=utc(2026, 3, 2, 5, 45), steps=6, profile=None)
    # local 06:45 night, 07:00 stored, 07:15..07:45 weekday day rate
    assert [(s.import_price_per_kwh, s.source) for s in steps] == [
        (0.20, "tariff"),
        (0.99, "stored"),
        (0.30, "tariff"),
        (0.30, "tariff"),
        (0.30, "tariff"),
        (0.30, "tariff"),
    ]
    with session_scope(engine) as session:
        site = session.get(models.Site, "s1")
        saturday_noon = signals.price_steps(session=session, site=site, start=utc(2026, 3, 7, 11), steps=1)[0]
        # Friday 23:00 UTC is Saturday 00:00 local.
        friday_night = signals.price_steps(session=session, site=site, start=utc(2026, 3, 6, 23), steps=1)[0]
    assert (saturday_noon.import_price_per_kwh, friday_night.import_price_per_kwh) == (0.18, 0.20)


def test_without_tariff_the_last_known_day_is_used(engine):
    with session_scope(engine) as session:
        session.add(
            models.PricePoint(
                site_id="s1",
                start=utc(2026, 3, 1, 12),
                end=utc(2026, 3, 1, 12, 15),
                import_price_per_kwh=0.31,
                export_price_per_kwh=0.11,
            )
        )
        session.add(
            models.PricePoint(
                site_id="s1",
                start=utc(2026, 3, 1, 18),
                end=utc(2026, 3, 1, 18, 15),
                import_price_per_kwh=0.45,
                export_price_per_kwh=0.15,
            )
        )
    with session_scope(engine) as session:
        site = session.get(models.Site, "s1")
        noon, one_pm = signals.price_steps(session=session, site=site, start=utc(2026, 3, 2, 12), steps=2)
        at_start_of_horizon = signals.price_steps(session=session, site=site, start=utc(2026, 3, 9, 12), steps=1)[0]
    assert (noon.import_price_per_kwh, noon.source) == (0.31, "last known day")
    # 12:15 has no price a day (or up to a week) earlier: the last stored price before the horizon.
    assert (one_pm.import_price_per_kwh, one_pm.source) == (0.45, "last known")
    assert at_start_of_horizon.source == "last known"  # 8 days later: beyond the week of look-back


def test_planning_uses_the_tariff_rule_where_no_price_is_stored(engine):
    from core import planning

    spec = signals.parse_tariff(json.loads((DATA / "tariff.json").read_text()))
    start = utc(2026, 3, 2, 5, 0)  # Monday 06:00 local
    with session_scope(engine) as session:
        signals.set_tariff(session=session, site_id="s1", spec=spec, actor="t")
        # Stored prices for the first hour only.
        for k in range(4):
            t = start + timedelta(minutes=15 * k)
            session.add(
                models.PricePoint(
                    site_id="s1",
                    start=t,
                    end=t + timedelta(minutes=15),
                    import_price_per_kwh=0.5,
                    export_price_per_kwh=0.1,
                )
            )
    with session_scope(engine) as session:
        site = session.get(models.Site, "s1")
        imports, exports, assumed = planning.price_forecast(session=session, site=site, start=start, profile=None)
    assert len(imports) == planning.HORIZON_STEPS
    assert imports[:4] == [0.5] * 4 and exports[:4] == [0.1] * 4
    assert imports[4:8] == [0.30] * 4 and exports[4:8] == [0.08] * 4  # 07:00-08:00 local, weekday day rate
    assert imports[4 * 17] == 0.20  # 23:00 local: the night rate
    assert assumed == planning.HORIZON_STEPS - 4


# --- what the Grid page shows ---------------------------------------------------------------


def test_grid_figure_marks_assumed_prices(engine, clock, monkeypatch):
    """With prices stored for the past only, the coming hours are assumed: dashed and shaded."""
    from components.grid import grid_figure

    monkeypatch.setattr("core.signals.view.demo_profile", lambda: None)
    at = T0
    with session_scope(engine) as session:
        for k in range(-96, 0):  # the last 24 hours
            t = at + timedelta(minutes=15 * k)
            session.add(
                models.PricePoint(
                    site_id="s1",
                    start=t,
                    end=t + timedelta(minutes=15),
                    import_price_per_kwh=0.3,
                    export_price_per_kwh=0.1,
                )
            )
        signals.add_grid_signal(
            session=session,
            site_id="s1",
            kind="import_cap",
            start=at + timedelta(hours=2),
            end=at + timedelta(hours=4),
            kw=60,
            actor="t",
        )
    view = signals.grid_view(site_id="s1", engine=engine)
    sources = [p["source"] for p in view["prices"]]
    assert sources[:96] == ["stored"] * 96 and set(sources[96:]) == {"last known day"}
    assert view["prices"][0]["time"].utcoffset() == timedelta(hours=1)  # shown in the site's zone (CET)
    fig = grid_figure(view)
    names = [t.name for t in fig.data]
    assert "Import price (assumed)" in names and "Import cap #1" in names
    assumed = next(t for t in fig.data if t.name == "Import price (assumed)")
    assert all(v is None for v in assumed.y[:96]) and all(v == 0.3 for v in assumed.y[96:])
    assert any("assumed" in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.uirevision == "grid"


def test_ledger_of_an_import_cap(engine):
    """Cap 50 kW, 10:00-10:30Z: mean import 40 kW then 60 kW -> one of two intervals under the cap (50 %),
    imported (40 + 60) x 0.25 = 25 kWh; a cap has no committed energy and earns no reward."""
    with session_scope(engine) as session:
        for minute, net in ((0, 40), (15, 55), (20, 65)):
            session.add(
                models.SiteSample(
                    site_id="s1", time=utc(2026, 3, 2, 10, minute), building_load_kw=net, net_import_kw=net
                )
            )
        signals.add_grid_signal(
            session=session,
            site_id="s1",
            kind="import_cap",
            start=utc(2026, 3, 2, 10),
            end=utc(2026, 3, 2, 10, 30),
            kw=50,
            actor="t",
        )
    with session_scope(engine) as session:
        summary = signals.event_summaries(
            session=session, site_id="s1", start=utc(2026, 3, 2), end=utc(2026, 3, 3), at=utc(2026, 3, 3)
        )[0]
    assert (summary.committed_kwh, summary.delivered_kwh, summary.performance_pct, summary.reward) == (
        None,
        25.0,
        50.0,
        0.0,
    )


def test_the_grid_pages_changes_need_an_operator():
    """Tried: the Save and Add callbacks without a logged-in account: refused (403), nothing stored."""
    import base64

    from werkzeug.exceptions import Forbidden

    from app import server  # registers the pages first

    grid_page = sys.modules["pages.grid"]

    contents = "data:text/csv;base64," + base64.b64encode((DATA / "prices_15min_offset.csv").read_bytes()).decode()
    with session_scope() as session:
        before = (session.exec(select(func.count()).select_from(models.PricePoint)).one(),
                  session.exec(select(func.count()).select_from(models.GridSignal)).one())  # fmt: skip
    with server.test_request_context("/_dash-update-component", method="POST"):
        with pytest.raises(Forbidden):
            grid_page.save_upload(1, contents, "prices", AMS, "prices.csv")
        with pytest.raises(Forbidden):
            grid_page.add_event(1, "export_request", "2031-02-03T18:00", "2031-02-03T19:00", 10, 0.1)
    with session_scope() as session:
        after = (session.exec(select(func.count()).select_from(models.PricePoint)).one(),
                 session.exec(select(func.count()).select_from(models.GridSignal)).one())  # fmt: skip
    assert after == before
