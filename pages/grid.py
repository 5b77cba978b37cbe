"""Grid: import and export prices, the tariff, import caps and export requests on one time axis.

The last and next 24 hours in the site's time zone, refreshed every poll interval. Operators add an
event with the form, or upload prices or events as CSV (previewed, then saved).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from components import ids
from components.grid import (
    events_table,
    grid_figure,
    limits_table,
    preview_table,
    price_feed_banner,
    tariff_card,
    upload_help,
)
from components.live import poller, register_visibility_gate
from core import auth, controls, signals, telemetry
from core.config import get_settings
from core.rules.local_time import to_local
from core.rules.steps import STEP

dash.register_page(__name__, path="/grid", name="Grid", order=30)
register_visibility_gate(ids.GRID_INTERVAL, ids.GRID_TICK)

PREVIEW_ROWS = 10
UPLOAD_HARD_LIMIT = 4 * signals.MAX_FILE_BYTES


def _upload_card(site):
    max_mb = signals.MAX_FILE_BYTES // 1024 // 1024
    return dbc.Card(
        [
            dbc.CardHeader("Upload prices or grid events (CSV)"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                dbc.RadioItems(
                                    id=ids.GRID_UPLOAD_KIND,
                                    options=[
                                        {"label": "Prices", "value": "prices"},
                                        {"label": "Grid events", "value": "signals"},
                                    ],
                                    value="prices",
                                    inline=True,
                                ),
                                md=5,
                            ),
                            dbc.Col(
                                dbc.InputGroup(
                                    [
                                        dbc.InputGroupText("Time zone of times without offset"),
                                        dbc.Input(id=ids.GRID_UPLOAD_TIMEZONE, value=site.timezone, type="text"),
                                    ],
                                    size="sm",
                                ),
                                md=7,
                            ),
                        ],
                        className="mb-2",
                    ),
                    dcc.Upload(
                        id=ids.GRID_UPLOAD,
                        children=html.Div(
                            [
                                "Drop a CSV file here or ",
                                html.A("choose one"),
                                html.Span(
                                    f" (at most {max_mb} MB and {signals.MAX_ROWS:,} rows)", className="text-muted"
                                ),
                            ]
                        ),
                        accept=".csv,text/csv",
                        # Up to UPLOAD_HARD_LIMIT the server answers a file that is too large with a clear
                        # message (without parsing it); the browser drops anything above that unread.
                        max_size=UPLOAD_HARD_LIMIT,
                        className="border border-secondary-subtle rounded p-3 text-center mb-2",
                        className_reject="border border-danger rounded p-3 text-center mb-2",
                    ),
                    html.Div(id=ids.GRID_UPLOAD_PREVIEW),
                    dbc.Button("Save", id=ids.GRID_UPLOAD_SAVE, color="primary", disabled=True, className="me-2"),
                    html.Div(id=ids.GRID_UPLOAD_MESSAGE, className="mt-2"),
                    html.Hr(),
                    upload_help(site.currency, max_mb, signals.MAX_ROWS),
                ]
            ),
        ],
        className="mb-3",
    )


def _form_card(site):
    return dbc.Card(
        [
            dbc.CardHeader("Add an import cap or export request"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("Kind", html_for=ids.GRID_FORM_KIND),
                                    dbc.Select(
                                        id=ids.GRID_FORM_KIND,
                                        options=[
                                            {"label": "Import cap", "value": "import_cap"},
                                            {"label": "Export request", "value": "export_request"},
                                        ],
                                        value="export_request",
                                    ),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(f"Start ({site.timezone})", html_for=ids.GRID_FORM_START),
                                    dbc.Input(id=ids.GRID_FORM_START, type="datetime-local"),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(f"End ({site.timezone})", html_for=ids.GRID_FORM_END),
                                    dbc.Input(id=ids.GRID_FORM_END, type="datetime-local"),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("kW", html_for=ids.GRID_FORM_KW),
                                    dbc.Input(id=ids.GRID_FORM_KW, type="number", min=0, max=100_000, step=1),
                                ],
                                md=1,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(f"Reward ({site.currency}/kWh)", html_for=ids.GRID_FORM_REWARD),
                                    dbc.Input(
                                        id=ids.GRID_FORM_REWARD, type="number", min=0, max=100, step=0.01, value=0
                                    ),
                                ],
                                md=2,
                            ),
                        ],
                        className="mb-2",
                    ),
                    dbc.Button("Add", id=ids.GRID_FORM_ADD, color="primary"),
                    html.Div(id=ids.GRID_FORM_MESSAGE, className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
    )


def layout(**_query):
    site = telemetry.site_info()
    view = signals.grid_view(site_id=site.id)
    return html.Div(
        [
            html.H2("Grid"),
            html.P(
                f"Prices, caps and export requests for the last and the next 24 hours, in {site.timezone}. "
                "Dashed prices on a grey band are assumed (no price stored for that time).",
                className="text-muted",
            ),
            poller(ids.GRID_INTERVAL, ids.GRID_TICK, get_settings().poll_interval_s),
            html.Div(price_feed_banner(view["price_feed"], ids.GRID_PRICE_FEED), id=f"{ids.GRID_PRICE_FEED}-wrap"),
            dcc.Graph(id=ids.GRID_FIGURE, figure=grid_figure(view), config={"displaylogo": False}),
            html.H4("Import caps and export requests"),
            dbc.Switch(
                id=ids.GRID_DR_OPT_IN, value=site.demand_response_opt_in,
                label="Take part in the utility's demand-response export requests (OpenADR opt-in)",
            ),
            html.Div(id=ids.GRID_DR_MESSAGE, className="small mb-2"),
            html.Div(
                events_table(view["events"], site.currency, ids.GRID_EVENTS_TABLE), id=f"{ids.GRID_EVENTS_TABLE}-wrap"
            ),
            html.H4("Connection limits, reading by reading"),
            html.Div(limits_table(view["limit_excursions"], ids.GRID_LIMITS_TABLE), id=f"{ids.GRID_LIMITS_TABLE}-wrap"),
            dbc.Row(
                [
                    dbc.Col(tariff_card(view["tariff"], site.currency, ids.GRID_TARIFF), lg=5),
                    dbc.Col(_form_card(site), lg=7),
                ]
            ),
            _upload_card(site),
        ]
    )


@callback(
    Output(ids.GRID_FIGURE, "figure"),
    Output(f"{ids.GRID_EVENTS_TABLE}-wrap", "children"),
    Output(f"{ids.GRID_LIMITS_TABLE}-wrap", "children"),
    Output(f"{ids.GRID_PRICE_FEED}-wrap", "children"),
    Input(ids.GRID_TICK, "data"),
    prevent_initial_call=True,
)
def refresh(_n):
    site_id = telemetry.default_site_id()
    view = signals.grid_view(site_id=site_id)
    return (
        grid_figure(view),
        events_table(view["events"], view["currency"], ids.GRID_EVENTS_TABLE),
        limits_table(view["limit_excursions"], ids.GRID_LIMITS_TABLE),
        price_feed_banner(view["price_feed"], ids.GRID_PRICE_FEED),
    )


@callback(
    Output(ids.GRID_DR_MESSAGE, "children"),
    Input(ids.GRID_DR_OPT_IN, "value"),
    prevent_initial_call=True,
)
def set_demand_response(opt_in):
    actor = auth.require_role("operator")
    controls.run_in_transaction(
        controls.set_demand_response_opt_in, actor=actor, opt_in=bool(opt_in), site_id=telemetry.default_site_id()
    )
    return "Opted in: the next events are accepted and planned for." if opt_in else (
        "Opted out: the next events are declined; open export requests are no longer planned for."
    )


def _parse(contents: str, kind: str, timezone: str):
    site = telemetry.site_info()
    text = signals.decode_upload(contents)
    if kind == "prices":
        return site, signals.parse_price_csv(text, currency=site.currency, timezone=timezone or None)
    return site, signals.parse_signal_csv(text, currency=site.currency, timezone=timezone or None)


def _preview_rows(parsed, kind: str, site) -> tuple[list[dict], str]:
    cur = site.currency
    if kind == "prices":
        rows = [
            {
                "row": r.row,
                f"start ({site.timezone})": to_local(r.start, site.timezone).isoformat(),
                f"end ({site.timezone})": to_local(r.end, site.timezone).isoformat(),
                f"import {cur}/kWh": f"{r.import_price_per_kwh:.5f}",
                f"export {cur}/kWh": f"{r.export_price_per_kwh:.5f}",
            }
            for r in parsed[:PREVIEW_ROWS]
        ]
        points = sum((r.end - r.start) // STEP for r in parsed)
        return rows, f"; {points} 15-minute prices will be stored"
    rows = [
        {
            "row": r.row,
            "kind": r.kind,
            f"start ({site.timezone})": to_local(r.start, site.timezone).isoformat(),
            f"end ({site.timezone})": to_local(r.end, site.timezone).isoformat(),
            "kW": r.kw,
            f"reward {cur}/kWh": r.reward_per_kwh,
        }
        for r in parsed[:PREVIEW_ROWS]
    ]
    return rows, ""


@callback(
    Output(ids.GRID_UPLOAD_PREVIEW, "children"),
    Output(ids.GRID_UPLOAD_SAVE, "disabled"),
    Output(ids.GRID_UPLOAD_MESSAGE, "children", allow_duplicate=True),
    Input(ids.GRID_UPLOAD, "contents"),
    Input(ids.GRID_UPLOAD_KIND, "value"),
    Input(ids.GRID_UPLOAD_TIMEZONE, "value"),
    State(ids.GRID_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def preview_upload(contents, kind, timezone, filename):
    if not contents:
        return html.Div(), True, ""
    try:
        site, parsed = _parse(contents, kind, timezone)
    except (signals.SignalError, telemetry.NoSiteError) as exc:
        return dbc.Alert(f"{filename}: refused, nothing saved. {exc}", color="danger"), True, ""
    rows, note = _preview_rows(parsed, kind, site)
    return preview_table(rows, len(parsed), note), False, ""


@callback(
    Output(ids.GRID_UPLOAD_MESSAGE, "children"),
    Input(ids.GRID_UPLOAD_SAVE, "n_clicks"),
    State(ids.GRID_UPLOAD, "contents"),
    State(ids.GRID_UPLOAD_KIND, "value"),
    State(ids.GRID_UPLOAD_TIMEZONE, "value"),
    State(ids.GRID_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def save_upload(_clicks, contents, kind, timezone, filename):
    actor = auth.require_role("operator")
    if not contents:
        return dbc.Alert("Choose a file first.", color="warning")
    try:
        site_id = telemetry.default_site_id()
        text = signals.decode_upload(contents)
        if kind == "prices":
            n = signals.import_prices(text=text, site_id=site_id, timezone=timezone or None, actor=actor)
            return dbc.Alert(f"{filename}: stored {n} 15-minute prices.", color="success")
        n = signals.import_signals(text=text, site_id=site_id, timezone=timezone or None, actor=actor)
        return dbc.Alert(f"{filename}: stored {n} grid events.", color="success")
    except (signals.SignalError, telemetry.NoSiteError) as exc:
        return dbc.Alert(f"{filename}: refused, nothing saved. {exc}", color="danger")


def _local(value: str | None, tz: ZoneInfo, what: str) -> datetime:
    if not value:
        raise signals.SignalError(f"give the {what} time")
    try:
        return datetime.fromisoformat(value).replace(tzinfo=tz)
    except ValueError:
        raise signals.SignalError(f"the {what} time {value!r} is not a date and time") from None


@callback(
    Output(ids.GRID_FORM_MESSAGE, "children"),
    Input(ids.GRID_FORM_ADD, "n_clicks"),
    State(ids.GRID_FORM_KIND, "value"),
    State(ids.GRID_FORM_START, "value"),
    State(ids.GRID_FORM_END, "value"),
    State(ids.GRID_FORM_KW, "value"),
    State(ids.GRID_FORM_REWARD, "value"),
    prevent_initial_call=True,
)
def add_event(_clicks, kind, start, end, kw, reward):
    actor = auth.require_role("operator")
    try:
        site = telemetry.site_info()
        tz = ZoneInfo(site.timezone)
        if kw is None:
            raise signals.SignalError("give the power in kW")
        signal = signals.run_in_transaction(
            signals.add_grid_signal,
            site_id=site.id,
            kind=kind,
            start=_local(start, tz, "start"),
            end=_local(end, tz, "end"),
            kw=float(kw),
            reward_per_kwh=float(reward or 0.0),
            actor=actor,
        )
        return dbc.Alert(f"Added {kind.replace('_', ' ')} #{signal.id}: {kw} kW.", color="success")
    except (signals.SignalError, telemetry.NoSiteError) as exc:
        return dbc.Alert(str(exc), color="danger")
