"""Audit rows told as sentences on the site's clock (24-hour), for every kind of change the code
audits; an unknown kind still says who did what to what."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core import audit, controls, models
from core.audit_text import audit_sentence, has_sentence, weekdays_text, when
from core.db import session_scope

ROOT = Path(__file__).resolve().parent.parent.parent
AMS = "Europe/Amsterdam"
NAMES = {"vehicle:BUS-01": "E-bus 1", "vehicle:VAN-02": "Delivery van 2", "site:depot": "Depot West",
         "charger:CP-01": "CP-01"}  # fmt: skip
T = "2026-12-01T17:00:00+00:00"  # 18:00 in Amsterdam, Tuesday

# (action, actor, target, before, after) -> the sentence
CASES = [
    ("soc_floor.set", "admin", "vehicle:BUS-01", {"soc_floor": 0.35}, {"soc_floor": 0.5},
     "admin raised E-bus 1's floor 35 % → 50 %"),
    ("soc_floor.set", "olga", "vehicle:BUS-01", {"soc_floor": 0.5}, {"soc_floor": 0.425},
     "olga lowered E-bus 1's floor 50 % → 42.5 %"),
    ("soc_floor.set", "olga", "vehicle:BUS-01", {"soc_floor": None}, {"soc_floor": 0.4},
     "olga set E-bus 1's own floor to 40 % (was the fleet default)"),
    ("soc_floor.set", "olga", "vehicle:BUS-01", {"soc_floor": 0.4}, {"soc_floor": None},
     "olga put E-bus 1's floor back to the fleet default (was 40 %)"),
    ("fleet_soc_floor.set", "admin", "site:depot", {"default_soc_floor": 0.2}, {"default_soc_floor": 0.3},
     "admin raised the fleet's default floor 20 % → 30 %"),
    ("hard_soc_floor.set", "admin", "site:depot", {"hard_soc_floor": 0.15}, {"hard_soc_floor": 0.1},
     "admin lowered the site's hard floor 15 % → 10 %"),
    ("target.set", "olga", "vehicle:VAN-02", {"target_soc": 0.8}, {"target_soc": 0.9},
     "olga raised Delivery van 2's target 80 % → 90 %"),
    ("departure_schedule.set", "olga", "vehicle:BUS-01", {},
     {"weekdays": "01234", "departure_time": "06:30", "target_soc": 0.9, "enabled": True},
     "olga set E-bus 1's departures to Mon–Fri at 06:30, target 90 %"),
    ("departure_schedule.set", "olga", "vehicle:BUS-01",
     {"weekdays": "56", "departure_time": "08:00", "target_soc": 0.8, "enabled": True},
     {"weekdays": "56", "departure_time": "07:15", "target_soc": 0.8, "enabled": True},
     "olga set E-bus 1's departures to Sat, Sun at 07:15, target 80 % (was Sat, Sun at 08:00, target 80 %)"),
    ("departure_schedule.set", "olga", "vehicle:BUS-01", {"weekdays": "0", "departure_time": "06:00",
     "target_soc": 0.8, "enabled": True}, {"weekdays": "0", "departure_time": "06:00", "target_soc": 0.8,
     "enabled": False}, "olga turned off E-bus 1's departure schedule"),
    ("departure_override.set", "olga", "vehicle:BUS-01", {}, {"departs_at": "2026-12-02T05:00:00+00:00", "target_soc": 0.95},
     "olga set a one-off departure for E-bus 1: Wed 2 Dec 06:00, target 95 %"),
    ("departure_override.set", "olga", "vehicle:BUS-01", {"departs_at": "2026-12-02T05:00:00+00:00", "target_soc": None},
     {"departs_at": "2026-12-02T04:30:00+00:00", "target_soc": None},
     "olga set a one-off departure for E-bus 1: Wed 2 Dec 05:30, target as usual "
     "(replacing Wed 2 Dec 06:00, target as usual)"),
    ("departure_override.cancel", "olga", "vehicle:BUS-01", {"departs_at": "2026-12-02T05:00:00+00:00"}, {},
     "olga cancelled E-bus 1's one-off departure of Wed 2 Dec 06:00"),
    ("v2g_window.add", "olga", "window:3", {}, {"id": 3, "vehicle_id": None, "weekdays": "01234", "start_time": "17:00",
     "end_time": "21:00", "date_from": None, "date_to": None, "enabled": True},
     "olga added V2G window #3: Mon–Fri 17:00–21:00 for all vehicles"),
    ("v2g_window.update", "olga", "window:3",
     {"id": 3, "vehicle_id": "BUS-01", "weekdays": "0123456", "start_time": "17:00", "end_time": "21:00",
      "date_from": None, "date_to": None, "enabled": True},
     {"id": 3, "vehicle_id": "BUS-01", "weekdays": "", "start_time": "18:00", "end_time": "20:00",
      "date_from": "2026-12-24", "date_to": "2026-12-26", "enabled": False},
     "olga changed V2G window #3: every day 17:00–21:00 for E-bus 1 → "
     "2026-12-24 to 2026-12-26 18:00–20:00 for E-bus 1 (off)"),
    ("v2g_window.delete", "olga", "window:3", {"id": 3, "vehicle_id": None, "weekdays": "01234", "start_time": "22:00",
     "end_time": "06:00", "date_from": None, "date_to": None, "enabled": True}, {},
     "olga deleted V2G window #3 (Mon–Fri 22:00–06:00 for all vehicles)"),
    ("v2g_off.set", "olga", "vehicle:BUS-01", {"v2g_off": False}, {"v2g_off": True}, "olga turned V2G off for E-bus 1"),
    ("v2g_off.set", "olga", "charger:CP-01", {"v2g_off": True}, {"v2g_off": False}, "olga turned V2G back on for charger CP-01"),
    ("site_settings.set", "admin", "site:depot",
     {"import_limit_kw": 400, "export_limit_kw": 100, "degradation_cost_per_kwh": 0.05, "dispatch_interval_s": 60},
     {"import_limit_kw": 350.0, "export_limit_kw": 100, "degradation_cost_per_kwh": 0.05, "dispatch_interval_s": 30},
     "admin changed the site settings: import limit 400 kW → 350 kW, dispatch interval 60 s → 30 s"),
    ("demand_response.set", "admin", "site:depot", {"demand_response_opt_in": False}, {"demand_response_opt_in": True},
     "admin opted the site in to the utility's demand-response export requests"),
    ("override.start", "olga", "vehicle:BUS-01", {}, {"kind": "charge_now", "until": "2026-12-01T18:30:00+00:00", "charger": "CP-01"},
     "olga started charge now for E-bus 1 on charger CP-01 until Tue 1 Dec 19:30"),
    ("override.cancel", "olga", "vehicle:BUS-01", {"kind": "discharge_now", "until": T}, {},
     "olga cancelled discharge now for E-bus 1"),
    ("user.create", "admin", "user:olga", {}, {"role": "operator"}, "admin created the account olga (operator)"),
    ("user.role", "admin", "user:olga", {"role": "viewer"}, {"role": "operator"}, "admin changed olga's role viewer → operator"),
    ("user.password", "olga", "user:olga", {}, {}, "olga changed their own password"),
    ("user.password", "admin", "user:olga", {}, {}, "admin set a new password for olga"),
    ("user.password_reset", "admin", "user:olga", {}, {}, "admin reset the password of olga"),
    ("user.disable", "admin", "user:olga", {"disabled": False}, {"disabled": True}, "admin disabled the account olga"),
    ("wall_token.create", "admin", "wall_token:2", {}, {"label": "depot screen"},
     "admin created wall display token #2 (depot screen)"),
    ("wall_token.revoke", "admin", "wall_token:2", {"label": "depot screen"}, {},
     "admin revoked wall display token #2 (depot screen)"),
    ("add_grid_signal", "olga", "grid_signal:7", {}, {"kind": "export_request", "start": T, "end": "2026-12-01T19:00:00+00:00",
     "kw": 100, "reward_per_kwh": 0.25, "source": "operator"},
     "olga added an export request of 100 kW, Tue 1 Dec 18:00 to Tue 1 Dec 20:00, reward 0.25/kWh"),
    ("add_grid_signal", "openadr", "grid_signal:8", {}, {"kind": "import_cap", "start": T, "end": T, "kw": 250,
     "reward_per_kwh": 0, "source": "openadr"},
     "openadr added an import cap of 250 kW, Tue 1 Dec 18:00 to Tue 1 Dec 18:00 (from openadr)"),
    ("import_prices", "cli", "depot", {}, {"from": "2026-11-30T23:00:00+00:00", "to": "2026-12-01T23:00:00+00:00",
     "points": 96, "source": "csv"}, "cli imported 96 prices for Tue 1 Dec 00:00 to Wed 2 Dec 00:00 (from csv)"),
    ("set_tariff", "admin", "depot", {}, {"name": "TOU 2027", "demand_charge_per_kw_month": 4.5, "rules": 3},
     "admin set the tariff 'TOU 2027' (3 time bands, demand charge 4.5/kW per month)"),
    ("vehicle.add", "admin", "vehicle:BUS-01", {}, {"name": "E-bus 1"}, "admin added E-bus 1"),
    ("vehicle.edit", "admin", "vehicle:BUS-01", {"max_charge_kw": 22, "target_soc": 0.8},
     {"max_charge_kw": 11.0, "target_soc": 0.9}, "admin changed E-bus 1: max charge 22 kW → 11 kW, target soc 80 % → 90 %"),
    ("vehicle.retire", "admin", "vehicle:BUS-01", {"retired": False}, {"retired": True}, "admin retired E-bus 1"),
    ("vehicle.assign", "olga", "vehicle:BUS-01", {}, {"id_tag": "04A1", "session": 9, "charger": "CP-01"},
     "olga assigned the session on charger CP-01 to E-bus 1"),
    ("charger.add", "admin", "charger:CP-09", {}, {"max_charge_kw": 22}, "admin added charger CP-09"),
    ("charger.password", "admin", "charger:CP-09", {}, {}, "admin set a new password for charger CP-09"),
    ("site.edit", "admin", "site:depot", {"name": "Depot"}, {"name": "Depot West"}, "admin changed site Depot West: name Depot → Depot West"),
    ("site_meter.remove", "admin", "main", {"name": "main"}, {}, "admin removed site meter main"),
    ("price_feed.set", "admin", "depot", {"enabled": False}, {"enabled": True},
     "admin changed the day-ahead price feed of depot: enabled False → True"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "actor", "target", "before", "after", "sentence"), CASES)
def test_each_kind_of_change_reads_as_a_sentence(action, actor, target, before, after, sentence):
    told = audit_sentence(
        action=action, actor=actor, target=target, before=before, after=after, names=NAMES, timezone=AMS
    )
    assert told == sentence


def test_an_unknown_kind_or_an_odd_row_still_says_who_did_what_to_what():
    told = audit_sentence(
        action="charger.reboot_all", actor="bob", target="charger:CP-01", before={}, after={}, names=NAMES
    )
    assert told == "bob: charger reboot all on charger CP-01"
    # a row whose data does not fit its kind (hand-written, or from an older version) is told generically
    odd = audit_sentence(action="soc_floor.set", actor="bob", target="vehicle:BUS-01", before={"soc_floor": "x"}, after={},
                         names=NAMES)  # fmt: skip
    assert odd == "bob: soc floor set on E-bus 1"
    assert audit_sentence(action="", actor="", target="", before=None, after=None) == "someone: change"


def test_times_are_on_the_site_clock_in_24_hours():
    t = datetime(2026, 6, 1, 19, 5, tzinfo=UTC)
    assert when(t, AMS) == "Mon 1 Jun 21:05"  # summer time: UTC+2
    assert when(t, "America/New_York") == "Mon 1 Jun 15:05"
    assert weekdays_text("0123456") == "every day" and weekdays_text("024") == "Mon, Wed, Fri"


def audited_actions() -> set[str]:
    """Every audit action the code writes: the `action` of write_audit / record_change / audit calls,
    and the third argument of core.users' `_audit(session, actor, action, ...)`."""
    found = set()
    for path in [*(ROOT / "core").rglob("*.py"), *(ROOT / "pages").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("write_audit", "record_change", "audit", "_audit"):
                continue
            values = [k.value for k in node.keywords if k.arg == "action"]
            if name == "_audit" and len(node.args) >= 3:
                values.append(node.args[2])
            for value in values:
                for constant in ast.walk(value):
                    if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                        found.add(constant.value)
    return found


def test_every_kind_of_change_the_code_audits_has_its_own_sentence():
    actions = audited_actions()
    assert {"soc_floor.set", "user.password", "add_grid_signal"} <= actions  # the scan finds them
    missing = sorted(a for a in actions if not has_sentence(a))
    assert missing == [], f"add a sentence to core/audit_text.py for: {missing}"
    tested = {case[0] for case in CASES}
    assert set(audit.PLAN_ACTIONS) <= tested


def test_the_audit_list_carries_the_sentence_and_local_time(demo_engine, clock):
    controls.run_in_transaction(controls.set_soc_floor, actor="ada", vehicle_id="BUS-01", floor=0.5, engine=demo_engine)
    with session_scope(demo_engine) as s:
        [row] = audit.list_audit(session=s, timezone=AMS)
        name = s.get(models.Vehicle, "BUS-01").name
    assert row["sentence"] == f"ada raised {name}'s floor 35 % → 50 %"
    assert row["when"] == "Tue 1 Dec 13:00" and row["time"] == "2026-12-01T13:00:00+01:00"
