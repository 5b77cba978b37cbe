"""`python -m core.controls ...`: operator settings from the command line, through the same services as the UI.

Examples:
    python -m core.controls set-floor BUS-01 40 --actor alice
    python -m core.controls set-floor BUS-01 inherit --actor alice
    python -m core.controls set-fleet-floor 30 --actor alice
    python -m core.controls set-hard-floor 20 --actor admin           (the actor must be an admin account)
    python -m core.controls set-target VAN-01 90 --actor alice
    python -m core.controls set-departure VAN-01 --days 01234 --time 06:30 --target 90 --actor alice
    python -m core.controls set-departure-once VAN-01 --date 2026-12-01 --time 05:00 [--target 100] --actor alice
    python -m core.controls add-window --start 22:00 --end 02:00 [--days 01234] [--vehicle BUS-01]
                                       [--date-from D --date-to D] [--yes] --actor alice
    python -m core.controls v2g-off (--vehicle V | --charger C) --actor alice
    python -m core.controls v2g-off (--vehicle V | --charger C) --on --confirm --actor alice
                                       (V2G back on allows discharge again: --confirm it)
    python -m core.controls site-settings [--import-kw N] [--export-kw N] [--degradation N] [--interval S] --actor alice
    python -m core.controls demand-response opt-out --actor alice
    python -m core.controls override VAN-01 pause --minutes 60 --actor alice
    python -m core.controls cancel-override VAN-01 --actor alice

SoC values are given in % (0-100). Invalid input prints every problem and exits with status 2;
nothing is saved then.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from core.clock import now
from core.controls.departures import (
    cancel_departure_override,
    set_departure_override,
    set_departure_schedule,
    vehicle_timezone,
)
from core.controls.overrides import OVERRIDE_KINDS, cancel_override, start_override
from core.controls.site_settings import current_site_settings, set_demand_response_opt_in, set_site_settings
from core.controls.v2g import add_v2g_window, delete_v2g_window, set_v2g_off
from core.controls.validation import PermissionDenied, ValidationError
from core.controls.vehicles import set_hard_floor, set_soc_floor, set_target
from core.db import session_scope
from core.rules.local_time import local_datetime

EXIT_INVALID = 2


class _Invalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _pct(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value) / 100.0
    except ValueError:
        raise _Invalid({name: f"{value!r} is not a number of %"}) from None


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Invalid({name: f"{value!r} is not a date (YYYY-MM-DD)"}) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.controls", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text.replace("%", "%%"))  # argparse %-formats help
        p.add_argument("--actor", required=True, help="who makes the change (written to the audit log)")
        p.add_argument("--site", default=None, help="site id (default: the only site)")
        return p

    p = command("set-floor", "a vehicle's SoC floor in %, or 'inherit'")
    p.add_argument("vehicle")
    p.add_argument("floor")
    p = command("set-fleet-floor", "the fleet's default SoC floor in %")
    p.add_argument("floor")
    p = command("set-hard-floor", "the site's hard floor in % (admins)")
    p.add_argument("floor")
    p = command("set-target", "a vehicle's usual target SoC in %")
    p.add_argument("vehicle")
    p.add_argument("target")
    p = command("set-departure", "a vehicle's recurring weekly departure")
    p.add_argument("vehicle")
    p.add_argument("--days", default="01234", help="weekdays, Monday = 0 (default 01234)")
    p.add_argument("--time", required=True, help="local HH:MM")
    p.add_argument("--target", required=True, help="target SoC in %%")
    p.add_argument("--disabled", action="store_true")
    p = command("set-departure-once", "a one-off departure for a date")
    p.add_argument("vehicle")
    p.add_argument("--date", required=True, help="local date YYYY-MM-DD")
    p.add_argument("--time", required=True, help="local HH:MM")
    p.add_argument("--target", default=None, help="target SoC in %% (default: the usual one)")
    p = command("cancel-departure-once", "drop a pending one-off departure")
    p.add_argument("vehicle")
    p = command("add-window", "a V2G window")
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--days", default="0123456")
    p.add_argument("--vehicle", default=None)
    p.add_argument("--date-from", default=None)
    p.add_argument("--date-to", default=None)
    p.add_argument("--yes", action="store_true", help="confirm a site-wide window (discharge across the fleet)")
    p = command("delete-window", "remove a V2G window")
    p.add_argument("window_id", type=int)
    p = command("v2g-off", "switch V2G off (or --on) for a vehicle or a charger")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--vehicle")
    group.add_argument("--charger")
    p.add_argument("--on", action="store_true", help="switch V2G back on (needs --confirm)")
    p.add_argument("--confirm", action="store_true", help="confirm that discharge is allowed again (with --on)")
    p = command("site-settings", "limits, degradation cost, dispatch interval (unset: unchanged)")
    p.add_argument("--import-kw", type=str, default=None)
    p.add_argument("--export-kw", type=str, default=None)
    p.add_argument("--degradation", type=str, default=None, help="per kWh discharged")
    p.add_argument("--interval", type=str, default=None, help="dispatch interval in s")
    p = command("demand-response", "take part in the utility's OpenADR export requests, or not")
    p.add_argument("choice", choices=("opt-in", "opt-out"))
    p = command("override", "charge_now, pause or discharge_now for a plugged-in vehicle")
    p.add_argument("vehicle")
    p.add_argument("kind", choices=OVERRIDE_KINDS)
    p.add_argument("--minutes", type=float, required=True, help="how long the override lasts")
    p = command("cancel-override", "end a vehicle's override")
    p.add_argument("vehicle")
    return parser


def _run(args, session) -> str:
    actor, site = args.actor, args.site
    c = args.command
    if c == "set-floor":
        floor = None if args.floor.lower() == "inherit" else _pct(args.floor, "floor")
        set_soc_floor(session=session, actor=actor, vehicle_id=args.vehicle, floor=floor)
        return f"{args.vehicle}: SoC floor {'inherited' if floor is None else f'{floor:.0%}'}"
    if c == "set-fleet-floor":
        set_soc_floor(session=session, actor=actor, floor=_pct(args.floor, "floor"), site_id=site)
        return f"fleet default floor {args.floor} %"
    if c == "set-hard-floor":
        set_hard_floor(session=session, actor=actor, hard_floor=_pct(args.floor, "hard_floor"), site_id=site)
        return f"hard floor {args.floor} %"
    if c == "set-target":
        set_target(session=session, actor=actor, vehicle_id=args.vehicle, target=_pct(args.target, "target"))
        return f"{args.vehicle}: target {args.target} %"
    if c == "set-departure":
        set_departure_schedule(
            session=session, actor=actor, vehicle_id=args.vehicle, weekdays=args.days,
            departure_time=args.time, target=_pct(args.target, "target"), enabled=not args.disabled,
        )
        return f"{args.vehicle}: leaves on days {args.days} at {args.time} with {args.target} %"
    if c == "set-departure-once":
        timezone = vehicle_timezone(session=session, vehicle_id=args.vehicle) or "UTC"
        day = _date(args.date, "date")
        try:
            departs_at = local_datetime(timezone, day, args.time)
        except ValueError:
            raise _Invalid({"time": "a time of day as HH:MM"}) from None
        set_departure_override(
            session=session, actor=actor, vehicle_id=args.vehicle, departs_at=departs_at, target=_pct(args.target, "target")
        )
        return f"{args.vehicle}: leaves once at {args.date} {args.time}"
    if c == "cancel-departure-once":
        cancel_departure_override(session=session, actor=actor, vehicle_id=args.vehicle)
        return f"{args.vehicle}: one-off departure cancelled"
    if c == "add-window":
        event = add_v2g_window(
            session=session, actor=actor, start_time=args.start, end_time=args.end, weekdays=args.days,
            vehicle_id=args.vehicle, date_from=_date(args.date_from, "date_from"), date_to=_date(args.date_to, "date_to"),
            site_id=site, confirm_fleet_discharge=args.yes,
        )
        return f"added {event.target}"
    if c == "delete-window":
        delete_v2g_window(session=session, actor=actor, window_id=args.window_id)
        return f"deleted window:{args.window_id}"
    if c == "v2g-off":
        set_v2g_off(
            session=session, actor=actor, off=not args.on, vehicle_id=args.vehicle, charger_id=args.charger, confirm=args.confirm
        )
        return f"V2G {'on' if args.on else 'off'} for {args.vehicle or args.charger}"
    if c == "site-settings":
        current = current_site_settings(session=session, site_id=site)
        set_site_settings(
            session=session, actor=actor, site_id=current["site_id"],
            import_limit_kw=current["import_limit_kw"] if args.import_kw is None else args.import_kw,
            export_limit_kw=current["export_limit_kw"] if args.export_kw is None else args.export_kw,
            degradation_cost_per_kwh=current["degradation_cost_per_kwh"] if args.degradation is None else args.degradation,
            dispatch_interval_s=current["dispatch_interval_s"] if args.interval is None else args.interval,
        )
        return "site settings saved"
    if c == "demand-response":
        set_demand_response_opt_in(session=session, actor=actor, site_id=site, opt_in=args.choice == "opt-in")
        return f"demand response: {args.choice}"
    if c == "override":
        until = now() + timedelta(minutes=args.minutes)
        start_override(session=session, actor=actor, vehicle_id=args.vehicle, kind=args.kind, until=until)
        return f"{args.vehicle}: {args.kind} until {until.isoformat(timespec='minutes')}"
    if c == "cancel-override":
        cancel_override(session=session, actor=actor, vehicle_id=args.vehicle)
        return f"{args.vehicle}: override ended"
    raise AssertionError(c)


def main(argv: list[str] | None = None, *, engine=None) -> int:
    args = _parser().parse_args(argv)
    try:
        with session_scope(engine) as session:
            message = _run(args, session)
    except (_Invalid, ValidationError) as exc:
        for name, text in exc.errors.items():
            print(f"error: {name}: {text}", file=sys.stderr)
        print("nothing was saved", file=sys.stderr)
        return EXIT_INVALID
    except PermissionDenied as exc:
        print(f"error: {exc}; nothing was saved", file=sys.stderr)
        return EXIT_INVALID
    print(f"{message} (audited; a re-plan was requested)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
