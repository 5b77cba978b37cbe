"""Admin: the site's own meters (Modbus / SunSpec, MQTT, a station's OCPP main meter). Admins only:
everyone else sees a note. Lists every meter with its last reading and state; a form adds one, or
changes the one picked (the same service and checks as `python -m core.admin meter ...`)."""

from __future__ import annotations

import json

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from core import auth, meters, telemetry
from core.clock import now
from core.config import get_settings
from core.errors import PermissionDenied, ValidationError
from core.rules.local_time import to_local

dash.register_page(__name__, path="/admin/meters", name="Meters", order=95)

PREFIX = "admin-meters-"
TITLE, TABLE, STATUS, PICK, SAVE, REMOVE, SITE_NOTE = (
    PREFIX + n for n in ("title", "table", "status", "pick", "save", "remove", "site-note")
)
# (field, label, kind of input, hint); the fields are core.meters.config's.
FORM = [
    ("name", "Name", "text", "e.g. grid"),
    ("kind", "Kind", "kind", ""),
    ("host", "Host", "text", "Modbus device or MQTT broker"),
    ("port", "Port", "text", "502 Modbus, 1883 MQTT"),
    ("unit_id", "Modbus unit id", "text", "1"),
    ("sunspec", "SunSpec device (registers found by discovery)", "check", ""),
    (
        "registers",
        "Register map (JSON)",
        "json",
        '{"net_import_kw": {"address": 100, "type": "int32", "scale": 0.001}}',
    ),
    ("topic", "MQTT topic", "text", "site/meter"),
    ("paths", "MQTT values (JSON)", "json", '{"net_import_kw": {"path": "grid.w", "scale": 0.001}}'),
    ("charger_id", "OCPP charger (its EVSE 0 meter)", "text", "CP-BUS-01"),
    ("poll_interval_s", "Interval, s", "text", "5"),
    ("quantities", "Quantities (SunSpec, OCPP)", "text", "net_import_kw,pv_kw"),
    ("net_import_sign", "Net import sign", "sign", ""),
    ("enabled", "Enabled", "check", ""),
]


def field_id(name: str) -> str:
    return f"{PREFIX}field-{name}"


def _input(name: str, kind: str, hint: str):
    if kind == "kind":
        return dbc.Select(
            id=field_id(name), options=[{"label": k, "value": k} for k in ("modbus", "mqtt", "ocpp")], value="modbus"
        )
    if kind == "sign":
        options = [{"label": s.replace("_", " "), "value": s} for s in ("import_positive", "export_positive")]
        return dbc.Select(id=field_id(name), options=options, value="import_positive")
    if kind == "check":
        return dbc.Checkbox(id=field_id(name), value=name == "enabled")
    if kind == "json":
        return dbc.Textarea(id=field_id(name), placeholder=hint, rows=2, style={"fontFamily": "monospace"})
    return dbc.Input(id=field_id(name), placeholder=hint, type="text")


def _rows(*, session):
    return meters.meter_rows(session=session)


def _site_status(*, session, site_id):
    return meters.site_meter_status(
        session=session, site_id=site_id, at=now(), sample_interval_s=get_settings().meter_interval_s
    )


def table(rows: list[dict], timezone: str):
    if not rows:
        return html.P(
            "No meter yet: the site's samples come from the demo profile, or none are written.", className="text-muted"
        )
    head = html.Thead(
        html.Tr([html.Th(h) for h in ("Name", "Site", "Kind", "Where", "Gives", "Every", "Last reading", "State")])
    )
    body = []
    for r in rows:
        where = (
            f"charger {r['charger_id']}"
            if r["kind"] == "ocpp"
            else f"{r['host']}:{r['port']}"
            + (
                f" unit {r['unit_id']}{' SunSpec' if r['sunspec'] else ''}"
                if r["kind"] == "modbus"
                else f" {r['topic'] or ''}"
            )
        )
        read = (
            "—"
            if r["last_read_at"] is None
            else (
                f"{to_local(r['last_read_at'], timezone):%H:%M:%S}: "
                + ", ".join(f"{q} {v:g}" for q, v in r["last_values"].items())
            )
        )
        tone = "text-danger" if r["state"].startswith("failing") else ""
        body.append(html.Tr([html.Td(r["name"]), html.Td(r["site_id"]), html.Td(r["kind"]), html.Td(where),
                             html.Td(", ".join(r["quantities"])), html.Td(f"{r['poll_interval_s']:g} s"), html.Td(read),
                             html.Td(r["state"], className=tone)]))  # fmt: skip
    return dbc.Table([head, html.Tbody(body)], bordered=True, size="sm", id=PREFIX + "rows")


