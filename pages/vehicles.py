"""Vehicles: one row per vehicle — SoC against floor and target, where it is, power, departure, risk."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from components import ids
from components.live import poller, register_visibility_gate
from components.vehicles import vehicles_table
from core import telemetry
from core.config import get_settings

dash.register_page(__name__, path="/vehicles", name="Vehicles", order=1)
register_visibility_gate(ids.VEHICLES_INTERVAL, ids.VEHICLES_TICK)

SORTS = {
    "risk": lambda s: (not s.at_risk, not s.plugged, s.name),
    "soc": lambda s: (s.soc.value is None, s.soc.value or 0.0),
    "departure": lambda s: (s.departure is None, s.departure.isoformat() if s.departure else ""),
    "name": lambda s: s.name,
}
FILTERS = {
    "all": lambda s: True,
    "plugged": lambda s: s.plugged,
    "at_risk": lambda s: s.at_risk,
    "away": lambda s: not s.plugged,
}


def layout(**_query):
    return html.Div(
        [
            poller(ids.VEHICLES_INTERVAL, ids.VEHICLES_TICK, get_settings().poll_interval_s),
            html.H2("Vehicles"),
            dbc.Row(
                [
                    dbc.Col(dbc.InputGroup([dbc.InputGroupText("Show"), dbc.Select(
                        id=ids.VEHICLES_FILTER, value="all",
                        options=[{"label": "all vehicles", "value": "all"}, {"label": "plugged in", "value": "plugged"},
                                 {"label": "at risk", "value": "at_risk"}, {"label": "away", "value": "away"}])]), md=3),
                    dbc.Col(dbc.InputGroup([dbc.InputGroupText("Sort by"), dbc.Select(
                        id=ids.VEHICLES_SORT, value="risk",
                        options=[{"label": "risk first", "value": "risk"}, {"label": "SoC", "value": "soc"},
                                 {"label": "departure", "value": "departure"}, {"label": "name", "value": "name"}])]), md=3),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.VEHICLES_BODY),
            dbc.Pagination(id=ids.VEHICLES_PAGE, max_value=1, active_page=1, fully_expanded=False, className="mt-2"),
        ]
    )


PAGE_SIZE = 50  # rows per page: a 200-vehicle depot stays one screen and a small update


def body(show: str, sort: str, page: int):
    site = telemetry.site_info()
    states = [s for s in telemetry.vehicle_states(site.id) if FILTERS.get(show, FILTERS["all"])(s)]
    states.sort(key=SORTS.get(sort, SORTS["risk"]))
    pages = max(1, -(-len(states) // PAGE_SIZE))
    page = min(max(1, page or 1), pages)
    shown = states[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return vehicles_table(shown, site.timezone, ids.VEHICLES_TABLE), pages


@callback(
    Output(ids.VEHICLES_BODY, "children"),
    Output(ids.VEHICLES_PAGE, "max_value"),
    Input(ids.VEHICLES_TICK, "data"),
    Input(ids.VEHICLES_FILTER, "value"),
    Input(ids.VEHICLES_SORT, "value"),
    Input(ids.VEHICLES_PAGE, "active_page"),
)
def refresh(_tick, show, sort, page):
    return body(show, sort, page)
