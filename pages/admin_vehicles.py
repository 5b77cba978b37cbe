"""Admin · Vehicles: add one, import a CSV (all rows or none), say which vehicle an unknown plug-in is,
retire a vehicle (admins only; the same services as `python -m core.admin vehicle`)."""

from __future__ import annotations

import base64
import binascii

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from components import admin as ui
from core import auth
from core.admin import web
from core.admin.vehicle_csv import CSV_COLUMNS
from core.admin.vehicles import KINDS

dash.register_page(__name__, path="/admin/vehicles", name="Admin · Vehicles", nav=False)

ADD, CSV, RETIRE = "vehicle", "vehicle-csv", "vehicle-retire"
COLUMNS = [
    ("id", "Id"),
    ("site_id", "Site"),
    ("name", "Name"),
    ("kind", "Kind"),
    ("battery_kwh", "Battery kWh"),
    ("max_charge_kw", "Charge kW"),
    ("max_discharge_kw", "Discharge kW"),
    ("target_soc", "Target"),
    ("usual_departure", "Leaves"),
    ("v2g_allowed", "V2G"),
    ("recognition", "Recognised by"),
    ("id_tag", "RFID tag"),
    ("evcc_id", "EVCCID"),
    ("home_charger_id", "Home charger"),
]


def _sites(view: dict) -> list[dict]:
    return [{"label": f"{s['name']} ({s['id']})", "value": s["id"]} for s in view["sites"]]


def _add_fields(view: dict) -> list[ui.Field]:
    sites = _sites(view)
    return [
        ui.Field("id", "Id", placeholder="BUS-07"),
        ui.Field("site_id", "Site", "select", sites[0]["value"] if sites else None, sites),
        ui.Field("name", "Name", placeholder="E-bus 7"),
        ui.Field("kind", "Kind", "select", "bus", [{"label": k, "value": k} for k in KINDS]),
        ui.Field("battery_kwh", "Battery", "number", unit="kWh"),
        ui.Field("max_charge_kw", "Max charge", "number", unit="kW"),
        ui.Field("max_discharge_kw", "Max discharge", "number", 0, unit="kW"),
        ui.Field("taper_start_pct", "Taper starts at", "number", unit="%", help="Empty: by kind."),
        ui.Field("soc_floor_pct", "SoC floor", "number", unit="%", help="Empty: the site's default."),
        ui.Field("target_soc_pct", "Target SoC", "number", 90, unit="%"),
        ui.Field("usual_departure", "Usually leaves", value="07:00", help="Local HH:MM"),
        ui.Field("usual_arrival", "Usually arrives", value="18:00", help="Local HH:MM"),
        ui.Field("id_tag", "RFID id tag", help="Recognised by this card; or"),
        ui.Field("evcc_id", "ISO 15118 EVCCID (MAC)", help="by this; or neither: an operator assigns it."),
        ui.Field(
            "home_charger_id",
            "Home charger",
            "select",
            None,
            [{"label": "—", "value": ""}] + [{"label": c["id"], "value": c["id"]} for c in view["chargers"]],
        ),
        ui.Field("v2g_allowed", "", "switch", True, help="V2G allowed"),
    ]


def _vehicle_options(view: dict) -> list[dict]:
    return [{"label": f"{v['name']} ({v['id']})", "value": v["id"]} for v in view["vehicles"]]


