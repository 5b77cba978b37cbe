"""One vehicle: SoC over the last 24 h and the plan's next 24 h, its power, whether it will leave with
its target (the forecast of the live state), its recent departures (met or short, and why), sessions
and the plan's reason."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from components import format as fmt
from components import ids
from components.charts import vehicle_soc_figure
from components.live import poller, register_visibility_gate
from components.vehicles import departures_table, power_text, status_badge
from core import telemetry
from core.clock import now
from core.config import get_settings

dash.register_page(__name__, path_template="/vehicles/<vehicle_id>", name="Vehicle", nav=False)
register_visibility_gate(ids.VEHICLE_DETAIL_INTERVAL, ids.VEHICLE_DETAIL_TICK)


def layout(vehicle_id: str = "", **_query):
    site = telemetry.site_info()
    states = {s.vehicle_id: s for s in telemetry.vehicle_states(site.id, vehicle_id=vehicle_id)}
    if vehicle_id not in states:
        return html.Div([html.H2("Vehicle not found"), html.P(f"No vehicle {vehicle_id!r}."), dcc.Link("All vehicles", href="/vehicles")])
    return html.Div(
        [
            poller(ids.VEHICLE_DETAIL_INTERVAL, ids.VEHICLE_DETAIL_TICK, get_settings().poll_interval_s),
            dcc.Store(id=ids.VEHICLE_DETAIL_ID, data=vehicle_id),
            dcc.Link("← all vehicles", href="/vehicles"),
            html.H2(states[vehicle_id].name, id=ids.VEHICLE_DETAIL_TITLE),
            html.Div(info(site, states[vehicle_id]), id=ids.VEHICLE_DETAIL_INFO),
            dcc.Graph(id=ids.VEHICLE_DETAIL_GRAPH, figure=figure(site, states[vehicle_id])),
            html.H4("Departures"),
            html.Div(departures_table(telemetry.vehicle_departures(vehicle_id), site.timezone, ids.VEHICLE_DETAIL_DEPARTURES)),
            html.H4("Sessions"),
            html.Div(sessions_table(site, vehicle_id), id=ids.VEHICLE_DETAIL_SESSIONS),
        ]
    )


def info(site, s):
    tz = ZoneInfo(site.timezone)
    items = [
        ("Status", status_badge(s.at_risk, s.plugged, s.shortfall_kwh, s.shortfall_cause)),
        ("SoC", f"{fmt.soc(s.soc.value)}{' (stale)' if s.soc.stale and s.soc.value is not None else ''}"),
        ("Floor / target", f"{fmt.soc(s.soc_floor)} / {fmt.soc(s.target_soc)}"),
        ("Battery", fmt.kwh(s.battery_kwh)),
        ("Where", f"plugged · {s.charger_id}" if s.plugged else "away"),
        ("Power now", power_text(s.power_kw.value)),
        ("Departs", s.departure.astimezone(tz).strftime("%a %H:%M") if s.departure else "—"),
        ("Leaves with", fmt.soc(s.forecast_soc) if s.plugged else "—"),
    ]
    return html.Div(
        [
            dbc.Row([dbc.Col([html.Div(k, className="text-muted small"), html.Div(v, className="fw-semibold")]) for k, v in items]),
            dbc.Alert(f"Plan: {s.reason or '—'}", color="light", className="mt-2 mb-2"),
        ]
    )


def figure(site, s):
    at = now()
    history = telemetry.vehicle_history_frame(s.charger_id, since=at - timedelta(hours=24), until=at) if s.charger_id else None
    plan = telemetry.latest_plan(site.id)
    frame = telemetry.plan_frame(plan.run_id, s.vehicle_id) if plan.run_id else None
    import pandas as pd

    empty = pd.DataFrame()
    return vehicle_soc_figure(history if history is not None else empty, frame if frame is not None else empty,
                              soc_floor=s.soc_floor, target_soc=s.target_soc, timezone=site.timezone, uirevision=s.vehicle_id)


def sessions_table(site, vehicle_id):
    rows = telemetry.vehicle_sessions(vehicle_id, limit=20)
    tz = ZoneInfo(site.timezone)
    head = html.Thead(html.Tr([html.Th(h) for h in ("Charger", "Plugged in", "Unplugged", "Charged", "Discharged", "SoC in → out")]))
    body = html.Tbody([
        html.Tr([
            html.Td(r.charger_id),
            html.Td(r.started_at.astimezone(tz).strftime("%a %d %b %H:%M")),
            html.Td(r.ended_at.astimezone(tz).strftime("%a %d %b %H:%M") if r.ended_at else "still plugged"),
            html.Td(fmt.kwh(r.energy_in_kwh)),
            html.Td(fmt.kwh(r.energy_out_kwh)),
            html.Td(f"{fmt.soc(r.soc_start)} → {fmt.soc(r.soc_end)}"),
        ])
        for r in rows
    ])
    return dbc.Table([head, body], size="sm", striped=True) if rows else html.P("No sessions yet.", className="text-muted")


@callback(
    Output(ids.VEHICLE_DETAIL_INFO, "children"),
    Output(ids.VEHICLE_DETAIL_GRAPH, "figure"),
    Input(ids.VEHICLE_DETAIL_TICK, "data"),
    State(ids.VEHICLE_DETAIL_ID, "data"),
    prevent_initial_call=True,
)
def refresh(_tick, vehicle_id):
    site = telemetry.site_info()
    state = telemetry.vehicle_states(site.id, vehicle_id=vehicle_id)[0]
    return info(site, state), figure(site, state)
