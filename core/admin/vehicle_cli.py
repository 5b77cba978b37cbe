"""`python -m core.admin vehicle add|edit|retire|list|import FILE.csv --site ID`."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.admin.cli import add_list_options, print_rows, run
from core.admin.vehicle_csv import CSV_COLUMNS, import_vehicles
from core.admin.vehicles import KINDS, add_vehicle, edit_vehicle, list_vehicles, retire_vehicle
from core.errors import ValidationError

NOUN = "vehicle"
# option dest -> service field; SoC options are in % on the command line.
OPTIONS = {
    "site_id": "site_id",
    "name": "name",
    "kind": "kind",
    "battery_kwh": "battery_kwh",
    "max_charge_kw": "max_charge_kw",
    "max_discharge_kw": "max_discharge_kw",
    "usual_arrival": "usual_arrival",
    "usual_departure": "usual_departure",
    "v2g_allowed": "v2g_allowed",
    "id_tag": "id_tag",
    "evcc_id": "evcc_id",
    "home_charger_id": "home_charger_id",
}
PERCENT_OPTIONS = {"taper_start_pct": "taper_start_soc", "floor_pct": "soc_floor", "target_pct": "target_soc"}


def _vehicle_options(parser, *, adding: bool) -> None:
    parser.add_argument("--site", dest="site_id", required=adding, help="its site")
    parser.add_argument("--name", required=adding)
    parser.add_argument("--kind", choices=KINDS)
    parser.add_argument("--battery-kwh", required=adding, help="usable battery capacity, kWh")
    parser.add_argument("--max-charge-kw", required=adding, help="kW")
    parser.add_argument("--max-discharge-kw", help="kW (0: no V2G)")
    parser.add_argument("--taper-start-pct", help="SoC %% where charging power starts to fall (none: by kind)")
    parser.add_argument("--floor-pct", help="SoC floor %% (none: the site's default)")
    parser.add_argument("--target-pct", help="target SoC %% at departure")
    parser.add_argument("--arrival", dest="usual_arrival", help="usual arrival, local HH:MM")
    parser.add_argument("--departure", dest="usual_departure", help="usual departure, local HH:MM")
    parser.add_argument(
        "--v2g",
        dest="v2g_allowed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether it may discharge to the site (V2G)",
    )
    parser.add_argument("--id-tag", help="RFID id tag it is recognised by")
    parser.add_argument("--evcc-id", help="ISO 15118 EVCCID (MAC) it is recognised by")
    parser.add_argument("--home-charger", dest="home_charger_id", help="the charger it usually uses")


def register(subparsers) -> None:
    """Add the `vehicle` noun to the admin command line."""
    noun = subparsers.add_parser(NOUN, help="vehicles: add, edit, retire, list, import a CSV")
    verbs = noun.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="a new vehicle")
    add.add_argument("vehicle_id", metavar="ID")
    _vehicle_options(add, adding=True)
    add.set_defaults(handler=_add)
    edit = verbs.add_parser("edit", help="change fields of a vehicle (only those given)")
    edit.add_argument("vehicle_id", metavar="ID")
    _vehicle_options(edit, adding=False)
    edit.set_defaults(handler=_edit)
    retire = verbs.add_parser("retire", help="keep its history, free its tags")
    retire.add_argument("vehicle_id", metavar="ID")
    retire.set_defaults(handler=_retire)
    show = verbs.add_parser("list", help="the vehicles")
    show.add_argument("--site", dest="site_id")
    show.add_argument("--all", action="store_true", help="retired ones too")
    add_list_options(show)
    show.set_defaults(handler=_list)
    load = verbs.add_parser(
        "import", help="add every vehicle of a CSV file, or none", description=f"CSV header: {','.join(CSV_COLUMNS)}"
    )
    load.add_argument("file", type=Path)
    load.add_argument("--site", dest="site_id", required=True)
    load.set_defaults(handler=_import)


def _fraction(raw: str):
    """A % option as the service's fraction; "none" clears it; anything else goes on to be refused by name."""
    if raw.strip().lower() in ("none", ""):
        return None
    try:
        return float(raw) / 100
    except ValueError:
        return raw


def _given(args) -> dict:
    fields = {field: getattr(args, dest) for dest, field in OPTIONS.items() if getattr(args, dest, None) is not None}
    for dest, field in PERCENT_OPTIONS.items():
        if getattr(args, dest, None) is not None:
            fields[field] = _fraction(getattr(args, dest))
    return fields


def _add(args) -> int:
    def work(session, actor):
        vehicle = add_vehicle(session=session, actor=actor, vehicle_id=args.vehicle_id, **_given(args))
        print(f"added vehicle {vehicle.id} ({vehicle.name}) at site {vehicle.site_id}")

    return run(args, work)


def _edit(args) -> int:
    def work(session, actor):
        vehicle = edit_vehicle(session=session, actor=actor, vehicle_id=args.vehicle_id, **_given(args))
        print(f"changed vehicle {vehicle.id}")

    return run(args, work)


def _retire(args) -> int:
    def work(session, actor):
        retire_vehicle(session=session, actor=actor, vehicle_id=args.vehicle_id)
        print(f"retired vehicle {args.vehicle_id}")

    return run(args, work)


def _list(args) -> int:
    def work(session, _actor):
        rows = list_vehicles(session=session, site_id=args.site_id, include_retired=args.all)
        columns = [
            "id",
            "site_id",
            "name",
            "kind",
            "battery_kwh",
            "max_charge_kw",
            "max_discharge_kw",
            "target_soc",
            "usual_departure",
            "v2g_allowed",
            "recognition",
            "id_tag",
            "evcc_id",
            "home_charger_id",
            "retired",
        ]
        print_rows(rows, columns, as_json=args.json)

    return run(args, work)


def _import(args) -> int:
    def work(session, actor):
        try:
            text = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError({"file": f"cannot read {args.file}: {exc}"}) from None
        added = import_vehicles(session=session, actor=actor, site_id=args.site_id, text=text)
        print(f"imported {len(added)} vehicle(s) into site {args.site_id}: {', '.join(added)}")

    return run(args, work)