def _csv_card(view: dict) -> dbc.Card:
    sites = _sites(view)
    return dbc.Card(
        [
            dbc.CardHeader("Import vehicles from a CSV file"),
            dbc.CardBody(
                [
                    html.P(
                        [
                            "Header: ",
                            html.Code(",".join(CSV_COLUMNS)),
                            ". SoC columns in %; empty cells take the default. "
                            "Every row is checked first: one bad cell and nothing is imported.",
                        ],
                        className="small text-muted",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                dcc.Upload(
                                    html.Div(["Drop a CSV here or ", html.A("choose a file")]),
                                    id=ui.UPLOAD,
                                    className="border border-secondary-subtle rounded p-2 text-center",
                                    accept=".csv,text/csv",
                                ),
                                md=6,
                            ),
                            dbc.Col(
                                dbc.Select(
                                    id=ui.field_id(CSV, "site_id"),
                                    options=sites,
                                    value=sites[0]["value"] if sites else None,
                                ),
                                md=3,
                            ),
                            dbc.Col(dbc.Button("Import", id=ui.submit_id(CSV)), md=3),
                        ],
                        align="center",
                    ),
                    html.Div(id=ui.UPLOAD_NAME, className="small mt-1"),
                    html.Div(id=ui.status_id(CSV), className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
        id="admin-form-vehicle-csv",
    )


def layout(**_query):
    role = auth.current_role()
    if role != "admin":
        return ui.page("Vehicles", "/admin/vehicles", [ui.refused(role)])
    view = web.admin_view()
    return ui.page(
        "Vehicles",
        "/admin/vehicles",
        [
            html.H4("Unknown vehicles"),
            html.Div(ui.unknown_vehicles(view["unknown"], _vehicle_options(view)), id="admin-unknown-box"),
            html.Div(id=ui.status_id("assign"), className="mb-3"),
            ui.table("vehicles", view["vehicles"], COLUMNS, "No vehicle yet."),
            _csv_card(view),
            ui.form_card(ADD, "Add a vehicle", _add_fields(view), [("save", "Add")]),
            ui.form_card(
                RETIRE,
                "Retire a vehicle",
                [ui.Field("vehicle_id", "Vehicle", "select", None, _vehicle_options(view))],
                [("retire", "Retire")],
                help="Its history stays; its tags are freed.",
                confirm={"retire": "Retire this vehicle?"},
            ),
        ],
    )


def _refreshed():
    view = web.admin_view()
    return ui.table_body(view["vehicles"], COLUMNS), ui.unknown_vehicles(view["unknown"], _vehicle_options(view))


@callback(
    Output(ui.status_id(ADD), "children"),
    Output(ui.table_id("vehicles"), "children"),
    Output("admin-unknown-box", "children"),
    Input(ui.submit_id(ADD), "n_clicks"),
    State(ui.field_id(ADD, ALL), "value"),
    prevent_initial_call=True,
)
def add(_clicks, _values):
    actor = auth.require_role("admin")
    values = ui.values_of(ctx.states_list[0])
    status = ui.attempt(
        lambda: web.add_vehicle(actor=actor, values=values),
        lambda vehicle_id: ui.saved_alert(f"Added {vehicle_id} (audited)."),
    )
    return status, *_refreshed()


@callback(Output(ui.UPLOAD_NAME, "children"), Input(ui.UPLOAD, "filename"), prevent_initial_call=True)
def show_file(filename):
    return f"File: {filename}" if filename else ""


def _text_of(contents: str | None) -> str | None:
    """The uploaded file's text (dcc.Upload gives a base64 data URL), None when unreadable."""
    if not contents or "," not in contents:
        return None
    try:
        return base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


@callback(
    Output(ui.status_id(CSV), "children"),
    Output(ui.table_id("vehicles"), "children", allow_duplicate=True),
    Output("admin-unknown-box", "children", allow_duplicate=True),
    Input(ui.submit_id(CSV), "n_clicks"),
    State(ui.UPLOAD, "contents"),
    State(ui.field_id(CSV, "site_id"), "value"),
    prevent_initial_call=True,
)
def import_csv(_clicks, contents, site_id):
    actor = auth.require_role("admin")
    text = _text_of(contents)
    if text is None:
        status = ui.errors_alert({"file": "choose a CSV file (UTF-8) first"})
    else:
        status = ui.attempt(
            lambda: web.import_vehicles(actor=actor, site_id=site_id, text=text),
            lambda ids: ui.saved_alert(f"Imported {len(ids)} vehicle(s): {', '.join(ids)}."),
        )
    return status, *_refreshed()


@callback(
    Output(ui.status_id("assign"), "children"),
    Output(ui.table_id("vehicles"), "children", allow_duplicate=True),
    Output("admin-unknown-box", "children", allow_duplicate=True),
    Input({"type": ui.ASSIGN_BUTTON, "session": ALL}, "n_clicks"),
    State({"type": ui.ASSIGN_SELECT, "session": ALL}, "value"),
    prevent_initial_call=True,
)
def assign(clicks, _choices):
    actor = auth.require_role("admin")
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    session_id = ctx.triggered_id["session"]
    choice = next((s["value"] for s in ctx.states_list[0] if s["id"]["session"] == session_id), None)
    status = ui.attempt(
        lambda: web.assign_vehicle(actor=actor, session_id=session_id, vehicle_id=choice),
        lambda _: ui.saved_alert(
            f"Assigned {choice}: it is recognised by its tag from now on; a re-plan was requested."
        ),
    )
    return status, *_refreshed()


@callback(
    Output(ui.status_id(RETIRE), "children"),
    Output(ui.table_id("vehicles"), "children", allow_duplicate=True),
    Output("admin-unknown-box", "children", allow_duplicate=True),
    Input(ui.confirm_id(RETIRE, "retire"), "submit_n_clicks"),
    State(ui.field_id(RETIRE, "vehicle_id"), "value"),
    prevent_initial_call=True,
)
def retire(_clicks, vehicle_id):
    actor = auth.require_role("admin")
    status = ui.attempt(
        lambda: web.retire_vehicle(actor=actor, vehicle_id=vehicle_id),
        lambda _: ui.saved_alert(f"Retired {vehicle_id}."),
    )
    return status, *_refreshed()
