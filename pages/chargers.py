"""Chargers: connection, protocol, status, power, the last profile sent and its answer."""

from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from components import format as fmt
from components import ids
from components.live import age_text, poller, register_visibility_gate
from components.vehicles import power_text
from core import telemetry
from core.clock import now
from core.config import get_settings

dash.register_page(__name__, path="/chargers", name="Chargers", order=2)
register_visibility_gate(ids.CHARGERS_INTERVAL, ids.CHARGERS_TICK)


def layout(**_query):
    return html.Div(
        [
            poller(ids.CHARGERS_INTERVAL, ids.CHARGERS_TICK, get_settings().poll_interval_s),
            html.H2("Chargers"),
            html.Div(id=ids.CHARGERS_BODY),
            dbc.Pagination(id=ids.CHARGERS_PAGE, max_value=1, active_page=1, fully_expanded=False, className="mt-2"),
        ]
    )


PAGE_SIZE = 50  # rows per page: a 200-charger depot stays one screen and a small update


def body(page: int = 1):
    site = telemetry.site_info()
    tz = ZoneInfo(site.timezone)
    at = now()
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "Charger", "Connection", "OCPP", "Discharge", "Status", "Last seen", "Power now", "Setpoint", "Last profile", "Check")]))
    rows = []
    states = telemetry.charger_states(site.id)
    # Flagged chargers first: they need attention.
    states.sort(key=lambda c: (not c.ignores_profile, c.charger_id))
    pages = max(1, -(-len(states) // PAGE_SIZE))
    page = min(max(1, page or 1), pages)
    for c in states[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        seen = c.last_seen.astimezone(tz).strftime("%H:%M:%S") + f" ({age_text((at - c.last_seen).total_seconds())})" if c.last_seen else "never"
        rows.append(html.Tr([
            html.Td(c.charger_id),
            html.Td(dbc.Badge("● connected", color="success") if c.connected else dbc.Badge("○ offline", color="secondary")),
            html.Td(c.protocol),
            html.Td(c.discharge_note, className="small"),
            html.Td(c.status),
            html.Td(seen, className="small"),
            html.Td(power_text(c.power_kw.value) + (" (stale)" if c.power_kw.stale and c.power_kw.value is not None else "")),
            html.Td(fmt.kw(c.setpoint_kw)),
            html.Td(f"{c.last_command_status}" + (f" · {c.last_command_at.astimezone(tz).strftime('%H:%M:%S')}" if c.last_command_at else "")),
            html.Td(dbc.Badge("⚠ ignores its profile", color="danger", className="ignores-profile") if c.ignores_profile else "ok"),
        ], className="table-warning" if c.ignores_profile else ""))
    table = dbc.Table([head, html.Tbody(rows)], id=ids.CHARGERS_TABLE, size="sm", hover=True, responsive=True, className="align-middle")
    return table, pages


@callback(
    Output(ids.CHARGERS_BODY, "children"),
    Output(ids.CHARGERS_PAGE, "max_value"),
    Input(ids.CHARGERS_TICK, "data"),
    Input(ids.CHARGERS_PAGE, "active_page"),
)
def refresh(_tick, page):
    return body(page)
