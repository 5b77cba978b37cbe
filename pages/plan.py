"""Plan: the current dispatch run — per-vehicle timeline, reasons, vehicles that will miss their target,
and the building load and PV forecast against what was measured."""

from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import format as fmt
from components import ids
from components.charts import plan_heatmap
from components.forecast_chart import forecast_actual_figure
from components.live import poller, register_visibility_gate
from core import telemetry
from core.clock import now
from core.config import get_settings

dash.register_page(__name__, path="/plan", name="Plan", order=3)
register_visibility_gate(ids.PLAN_INTERVAL, ids.PLAN_TICK)


def layout(**_query):
    return html.Div(
        [
            poller(ids.PLAN_INTERVAL, ids.PLAN_TICK, max(get_settings().poll_interval_s, 15)),
            html.H2("Dispatch plan"),
            dcc.Store(id=ids.PLAN_RUN, data=None),
            html.Div(body(), id=ids.PLAN_BODY),
        ]
    )


def forecast_section(site):
    """Building load and PV: the forecast made a day ago and the plan's, against the measured values."""
    frame, source = telemetry.forecast_vs_actual(site.id)
    errors = [
        f"{label} off by {err:.1f} kW on average over the measured steps"
        for label, kind in (("building load", "load"), ("PV", "pv"))
        if (err := telemetry.mean_abs_error_kw(frame, kind)) is not None
    ]
    note = f"Forecast from {source}." + (
        " Last 24 h: " + "; ".join(errors) + "." if errors else " Nothing measured yet."
    )
    return html.Div(
        [
            html.H5("Building load and PV: forecast against measured"),
            html.P(note, id=ids.PLAN_FORECAST_NOTE, className="small text-muted"),
            dcc.Graph(
                id=ids.PLAN_FORECAST_FIGURE,
                config={"displaylogo": False},
                figure=forecast_actual_figure(
                    frame, timezone=site.timezone, now_local=now().astimezone(ZoneInfo(site.timezone))
                ),
            ),
        ]
    )


def body():
    site = telemetry.site_info()
    tz = ZoneInfo(site.timezone)
    plan = telemetry.latest_plan(site.id)
    if plan.run_id is None:
        return html.Div(
            [
                dbc.Alert(
                    "No dispatch run yet: the gateway's scheduler plans every minute once vehicles are plugged in.",
                    color="info",
                ),
                forecast_section(site),
            ]
        )
    status_colour = {"optimal": "success", "fallback": "warning"}.get(plan.status, "danger")
    meta = html.Div(
        [
            dbc.Badge(plan.status, color=status_colour, className="me-2"),
            f"run #{plan.run_id} at {plan.started_at.astimezone(tz).strftime('%H:%M:%S')}",
            f" · solved in {plan.solve_time_s:.2f} s" if plan.solve_time_s is not None else "",
            f" · objective {fmt.money(plan.objective, site.currency)} over 24 h" if plan.objective is not None else "",
            html.Div(plan.message, className="small text-muted") if plan.message else None,
        ],
        id=ids.PLAN_META,
        className="mb-2",
    )
    shortfalls = plan.shortfalls
    missing = (
        dbc.Table(
            [
                html.Thead(html.Tr([html.Th("Vehicle"), html.Th("Shortfall"), html.Th("Cause")])),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(s.get("vehicle_id")),
                                html.Td(f"✖ {float(s.get('shortfall_kwh', 0)):.1f} kWh"),
                                html.Td(s.get("cause", "")),
                            ]
                        )
                        for s in shortfalls
                    ]
                ),
            ],
            size="sm",
            color="danger",
            id=ids.PLAN_SHORTFALLS,
        )
        if shortfalls
        else html.P(
            "✔ Every plugged-in vehicle will reach its target.", id=ids.PLAN_SHORTFALLS, className="text-success"
        )
    )
    reasons = dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Vehicle"), html.Th("Why")])),
            html.Tbody([html.Tr([html.Td(v), html.Td(r)]) for v, r in sorted(plan.reasons.items())]),
        ],
        size="sm",
        striped=True,
    )
    frame = telemetry.plan_frame(plan.run_id)
    return html.Div(
        [
            meta,
            html.H5("Vehicles that will miss their target"),
            missing,
            html.H5("Charge (+) and discharge (−) per vehicle"),
            dcc.Graph(id=ids.PLAN_HEATMAP, figure=plan_heatmap(frame, timezone=site.timezone)),
            html.H5("Reasons"),
            reasons,
            forecast_section(site),
        ]
    )


@callback(
    Output(ids.PLAN_BODY, "children"),
    Output(ids.PLAN_RUN, "data"),
    Input(ids.PLAN_TICK, "data"),
    State(ids.PLAN_RUN, "data"),
    prevent_initial_call=True,
)
def refresh(_tick, shown_run_id):
    # The page changes only with a new dispatch run: between runs an update costs one small query.
    run_id = telemetry.latest_plan(telemetry.default_site_id()).run_id
    if run_id is not None and run_id == shown_run_id:
        return no_update, no_update
    return body(), run_id
