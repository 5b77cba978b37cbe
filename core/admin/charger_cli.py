"""`python -m core.admin charger add|edit|retire|rotate-password|list`."""

from __future__ import annotations

import argparse

from core.admin.chargers import add_charger, edit_charger, list_chargers, retire_charger, rotate_password
from core.admin.cli import add_list_options, print_rows, run
from core.charging_profiles import PROTOCOLS

NOUN = "charger"


def _charger_options(parser, *, adding: bool) -> None:
    parser.add_argument("--site", dest="site_id", help="its site (may be left out when there is one site)")
    parser.add_argument("--protocol", required=adding, choices=PROTOCOLS, help="its OCPP version")
    parser.add_argument("--max-charge-kw", required=adding, help="maximum charge power, kW")
    parser.add_argument("--max-discharge-kw", help="maximum discharge power, kW (0: one-way; default 0)")
    parser.add_argument("--efficiency", help="0-1 (default 0.95)")
    parser.add_argument(
        "--accepts-negative-limits",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="discharge convention: a 1.6/2.0.1 charger that discharges on a negative limit",
    )


FIELDS = ("site_id", "protocol", "max_charge_kw", "max_discharge_kw", "efficiency", "accepts_negative_limits")


def register(subparsers) -> None:
    """Add the `charger` noun to the admin command line."""
    noun = subparsers.add_parser(NOUN, help="chargers: add, edit, retire, rotate-password, list")
    verbs = noun.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="register a charger; prints its password once")
    add.add_argument("charger_id", metavar="ID", help="its OCPP identity (the last part of its URL)")
    _charger_options(add, adding=True)
    add.add_argument("--password", help="8-40 characters (default: a generated one, printed once)")
    add.set_defaults(handler=_add)
    edit = verbs.add_parser("edit", help="change fields of a charger (only those given)")
    edit.add_argument("charger_id", metavar="ID")
    _charger_options(edit, adding=False)
    edit.set_defaults(handler=_edit)
    retire = verbs.add_parser("retire", help="it can no longer connect; its history stays")
    retire.add_argument("charger_id", metavar="ID")
    retire.set_defaults(handler=_retire)
    rotate = verbs.add_parser("rotate-password", help="a new password (printed once); the old one stops working")
    rotate.add_argument("charger_id", metavar="ID")
    rotate.add_argument("--password", help="8-40 characters (default: a generated one)")
    rotate.set_defaults(handler=_rotate)
    show = verbs.add_parser("list", help="the chargers")
    show.add_argument("--site", dest="site_id")
    show.add_argument("--all", action="store_true", help="retired ones too")
    add_list_options(show)
    show.set_defaults(handler=_list)


def _given(args) -> dict:
    return {k: getattr(args, k) for k in FIELDS if getattr(args, k, None) is not None}


def _add(args) -> int:
    def work(session, actor):
        fields = _given(args)
        fields.setdefault("site_id", None)
        charger, password = add_charger(
            session=session, actor=actor, charger_id=args.charger_id, password=args.password, **fields
        )
        print(
            f"registered {charger.id} at site {charger.site_id}: OCPP {charger.protocol}, "
            f"{charger.max_charge_kw:g} kW charge / {charger.max_discharge_kw:g} kW discharge"
        )
        if not args.password:
            print(f"password (shown once): {password}")

    return run(args, work)


def _edit(args) -> int:
    def work(session, actor):
        charger = edit_charger(session=session, actor=actor, charger_id=args.charger_id, **_given(args))
        print(f"changed charger {charger.id}")

    return run(args, work)


def _retire(args) -> int:
    def work(session, actor):
        retire_charger(session=session, actor=actor, charger_id=args.charger_id)
        print(f"retired charger {args.charger_id}: it can no longer connect")

    return run(args, work)


def _rotate(args) -> int:
    def work(session, actor):
        password = rotate_password(session=session, actor=actor, charger_id=args.charger_id, password=args.password)
        print(f"new password of {args.charger_id} (shown once): {password}")
        print(
            "give it to the charger (2.0.1/2.1: SetVariables BasicAuthPassword; 1.6: ChangeConfiguration AuthorizationKey)"
        )

    return run(args, work)


def _list(args) -> int:
    def work(session, _actor):
        rows = list_chargers(session=session, site_id=args.site_id, include_retired=args.all)
        print_rows(rows, ["id", *FIELDS, "connected", "retired"], as_json=args.json)

    return run(args, work)
