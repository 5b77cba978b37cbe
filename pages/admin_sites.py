"""Admin · Sites: add a site or change one (admins only; the same service as `python -m core.admin site`)."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx

from components import admin as ui
from core import auth
from core.admin import web

dash.register_page(__name__, path="/admin/sites", name="Admin · Sites", nav=False)

FORM = "site"
COLUMNS = [
    ("id", "Id"),
    ("name", "Name"),
    ("timezone", "Time zone"),
    ("latitude", "Lat"),
    ("longitude", "Lon"),
    ("import_limit_kw", "Import limit kW"),
    ("export_limit_kw", "Export limit kW"),
    ("pv_peak_kwp", "PV kWp"),
    ("currency", "Currency"),
    ("tariff", "Tariff"),
    ("chargers", "Chargers"),
    ("vehicles", "Vehicles"),
]
FIELDS = [
    ui.Field(
        "id", "Id", placeholder="depot-2", help="A new id adds a site; an existing one changes it (empty fields stay)."
    ),
    ui.Field("name", "Name", placeholder="North depot"),
    ui.Field("timezone", "Time zone", placeholder="Europe/Berlin"),
    ui.Field("latitude", "Latitude", "number", unit="°N"),
    ui.Field("longitude", "Longitude", "number", unit="°E"),
    ui.Field("import_limit_kw", "Import limit", "number", unit="kW"),
    ui.Field("export_limit_kw", "Export limit", "number", unit="kW"),
    ui.Field("pv_peak_kwp", "PV peak", "number", unit="kWp"),
    ui.Field("currency", "Currency", placeholder="EUR"),
    ui.Field(
        "tariff",
        "Time-of-use tariff (JSON, optional)",
        "textarea",
        placeholder='{"name": "TOU", "rules": [{"days": "all", "start": "00:00", "end": "00:00", "import_per_kwh": 0.25}]}',
    ),
]
LABELS = {f.name: f.label for f in FIELDS}


def layout(**_query):
    role = auth.current_role()
    if role != "admin":
        return ui.page("Sites", "/admin/sites", [ui.refused(role)])
    return ui.page(
        "Sites",
        "/admin/sites",
        [
            ui.table("sites", web.admin_view()["sites"], COLUMNS, "No site yet: add the first one below."),
            ui.form_card(FORM, "Add or change a site", FIELDS),
        ],
    )


@callback(
    Output(ui.status_id(FORM), "children"),
    Output(ui.table_id("sites"), "children"),
    Input(ui.submit_id(FORM), "n_clicks"),
    State(ui.field_id(FORM, ALL), "value"),
    prevent_initial_call=True,
)
def save(_clicks, _values):
    actor = auth.require_role("admin")  # the server decides, whatever the page shows
    values = ui.values_of(ctx.states_list[0])
    status = ui.attempt(
        lambda: web.save_site(actor=actor, values=values),
        lambda site_id: ui.saved_alert(f"Saved site {site_id} (audited)."),
        LABELS,
    )
    return status, ui.table_body(web.admin_view()["sites"], COLUMNS)
