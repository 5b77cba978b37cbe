"""The Grid page's pieces as plain functions of data: the prices-and-events figure, tariff, events, upload help."""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from components import format as fmt

DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
KIND_LABELS = {"import_cap": "Import cap", "export_request": "Export request"}

UPLOAD_HELP = """
**Prices** — columns `start`, optional `end`, `import_{cur}_per_kwh` (or `_per_mwh`), optional
`export_{cur}_per_kwh` (or `_per_mwh`; 0 when absent). Rows 15 minutes or 1 hour apart, no gaps or
repeats; hourly rows are stored as four 15-minute prices. Saving replaces the stored prices of the
file's period.

**Grid events** — columns `kind` (`import_cap` or `export_request`), `start`, `end`, `kw`, optional
`reward_{cur}_per_kwh` and `external_id`.

Timestamps are ISO 8601, e.g. `2026-03-02T00:15:00+01:00`. A timestamp without a UTC offset is read
in the time zone given here. UTF-8, comma-separated, `.` as the decimal mark. At most **{max_mb} MB
and {max_rows:,} rows**. A file with any fault is refused as a whole; the message names the row
(the header is row 1) and the column.

The same from the command line: `python -m core.signals import-prices FILE.csv --timezone ZONE`,
`python -m core.signals import-signals FILE.csv`, and the tariff with
`python -m core.signals set-tariff FILE.json`.
"""


def _naive(t: datetime) -> datetime:
    """Plotly has no time zones: give it the site's wall-clock time (the axis title names the zone)."""
    return t.replace(tzinfo=None)


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for k, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append((start, k))
            start = None
    return runs


def grid_figure(view: dict) -> go.Figure:
    """Prices (assumed ones dashed on a shaded band) over caps, export requests and metered net import."""
    cur = view["currency"]
    prices = view["prices"]
    times = [_naive(p["time"]) for p in prices]
    assumed = [p["source"] != "stored" for p in prices]
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(f"Price ({cur}/kWh)", "Power at the grid connection (kW, + import / − export)"),
    )
    for key, label, color in (("import", "Import price", "#d9480f"), ("export", "Export price", "#1971c2")):
        values = [p[key] for p in prices]
        known = [v if not a else None for v, a in zip(values, assumed, strict=True)]
        guessed = [v if a else None for v, a in zip(values, assumed, strict=True)]
        fig.add_trace(
            go.Scatter(x=times, y=known, name=label, line={"color": color, "shape": "hv"}, connectgaps=False),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=times,
                y=guessed,
                name=f"{label} (assumed)",
                line={"color": color, "shape": "hv", "dash": "dash"},
                connectgaps=False,
            ),
            row=1,
            col=1,
        )
    step = (times[1] - times[0]) if len(times) > 1 else None
    for a, b in _runs(assumed):
        end = times[b - 1] + step if step else times[b - 1]
        sources = sorted({prices[k]["source"] for k in range(a, b)})
        fig.add_vrect(
            x0=times[a],
            x1=end,
            fillcolor="#adb5bd",
            opacity=0.18,
            line_width=0,
            row=1,
            col=1,
            annotation_text="assumed: " + ", ".join(sources),
            annotation_position="top left",
            annotation_font_size=10,
        )
    if view["net_import"]:
        fig.add_trace(
            go.Scatter(
                x=[_naive(s["time"]) for s in view["net_import"]],
                y=[s["kw"] for s in view["net_import"]],
                name="Net import (metered)",
                line={"color": "#495057", "shape": "hv"},
            ),
            row=2,
            col=1,
        )
    for e in view["events"]:
        x0, x1 = _naive(e["start"]), _naive(e["end"])
        if e["kind"] == "import_cap":
            fig.add_trace(
                go.Scatter(
                    x=[x0, x1],
                    y=[e["kw"], e["kw"]],
                    mode="lines",
                    name=f"Import cap #{e['id']}",
                    line={"color": "#c92a2a", "width": 3},
                ),
                row=2,
                col=1,
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=[x0, x0, x1, x1],
                    y=[0, -e["kw"], -e["kw"], 0],
                    fill="toself",
                    mode="lines",
                    name=f"Export request #{e['id']}",
                    line={"color": "#2f9e44"},
                ),
                row=2,
                col=1,
            )
    if times:
        fig.add_trace(
            go.Scatter(
                x=[times[0], times[-1]],
                y=[view["import_limit_kw"]] * 2,
                mode="lines",
                name="Import limit",
                line={"color": "#868e96", "dash": "dot"},
            ),
            row=2,
            col=1,
        )
    now_x = _naive(view["now"])
    fig.add_vline(x=now_x, line={"color": "#212529", "width": 1, "dash": "dot"})
    fig.update_xaxes(title_text=f"Time ({view['timezone']})", row=2, col=1)
    fig.update_yaxes(title_text=f"{cur}/kWh", row=1, col=1)
    fig.update_yaxes(title_text="kW", rangemode="tozero", row=2, col=1)
    fig.update_layout(
        height=560,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        uirevision="grid",
        template="plotly_white",
    )
    return fig


def _days(weekdays: str) -> str:
    if weekdays == "0123456":
        return "every day"
    if weekdays == "01234":
        return "Mon–Fri"
    if weekdays == "56":
        return "Sat–Sun"
    return ", ".join(DAY_NAMES[int(d)] for d in weekdays)