def site_note(status, timezone: str):
    if not status.configured:
        return None
    if status.stale:
        since = f" since {to_local(status.since, timezone):%H:%M}" if status.since else ""
        return dbc.Alert(f"Site meter stale{since}: planning with the worst-case load.", color="warning")
    return dbc.Alert("Site meter reading.", color="success", className="py-1")


def layout(**_query):
    if auth.current_role() != "admin":
        return dbc.Alert("Meters: admins only.", color="info", id=TITLE)
    site = telemetry.site_info()
    rows = meters.run_in_transaction(_rows)
    status = meters.run_in_transaction(_site_status, site_id=site.id)
    form = [dbc.Row([dbc.Label(label, width=3), dbc.Col(_input(name, kind, hint), width=9)], className="mb-1")
            for name, label, kind, hint in FORM]  # fmt: skip
    return html.Div([
        html.H2("Site meters", id=TITLE),
        html.Div(site_note(status, site.timezone), id=SITE_NOTE),
        html.Div(table(rows, site.timezone), id=TABLE),
        html.H4("Add or change a meter"),
        dcc.Dropdown(id=PICK, options=[r["name"] for r in rows], placeholder="change a meter: pick it", className="mb-2"),
        *form,
        dbc.Button("Save", id=SAVE, color="primary", className="me-2"),
        dbc.Button("Remove", id=REMOVE, color="danger", outline=True),
        html.Div(id=STATUS, className="mt-2"),
    ])  # fmt: skip


@callback([Output(field_id(name), "value") for name, *_ in FORM], Input(PICK, "value"), prevent_initial_call=True)
def load_meter(name):
    """Fill the form with the picked meter's settings."""
    auth.require_role("admin")
    row = next((r for r in meters.run_in_transaction(_rows) if r["name"] == name), None)
    if row is None:
        return [dash.no_update] * len(FORM)
    values = []
    for field, _, kind, _ in FORM:
        value = row[field]
        if kind == "json":
            value = json.dumps(value) if value else ""
        elif field == "quantities":
            value = ",".join(value)
        values.append(value)
    return values


def _save(*, session, actor, fields):
    existing = {r["name"] for r in meters.meter_rows(session=session)}
    if fields["name"] in existing:
        name = fields.pop("name")
        return meters.edit_meter(session=session, actor=actor, name=name, **fields).name
    return meters.add_meter(session=session, actor=actor, **fields).name


def _remove(*, session, actor, name):
    meters.remove_meter(session=session, actor=actor, name=name)
    return name


@callback(
    Output(STATUS, "children"), Output(TABLE, "children"), Output(PICK, "options"),
    Input(SAVE, "n_clicks"), Input(REMOVE, "n_clicks"),
    [State(field_id(name), "value") for name, *_ in FORM],
    prevent_initial_call=True,
)  # fmt: skip
def save_or_remove(_save_clicks, _remove_clicks, *values):
    actor = auth.require_role("admin")  # the server decides, whatever the page shows
    fields = {name: value for (name, *_), value in zip(FORM, values, strict=True)}
    fields = {k: v for k, v in fields.items() if v not in (None, "") or k in ("registers", "paths")}
    try:
        if dash.ctx.triggered_id == REMOVE:
            done = f"removed meter {meters.run_in_transaction(_remove, actor=actor, name=fields.get('name', ''))}"
        else:
            done = f"saved meter {meters.run_in_transaction(_save, actor=actor, fields=fields)}"
        message = dbc.Alert(done + " (the gateway picks it up within 15 s)", color="success")
    except ValidationError as exc:
        message = dbc.Alert([html.Div("Nothing was saved:"), html.Ul([html.Li(f"{f}: {m}") for f, m in exc.errors.items()])],
                            color="danger")  # fmt: skip
    except PermissionDenied as exc:
        message = dbc.Alert(str(exc), color="danger")
    rows = meters.run_in_transaction(_rows)
    return message, table(rows, telemetry.site_info().timezone), [r["name"] for r in rows]
