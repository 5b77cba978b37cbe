"""Live-page plumbing and KPI cards.

A live page polls with a `dcc.Interval`; a clientside gate passes a tick on only while the browser
tab is visible, so hidden pages and wall displays in a drawer do not load the server. Each value
shown carries its age: a stale one is marked in words, never shown silently as current.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

# Only pass a tick on while the page is visible.
_VISIBLE_GATE = """
function(n) {
    if (document.visibilityState === "hidden") { return window.dash_clientside.no_update; }
    return n;
}
"""


def poller(interval_id: str, tick_id: str, interval_s: float) -> html.Div:
    """An interval and the store its visible ticks land in; server callbacks listen to `tick_id`."""
    return html.Div(
        [dcc.Interval(id=interval_id, interval=int(interval_s * 1000), n_intervals=0), dcc.Store(id=tick_id, data=0)]
    )


def register_visibility_gate(interval_id: str, tick_id: str) -> None:
    """Connect a poller's interval to its tick store through the visibility gate (clientside)."""
    dash.clientside_callback(_VISIBLE_GATE, Output(tick_id, "data"), Input(interval_id, "n_intervals"))


def stale_badge(stale: bool, age_text: str = "") -> html.Span | None:
    """A visible word, not only a colour, when a value is out of date."""
    if not stale:
        return None
    return dbc.Badge(["⚠ stale", f" · {age_text}" if age_text else ""], color="warning", text_color="dark", className="ms-2 stale-marker")


def age_text(age_s: float | None) -> str:
    if age_s is None:
        return "no data"
    if age_s < 90:
        return f"{age_s:.0f} s ago"
    if age_s < 5400:
        return f"{age_s / 60:.0f} min ago"
    return f"{age_s / 3600:.1f} h ago"


def kpi_card(title: str, value: str, *, detail: str = "", stale: bool = False, age_s: float | None = None,
             card_id: str | None = None, tone: str = "") -> dbc.Card:
    """One key figure: a title, the value with its unit, a detail line and a stale marker."""
    body = [
        html.Div(title, className="text-muted small text-uppercase"),
        html.Div([html.Span(value, className="kpi-value"), stale_badge(stale, age_text(age_s))], className="fs-4 fw-semibold"),
    ]
    if detail:
        body.append(html.Div(detail, className="small text-muted"))
    props = {"id": card_id} if card_id else {}
    return dbc.Card(dbc.CardBody(body), className=f"h-100 kpi-card {tone}".strip(), **props)
