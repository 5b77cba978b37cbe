"""`python -m core.admin meter add|edit|list|remove`: the site's own meters (core.meters).

    python -m core.admin meter add grid --kind modbus --host 127.0.0.1 --port 5020 --sunspec \\
        --quantities net_import_kw,pv_kw --poll-interval-s 2
    python -m core.admin meter add grid-map --kind modbus --host 10.0.0.5 \\
        --registers '{"net_import_kw": {"address": 100, "type": "int32", "scale": 0.001}}'
    python -m core.admin meter add p1 --kind mqtt --host 127.0.0.1 --topic site/meter \\
        --paths '{"net_import_kw": {"path": "grid.w", "scale": 0.001}, "pv_kw": {"topic": "site/pv"}}'
    python -m core.admin meter add main --kind ocpp --charger CP-BUS-01
"""

from __future__ import annotations

import json

from core.admin.cli import add_list_options, print_rows, run
from core.meters.config import add_meter, edit_meter, list_meters, meter_dict, remove_meter

NOUN = "meter"
OPTIONS = (
    # (option, field, help)
    ("--site", "site_id", "its site id (needed when the database holds more than one site)"),
    ("--kind", "kind", "modbus, mqtt or ocpp"),
    ("--host", "host", "Modbus device or MQTT broker: host name or IP address"),
    ("--port", "port", "TCP port (default 502 for Modbus, 1883 for MQTT)"),
    ("--unit-id", "unit_id", "Modbus unit id (default 1)"),
    ("--sunspec", "sunspec", "yes: a SunSpec device, its registers found by discovery"),
    (
        "--registers",
        "registers",
        "generic Modbus map, JSON: {quantity: {address, type, scale, sign, word_order, table}}",
    ),
    ("--topic", "topic", "MQTT topic of the values (a value may name its own)"),
    ("--paths", "paths", "MQTT values, JSON: {quantity: {topic, path, scale, sign}} ('' path: a plain number)"),
    ("--charger", "charger_id", "OCPP: the charger whose main meter (connector / EVSE 0) it is"),
    ("--poll-interval-s", "poll_interval_s", "seconds between readings (Modbus: read; MQTT, OCPP: expected)"),
    ("--quantities", "quantities", "what it gives, comma-separated: net_import_kw, building_load_kw, pv_kw"),
    ("--net-import-sign", "net_import_sign", "import_positive (default) or export_positive"),
    ("--enabled", "enabled", "yes or no (default yes)"),
)
COLUMNS = ["name", "site_id", "kind", "enabled", "where", "quantities", "poll_interval_s", "last_read_at",
           "last_values", "last_error"]  # fmt: skip


def _options(parser) -> None:
    for option, field, text in OPTIONS:
        if option == "--sunspec":
            parser.add_argument(option, dest=field, nargs="?", const="yes", help=text)
        else:
            parser.add_argument(option, dest=field, help=text)


def register(subparsers) -> None:
    """Add the `meter` noun to the admin command line."""
    noun = subparsers.add_parser(NOUN, help="site meters: add, edit, list, remove")
    verbs = noun.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="a new site meter")
    add.add_argument("name", metavar="NAME", help="what the console calls it, e.g. grid")
    _options(add)
    add.set_defaults(handler=_add)
    edit = verbs.add_parser("edit", help="change settings of a meter (only those given)")
    edit.add_argument("name", metavar="NAME")
    edit.add_argument("--rename", dest="new_name", help="a new name")
    _options(edit)
    edit.set_defaults(handler=_edit)
    show = verbs.add_parser("list", help="every meter, with its last reading")
    show.add_argument("--site", dest="site_id", help="only this site's")
    add_list_options(show)
    show.set_defaults(handler=_list)
    remove = verbs.add_parser("remove", help="remove a meter (its readings stay)")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_remove)


def _given(args) -> dict:
    return {field: getattr(args, field) for _, field, _ in OPTIONS if getattr(args, field, None) is not None}


def where(row) -> str:
    """Where a meter is read: host:port (unit), topic, or charger."""
    if row.kind == "ocpp":
        return f"charger {row.charger_id} (EVSE 0)"
    if row.kind == "mqtt":
        return f"{row.host}:{row.port} {row.topic or ''}".strip()
    return f"{row.host}:{row.port} unit {row.unit_id}" + (" SunSpec" if row.sunspec else " register map")


def _add(args) -> int:
    def work(session, actor):
        row = add_meter(session=session, actor=actor, name=args.name, **_given(args))
        print(
            f"added meter {row.name} at site {row.site_id}: {row.kind}, {where(row)}, gives {', '.join(row.quantities)}"
        )

    return run(args, work)


def _edit(args) -> int:
    def work(session, actor):
        changes = _given(args)
        if args.new_name:
            changes["name"] = args.new_name
        row = edit_meter(session=session, actor=actor, name=args.name, **changes)
        print(f"changed meter {row.name}")

    return run(args, work)


def _remove(args) -> int:
    def work(session, actor):
        remove_meter(session=session, actor=actor, name=args.name)
        print(f"removed meter {args.name}")

    return run(args, work)


def _list(args) -> int:
    def work(session, _actor):
        rows = []
        for row in list_meters(session=session, site_id=args.site_id):
            item = meter_dict(row)
            item.update(where=where(row), quantities=",".join(row.quantities), last_read_at=row.last_read_at,
                        last_values=json.dumps(row.last_values) if row.last_values else None,
                        last_error=row.last_error or None)  # fmt: skip
            rows.append(item)
        print_rows(rows, COLUMNS, as_json=args.json)

    return run(args, work)
