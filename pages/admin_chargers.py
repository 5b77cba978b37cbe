"""Admin · Chargers: register one (its password shown once), rotate a password, retire a charger (admins only)."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx
from dash.exceptions import PreventUpdate

from components import admin as ui
from core import auth
from core.admin import web
from core.charging_profiles import PROTOCOLS

dash.register_page(__name__, path="/admin/chargers", name="Admin · Chargers", nav=False)

ADD, ACT = "charger", "charger-action"
COLUMNS = [
    ("id", "Id"),
    ("site_id", "Site"),
    ("protocol", "OCPP"),
    ("max_charge_kw", "Charge kW"),
    ("max_discharge_kw", "Discharge kW"),
    ("efficiency", "Efficiency"),
    ("accepts_negative_limits", "Negative limits discharge"),
    ("connected", "Connected"),
    ("last_seen", "Last seen"),
]
NOTE = "Give it to the charger (2.0.1/2.1: SetVariables BasicAuthPassword; 1.6: AuthorizationKey). It is stored hashed and is not shown again."


def _add_fields(view: dict) -> list[ui.Field]:
    sites = [{"label": f"{s['name']} ({s['id']})", "value": s["id"]} for s in view["sites"]]
    return [
        ui.Field("id", "OCPP identity", placeholder="CP-21", help="The last part of the charger's URL."),
        ui.Field("site_id", "Site", "select", sites[0]["value"] if sites else None, sites),
        ui.Field("protocol", "OCPP version", "select", "2.0.1", [{"label": p, "value": p} for p in PROTOCOLS]),
        ui.Field("max_charge_kw", "Max charge", "number", unit="kW"),
        ui.Field("max_discharge_kw", "Max discharge", "number", 0, unit="kW", help="0: one-way."),
        ui.Field("efficiency", "Efficiency", "number", 0.95, help="0-1"),
        ui.Field(
            "accepts_negative_limits",
            "",
            "switch",
            False,
            help="Discharges on a negative limit (1.6/2.0.1 vendor convention)",
        ),
        ui.Field("password", "Password (optional)", "password", help="Empty: a strong one is generated."),
    ]


def _action_fields(view: dict) -> list[ui.Field]:
    options = [{"label": c["id"], "value": c["id"]} for c in view["chargers"]]
    return [ui.Field("charger_id", "Charger", "select", options[0]["value"] if options else None, options)]


def layout(**_query):
    role = auth.current_role()
    if role != "admin":
        return ui.page("Chargers", "/admin/chargers", [ui.refused(role)])
    view = web.admin_view()
    return ui.page(
        "Chargers",
        "/admin/chargers",
        [
            ui.table("chargers", view["chargers"], COLUMNS, "No charger yet."),
            ui.form_card(ADD, "Register a charger", _add_fields(view), [("save", "Register")]),
            ui.form_card(
                ACT,
                "Password and retirement",
                _action_fields(view),
                [("rotate", "Rotate password"), ("retire", "Retire")],
                help="Rotating makes the old password stop working at once. A retired charger can no longer connect; its history stays.",
                confirm={"retire": "Retire this charger? It can no longer connect."},
            ),
        ],
    )


@callback(
    Output(ui.status_id(ADD), "children"),
    Output(ui.table_id("chargers"), "children"),
    Input(ui.submit_id(ADD), "n_clicks"),
    State(ui.field_id(ADD, ALL), "value"),
    prevent_initial_call=True,
)
def register(_clicks, _values):
    actor = auth.require_role("admin")
    values = ui.values_of(ctx.states_list[0])
    given = bool(values.get("password"))
    status = ui.attempt(
        lambda: web.add_charger(actor=actor, values=values),
        lambda password: (
            ui.saved_alert(f"Registered {values.get('id')} with the password given.")
            if given
            else ui.secret_alert(f"Registered {values.get('id')}. Its password, shown this once:", password, NOTE)
        ),
    )
    return status, ui.table_body(web.admin_view()["chargers"], COLUMNS)


@callback(
    Output(ui.status_id(ACT), "children"),
    Output(ui.table_id("chargers"), "children", allow_duplicate=True),
    Input(ui.submit_id(ACT, "rotate"), "n_clicks"),
    Input(ui.confirm_id(ACT, "retire"), "submit_n_clicks"),
    State(ui.field_id(ACT, ALL), "value"),
    prevent_initial_call=True,
)
def act(_rotate, _retire, _values):
    actor = auth.require_role("admin")
    if not ctx.triggered_id:
        raise PreventUpdate
    charger_id = ui.values_of(ctx.states_list[0]).get("charger_id")
    if ctx.triggered_id["action"] == "rotate":
        status = ui.attempt(
            lambda: web.rotate_charger_password(actor=actor, charger_id=charger_id),
            lambda password: ui.secret_alert(f"New password of {charger_id}, shown this once:", password, NOTE),
        )
    else:
        status = ui.attempt(
            lambda: web.retire_charger(actor=actor, charger_id=charger_id),
            lambda _: ui.saved_alert(f"Retired {charger_id}: it can no longer connect."),
        )
    return status, ui.table_body(web.admin_view()["chargers"], COLUMNS)