def tariff_card(tariff: dict | None, currency: str, element_id: str):
    """The time-of-use rules and demand charge, or a note that there is no tariff."""
    if tariff is None:
        body = html.P(
            [
                "No time-of-use tariff. Set one with ",
                html.Code("python -m core.signals set-tariff FILE.json"),
                " (format: ",
                html.Code("python -m core.signals --help"),
                "). Until then a missing price is assumed from the demo profile (demo mode), the last day "
                "with prices, or the last known price.",
            ],
            className="text-muted mb-0",
        )
    else:
        rows = [
            html.Tr(
                [
                    html.Td(_days(r["weekdays"])),
                    html.Td(f"{r['start']}–{r['end']}"),
                    html.Td(fmt.price(r["import"], currency)),
                    html.Td(fmt.price(r["export"], currency)),
                ]
            )
            for r in tariff["rules"]
        ]
        body = [
            html.Div(tariff["name"] or "Tariff", className="fw-semibold"),
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(h) for h in ("Days", "Local time", "Import", "Export")])),
                    html.Tbody(rows),
                ],
                size="sm",
                className="mb-1",
            ),
            html.Div(f"Demand charge: {tariff['demand_charge_per_kw_month']:.2f} {currency} per kW of monthly peak"),
        ]
    return dbc.Card([dbc.CardHeader("Time-of-use tariff"), dbc.CardBody(body)], id=element_id, className="mb-3")


def price_feed_banner(feed: dict | None, element_id: str):
    """The day-ahead feed in one line: a warning when it failed or left prices missing (what stands in)."""
    if feed is None:
        return html.Div(id=element_id)
    if feed["message"]:
        text = feed["message"][0].upper() + feed["message"][1:]
        return dbc.Alert(text, color="warning", id=element_id, className="py-2")
    through = feed["prices_through"].strftime("%a %d %b %H:%M") if feed["prices_through"] else "—"
    fetched = feed["last_success"].strftime("%H:%M") if feed["last_success"] else "—"
    return html.P(
        f"Day-ahead prices ({feed['bidding_zone']}, ENTSO-E) fetched at {fetched}, through {through}.",
        id=element_id,
        className="small text-muted",
    )


def _num(value: float | None, digits: int, unit: str) -> str:
    return "—" if value is None else f"{value:,.{digits}f} {unit}"


def events_table(events: list[dict], currency: str, element_id: str):
    """Caps and export requests of the last and next day, with what the site delivered so far."""
    if not events:
        return html.P(
            "No import caps or export requests in the last or next 24 hours.", id=element_id, className="text-muted"
        )
    header = ("#", "Kind", "Source", "Start", "End", "kW", "Reward", "Committed", "Delivered", "Performance", "Earned")
    rows = [
        html.Tr(
            [
                html.Td(e["id"]),
                html.Td(KIND_LABELS.get(e["kind"], e["kind"])),
                html.Td(e["source"]),
                html.Td(e["start"].strftime("%a %d %b %H:%M")),
                html.Td(e["end"].strftime("%a %d %b %H:%M")),
                html.Td(fmt.kw(e["kw"])),
                html.Td(fmt.price(e["reward_per_kwh"], currency) if e["kind"] == "export_request" else "—"),
                html.Td(_num(e["committed_kwh"], 1, "kWh")),
                html.Td(_num(e["delivered_kwh"], 1, "kWh")),
                html.Td(_num(e["performance_pct"], 0, "%")),
                html.Td(_num(e["reward"], 2, currency)),
            ]
        )
        for e in events
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
        id=element_id,
        size="sm",
        striped=True,
        responsive=True,
    )


def limits_table(excursions: list[dict], element_id: str):
    """Readings near or over the connection limit in the last day, and what the guard did."""
    breaches = [x for x in excursions if x["worst_kw_over_limit"] > 0]
    if not excursions:
        return html.P("Every reading of the last 24 hours stayed within the limits.", id=element_id, className="text-muted")
    summary = (
        f"{len(breaches)} breach(es) of the limit; the guard acted on {len(excursions) - len(breaches)} "
        "more spell(s) before the limit was reached."
    )
    header = ("Start", "End", "Limit", "Readings over", "Worst over", "Seconds over", "Chargers capped")
    rows = [
        html.Tr(
            [
                html.Td(x["start"].strftime("%a %d %b %H:%M:%S")),
                html.Td(x["end"].strftime("%H:%M:%S") if x["end"] else "ongoing"),
                html.Td(f"{x['direction']} {fmt.kw(x['limit_kw'])}"),
                html.Td(f"{x['readings_over_limit']} of {x['readings']}"),
                html.Td(fmt.kw(x["worst_kw_over_limit"]) if x["worst_kw_over_limit"] > 0 else "held"),
                html.Td(f"{x['seconds_over_limit']:.0f} s"),
                html.Td(x["guard_commands"]),
            ],
            className="table-danger" if x["worst_kw_over_limit"] > 0 else None,
        )
        for x in excursions
    ]
    return html.Div(
        [
            html.P(summary, className="small"),
            dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)], size="sm", responsive=True),
        ],
        id=element_id,
    )


def preview_table(rows: list[dict], total: int, note: str = ""):
    """The first rows of a parsed file, before it is saved."""
    if not rows:
        return html.Div()
    columns = list(rows[0])
    return html.Div(
        [
            html.Div(f"{total} rows read{note}. Check them, then save.", className="mb-1"),
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(c) for c in columns])),
                    html.Tbody([html.Tr([html.Td(str(r[c])) for c in columns]) for r in rows]),
                ],
                size="sm",
                bordered=True,
            ),
        ]
    )


def upload_help(currency: str, max_mb: int, max_rows: int):
    return dcc.Markdown(UPLOAD_HELP.format(cur=currency.lower(), max_mb=max_mb, max_rows=max_rows), className="small")
