"""Reports (core.reports) checked against a small set computed by hand.

The site: Europe/Amsterdam (CET, UTC+1 in January), EUR, degradation 0.05 EUR/kWh.
Prices for Monday 2026-01-12 (local): before 12:30 import 0.20, export 0.10; from 12:30 import 0.40,
export 0.12 (a report that read local times as UTC would pick the wrong price for interval B).

Interval A, 10:00-10:15 local (09:00Z): site samples (building 20, PV 5, EV +11, net 26) and
  (building 24, PV 5, EV +11, net 30): means 22 / 5 / 11 / 28 kW ->
  building 5.5 kWh, PV 1.25 kWh, EV charge 2.75 kWh, import 7.0 kWh, cost 7.0 x 0.20 = 1.40 EUR.
Interval B, 13:00-13:15 local (12:00Z): one sample (building 10, PV 30, EV -11, net -31) ->
  building 2.5, PV 7.5, EV discharge 2.75, export 7.75 kWh, cost -7.75 x 0.12 = -0.93 EUR.
A sample at 00:05 local on 13 January lies outside --to 2026-01-12 and must not count.

Session 1: van v1 (50 kWh, 22 kW) on c1 (22 kW), 09:00-09:15Z, SoC 0.80 -> 0.855, target 0.85.
  Meter +11 kW twice -> 2.75 kWh charged, cost 2.75 x 0.20 = 0.55; target met.
Session 2: bus v2 (50 kWh, 11 kW, floor 0.30) on c2 (11 kW both ways), 12:00-12:15Z, SoC 0.60 ->
  0.25, target 0.80. Meter -11 kW at 12:00 (SoC 0.60) and 12:10 (SoC 0.25, below the floor) ->
  2.75 kWh discharged, revenue 2.75 x 0.12 = 0.33, degradation 2.75 x 0.05 = 0.1375;
  shortfall (0.80 - 0.25) x 50 = 27.5 kWh; 5 minutes discharging below the floor (12:10-12:15).
Uncontrolled: session 1 needs (0.85 - 0.80) x 50 = 2.5 kWh at 22 kW -> all in interval A, mean 10 kW;
  session 2 needs 10 kWh at 11 kW -> 2.75 kWh in interval B (the session ends), mean 11 kW.
  A: 28 - 11 + 10 = 27 kW -> 6.75 kWh x 0.20 = 1.35. B: -31 + 11 + 11 = -9 kW -> -2.25 x 0.12 = -0.27.
  Actual 1.40 - 0.93 = 0.47; uncontrolled 1.35 - 0.27 = 1.08; savings 0.61.
  Peaks: actual 28 kW, uncontrolled 27 kW.
Export request 10 kW, 0.50 EUR/kWh, 12:00-12:15Z: delivered 31 kW -> 7.75 kWh, committed 2.5 kWh,
  performance 310 %, reward min(31, 10) x 0.25 x 0.50 = 1.25 EUR; v2 discharged 2.75 kWh.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from core import models, reports
from core.db import session_scope

DAY = date(2026, 1, 12)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def engine(empty_engine):
    """An empty database holding the hand-computed site of the module docstring."""
    engine = empty_engine
    with session_scope(engine) as s:
        s.add(
            models.Site(
                id="s1", name="Depot", timezone="Europe/Amsterdam", currency="EUR", import_limit_kw=100,
                export_limit_kw=50, degradation_cost_per_kwh=0.05, default_soc_floor=0.3, hard_soc_floor=0.2,
            )
        )  # fmt: skip
        s.flush()
        s.add(models.Charger(id="c1", site_id="s1", protocol="1.6", max_charge_kw=22))
        s.add(models.Charger(id="c2", site_id="s1", protocol="2.1", max_charge_kw=11, max_discharge_kw=11))
        s.add(
            models.Vehicle(
                id="v1", site_id="s1", name="Van 1", battery_kwh=50, max_charge_kw=22, target_soc=0.85, id_tag="a"
            )
        )
        s.add(
            models.Vehicle(
                id="v2", site_id="s1", name="Bus 2", battery_kwh=50, max_charge_kw=11, max_discharge_kw=11,
                target_soc=0.8, soc_floor=0.3, id_tag="b",
            )
        )  # fmt: skip
        s.flush()
        # 96 prices for the local day: 23:00Z on the 11th to 23:00Z on the 12th; 12:30 local = 11:30Z.
        for k in range(96):
            t = utc(2026, 1, 11, 23) + timedelta(minutes=15 * k)
            late = t >= utc(2026, 1, 12, 11, 30)
            s.add(
                models.PricePoint(
                    site_id="s1", start=t, end=t + timedelta(minutes=15),
                    import_price_per_kwh=0.40 if late else 0.20, export_price_per_kwh=0.12 if late else 0.10,
                )
            )  # fmt: skip
        for t, building, pv, ev, net in (
            (utc(2026, 1, 12, 9, 0), 20, 5, 11, 26),
            (utc(2026, 1, 12, 9, 7, 30), 24, 5, 11, 30),
            (utc(2026, 1, 12, 12, 0), 10, 30, -11, -31),
            (utc(2026, 1, 12, 23, 5), 100, 0, 0, 100),  # 00:05 local on the 13th: outside the range
        ):
            s.add(
                models.SiteSample(
                    site_id="s1", time=t, building_load_kw=building, pv_kw=pv, ev_power_kw=ev,
                    ev_charge_kw=max(ev, 0), ev_discharge_kw=max(-ev, 0), net_import_kw=net,
                )
            )  # fmt: skip
        p1 = models.PlugSession(
            charger_id="c1", vehicle_id="v1", transaction_id="1", started_at=utc(2026, 1, 12, 9),
            ended_at=utc(2026, 1, 12, 9, 15), soc_start=0.80, soc_end=0.855,
        )  # fmt: skip
        p2 = models.PlugSession(
            charger_id="c2", vehicle_id="v2", transaction_id="2", started_at=utc(2026, 1, 12, 12),
            ended_at=utc(2026, 1, 12, 12, 15), soc_start=0.60, soc_end=0.25,
        )  # fmt: skip
        s.add_all([p1, p2])
        s.flush()
        s.add(models.MeterSample(time=utc(2026, 1, 12, 9, 0), charger_id="c1", session_id=p1.id, power_kw=11, soc=0.80))
        s.add(
            models.MeterSample(
                time=utc(2026, 1, 12, 9, 7, 30), charger_id="c1", session_id=p1.id, power_kw=11, soc=0.83
            )
        )
        s.add(
            models.MeterSample(time=utc(2026, 1, 12, 12, 0), charger_id="c2", session_id=p2.id, power_kw=-11, soc=0.60)
        )
        s.add(
            models.MeterSample(time=utc(2026, 1, 12, 12, 10), charger_id="c2", session_id=p2.id, power_kw=-11, soc=0.25)
        )
        s.add(
            models.GridSignal(
                site_id="s1", kind="export_request", start=utc(2026, 1, 12, 12), end=utc(2026, 1, 12, 12, 15),
                kw=10, reward_per_kwh=0.5,
            )
        )  # fmt: skip
        run = models.DispatchRun(
            site_id="s1", started_at=utc(2026, 1, 12, 8), finished_at=utc(2026, 1, 12, 8, 0, 2), status="optimal",
            objective=12.3456, solve_time_s=1.5, trigger="plug", message="ok",
        )  # fmt: skip
        s.add(run)
        s.flush()
        s.add(
            models.AuditEvent(
                time=utc(2026, 1, 12, 8, 30), actor="alice", action="set_soc_floor", target="v2", after={"floor": 0.3}
            )
        )
        s.add(models.AuditEvent(time=utc(2026, 1, 13, 8, 30), actor="bob", action="later", target="v2"))
    return engine


def report(engine, name: str) -> pd.DataFrame:
    r = reports.build_report(name, date_from=DAY, date_to=DAY, site_id="s1", engine=engine)
    # Through the CSV, as a user gets it.
    return pd.read_csv(io.StringIO(r.to_csv()), keep_default_na=False)


def test_site_energy_per_15_minutes(engine):
    df = report(engine, "site-energy")
    assert list(df["interval_start"]) == ["2026-01-12T10:00:00+01:00", "2026-01-12T13:00:00+01:00"]
    a, b = df.iloc[0], df.iloc[1]
    assert (a.building_load_kwh, a.pv_kwh, a.ev_charge_kwh, a.ev_discharge_kwh) == (5.5, 1.25, 2.75, 0.0)
    assert (a.net_import_kwh, a.net_export_kwh, a.import_price_eur_per_kwh, a.cost_eur) == (7.0, 0.0, 0.2, 1.4)
    assert (b.building_load_kwh, b.pv_kwh, b.ev_charge_kwh, b.ev_discharge_kwh) == (2.5, 7.5, 0.0, 2.75)
    assert (b.net_import_kwh, b.net_export_kwh, b.export_price_eur_per_kwh, b.cost_eur) == (0.0, 7.75, 0.12, -0.93)
    assert set(df["price_source"]) == {"stored"}


def test_sessions(engine):
    df = report(engine, "sessions").set_index("vehicle_id")
    v1, v2 = df.loc["v1"], df.loc["v2"]
    assert (v1.arrival, v1.departure) == ("2026-01-12T10:00:00+01:00", "2026-01-12T10:15:00+01:00")
    assert (v1.energy_charged_kwh, v1.energy_discharged_kwh, v1.energy_cost_eur, v1.v2g_revenue_eur) == (
        2.75,
        0.0,
        0.55,
        0.0,
    )
    assert (v1.soc_arrival_pct, v1.soc_departure_pct, v1.target_soc_pct) == (80.0, 85.5, 85.0)
    assert (v1.target_met, v1.shortfall_kwh, v1.minutes_discharging_below_floor) == ("yes", 0.0, 0.0)
    assert (v2.energy_charged_kwh, v2.energy_discharged_kwh, v2.v2g_revenue_eur, v2.degradation_cost_eur) == (
        0.0,
        2.75,
        0.33,
        0.1375,
    )
    assert (v2.target_met, v2.shortfall_kwh, v2.minutes_discharging_below_floor) == ("no", 27.5, 5.0)
    assert (v1.vehicle, v2.charger_id) == ("Van 1", "c2")


def test_savings_against_uncontrolled_charging(engine):
    df = report(engine, "savings")
    assert len(df) == 1
    row = df.iloc[0]
    assert row["date"] == "2026-01-12"
    assert row.actual_cost_eur == pytest.approx(0.47)
    assert row.uncontrolled_cost_eur == pytest.approx(1.08)
    assert row.savings_eur == pytest.approx(0.61)
    assert (row.actual_peak_import_kw, row.uncontrolled_peak_import_kw) == (28.0, 27.0)


def test_grid_events(engine):
    row = report(engine, "grid-events").iloc[0]
    assert (row.kind, row.committed_kw, row.committed_kwh, row.delivered_kwh) == ("export_request", 10.0, 2.5, 7.75)
    assert (row.performance_pct, row.reward_eur) == (310.0, 1.25)
    assert row.start == "2026-01-12T13:00:00+01:00"
    assert row.vehicle_discharge_kwh == "v2=2.750"
    assert row.vehicle_reward_eur == "v2=1.2500"  # the only vehicle discharging: all of the reward


def test_audit_and_dispatch_runs_in_the_local_date_range(engine):
    audit = report(engine, "audit")
    assert list(audit["actor"]) == ["alice"]  # bob's row is on the 13th
    assert audit.iloc[0].time == "2026-01-12T09:30:00+01:00"
    runs = report(engine, "dispatch-runs")
    assert list(runs.columns) == [
        "run_id",
        "started",
        "finished",
        "status",
        "objective_eur",
        "solve_time_s",
        "trigger",
        "message",
    ]
    assert (runs.iloc[0].status, runs.iloc[0].objective_eur, runs.iloc[0].solve_time_s) == ("optimal", 12.3456, 1.5)


def test_csv_conventions(engine):
    text = reports.build_report("site-energy", date_from=DAY, date_to=DAY, site_id="s1", engine=engine).to_csv()
    header = text.splitlines()[0]
    assert header.startswith("interval_start,building_load_kwh,") and "cost_eur" in header
    assert ";" not in text and "\r" not in text
    assert "5.5," in text  # '.' as decimal mark


def test_bad_requests_are_refused(engine):
    with pytest.raises(reports.ReportError, match="unknown report"):
        reports.build_report("everything", date_from=DAY, date_to=DAY, site_id="s1", engine=engine)
    with pytest.raises(reports.ReportError, match="before the start"):
        reports.build_report("audit", date_from=DAY, date_to=DAY - timedelta(days=1), site_id="s1", engine=engine)


def test_audit_cells_a_spreadsheet_would_run_are_neutralised(engine):
    with session_scope(engine) as s:
        s.add(models.AuditEvent(time=utc(2026, 1, 12, 10), actor="=HYPERLINK(1)", action="rename", target="+v9"))
    audit = report(engine, "audit").set_index("action")
    assert (audit.loc["rename"].actor, audit.loc["rename"].target) == ("'=HYPERLINK(1)", "'+v9")
    assert audit.loc["set_soc_floor"].actor == "alice"


def test_at_most_max_days_per_report(engine):
    last = DAY + timedelta(days=reports.MAX_DAYS - 1)
    assert reports.build_report("audit", date_from=DAY, date_to=last, site_id="s1", engine=engine).frame is not None
    with pytest.raises(reports.ReportError, match="at most"):
        reports.build_report("audit", date_from=DAY, date_to=last + timedelta(days=1), site_id="s1", engine=engine)


def test_command_line_writes_the_same_csv(tmp_path, capsys):
    # The session database (demo site): the CLI and build_report give the same bytes.
    out = tmp_path / "runs.csv"
    assert reports.main(["dispatch-runs", "--from", "2026-01-01", "--to", "2026-01-31", "-o", str(out)]) == 0
    expected = reports.build_report("dispatch-runs", date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)).to_csv()
    assert out.read_text(encoding="utf-8") == expected
