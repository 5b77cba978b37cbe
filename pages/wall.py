"""Wall display for a control room: dark, large type, no controls, read from 3 m on 1920x1080.

It recovers by itself: the interval keeps firing when the server or network is gone, a clientside
check marks the data stale when no fresh answer came for a while (or the site's own readings are
old, e.g. the gateway is down), and the marker clears with the next good answer.
"""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, clientside_callback, dcc, html

from components import format as fmt
from components import ids
from components.vehicles import risk_text
from core import telemetry
from core.config import get_settings

dash.register_page(__name__, path="/wall", name="Wall display", nav=False, title="V2G Console — wall")

STALE_AFTER_POLLS = 3


def layout(**_query):
    snap = telemetry.site_snapshot()
    site = snap.site
    poll_ms = int(get_settings().poll_interval_s * 1000)
    return html.Div(
        [
            # Not gated on visibility: a wall display is always "visible", and it must keep retrying.
            dcc.Interval(id=ids.WALL_INTERVAL, interval=poll_ms),
            dcc.Store(id=ids.WALL_LAST_OK, data=wall_status(snap)),
            dcc.Store(id="wall-config", data={"timezone": site.timezone, "stale_after_ms": STALE_AFTER_POLLS * poll_ms}),
            dbc.Row(
                [
                    dbc.Col(html.Div(site.name, className="wall-label"), width=8),
                    dbc.Col(html.Div(fmt.local_clock(site.local_time), id=ids.WALL_CLOCK, className="wall-clock text-end"), width=4),
                ],
                className="mb-2 align-items-center",
            ),
            html.Div(id=ids.WALL_STALE, className="mb-3"),
            html.Div(body(snap), id=ids.WALL_BODY),
        ],
        className="wall",
        **{"data-bs-theme": "dark"},
    )


def wall_status(snap) -> dict:
    return {"data_stale": snap.net_import_kw.stale, "data_age_s": snap.net_import_kw.age_s}


def _tile(label: str, value, detail=None, value_id=None, value_class="wall-figure"):
    props = {"id": value_id} if value_id else {}
    return html.Div([html.Div(label, className="wall-label"), html.Div(value, className=value_class, **props),
                     html.Div(detail, className="wall-label mt-1") if detail else None], className="wall-tile")


def body(snap):
    site = snap.site
    net = snap.net_import_kw.value
    share = None if net is None else net / site.import_limit_kw
    risks = [v for v in snap.vehicles if v.at_risk]
    events = snap.active_events
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(_tile("Site net import", fmt.kw(net), f"of {fmt.kw(site.import_limit_kw)} limit"
                                  + ("" if share is None else f" · {share:.0%}"), value_id=ids.WALL_NET_IMPORT), width=4),
                    dbc.Col(_tile("EV charging / V2G export", f"{fmt.kw(snap.ev_charge_kw.value)}",
                                  f"V2G export {fmt.kw(snap.ev_discharge_kw.value)}"), width=4),
                    dbc.Col(_tile("Fleet SoC", fmt.soc(snap.fleet_avg_soc), f"{snap.plugged} plugged in"), width=4),
                ],
                className="mb-4 g-4",
            ),
            dbc.Row(
                [
                    dbc.Col(_tile(
                        "Vehicles at risk",
                        html.Span(f"✖ {len(risks)}" if risks else "✔ 0", className="wall-risk" if risks else "wall-ok"),
                        html.Ul([html.Li(f"{v.name}: {risk_text(v.shortfall_kwh, v.shortfall_cause)}") for v in risks[:6]],
                                className="wall-list"),
                        value_id=ids.WALL_AT_RISK,
                    ), width=6),
                    dbc.Col(_tile(
                        "Grid events now", str(len(events)),
                        html.Ul([html.Li(f"{e['kind'].replace('_', ' ')} {e['kw']:.0f} kW") for e in events], className="wall-list"),
                    ), width=6),
                ],
                className="g-4",
            ),
        ]
    )


@callback(
    Output(ids.WALL_BODY, "children"),
    Output(ids.WALL_LAST_OK, "data"),
    Input(ids.WALL_INTERVAL, "n_intervals"),
    prevent_initial_call=True,
)
def refresh(_n):
    snap = telemetry.site_snapshot()
    return body(snap), wall_status(snap)


# Runs in the browser, so it keeps working while the server is away: the clock, and the stale
# marker when no good answer arrived within a few polls or the site's readings themselves are old.
clientside_callback(
    """
    function(n, status, config) {
        const ctx = window.dash_clientside.callback_context;
        const now = Date.now();
        if (window._wallLastOk === undefined || ctx.triggered.some(t => t.prop_id.startsWith("wall-last-ok"))) {
            window._wallLastOk = now;
        }
        const clock = new Intl.DateTimeFormat("en-GB", {hour: "2-digit", minute: "2-digit", second: "2-digit",
            timeZone: config.timezone, timeZoneName: "short"}).format(new Date());
        const silentMs = now - window._wallLastOk;
        let stale = "";
        if (silentMs > config.stale_after_ms) {
            stale = "⚠ STALE — no answer from the console for " + Math.round(silentMs / 1000) + " s; retrying";
        } else if (status && status.data_stale) {
            const age = status.data_age_s === null ? "no readings" : "last reading " + Math.round(status.data_age_s) + " s ago";
            stale = "⚠ STALE — site data is not updating (" + age + ")";
        }
        return [clock, stale ? {"props": {"children": stale, "className": "wall-stale"}, "type": "Span", "namespace": "dash_html_components"} : null];
    }
    """,
    Output(ids.WALL_CLOCK, "children"),
    Output(ids.WALL_STALE, "children"),
    Input(ids.WALL_INTERVAL, "n_intervals"),
    Input(ids.WALL_LAST_OK, "data"),
    Input("wall-config", "data"),
)
