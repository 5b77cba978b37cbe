"""The audit log page's pieces, as plain functions of data.

The ids belong in components/ids.py; they live here until that shared file is merged.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids

AUDIT_TITLE = ids.AUDIT_TITLE
AUDIT_ACTOR = ids.AUDIT_ACTOR
AUDIT_ACTION = ids.AUDIT_ACTION
AUDIT_DATES = ids.AUDIT_DATES
AUDIT_TABLE = ids.AUDIT_TABLE
AUDIT_COUNT = ids.AUDIT_COUNT
AUDIT_EXPORT = ids.AUDIT_EXPORT
AUDIT_DOWNLOAD = ids.AUDIT_DOWNLOAD

RAW_FIELDS = (
    ("action", "action"),
    ("target", "target"),
    ("before", "before"),
    ("after", "after"),
    ("dispatch_run_id", "dispatch run"),
)


def audit_filters(actors: list[str], actions: list[str]) -> dbc.Row:
    """Actor, action and date-range filters, and the CSV export button."""
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Who", html_for=AUDIT_ACTOR),
                    dcc.Dropdown(id=AUDIT_ACTOR, options=actors, placeholder="anyone", clearable=True),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label("Action", html_for=AUDIT_ACTION),
                    dcc.Dropdown(id=AUDIT_ACTION, options=actions, placeholder="any action", clearable=True),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label("Dates (site time)", html_for=AUDIT_DATES),
                    html.Div(dcc.DatePickerRange(id=AUDIT_DATES, clearable=True, display_format="YYYY-MM-DD")),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("\u00a0"),
                    html.Div(dbc.Button("Export CSV", id=AUDIT_EXPORT, color="secondary", outline=True)),
                ],
                md=2,
            ),
            dcc.Download(id=AUDIT_DOWNLOAD),
        ],
        className="mb-3 g-2",
    )


def audit_row(row: dict) -> html.Li:
    """One change: when (site time, 24-hour) and what, as a sentence; the raw row one click away."""
    raw = "\n".join(f"{label}: {'—' if row.get(key) is None else row[key]}" for key, label in RAW_FIELDS)
    return html.Li(
        [
            html.Div(
                [
                    html.Time(row["when"], dateTime=row["time"], className="audit-when text-muted small"),
                    html.Span(row["sentence"], className="audit-sentence"),
                ],
                className="audit-line",
            ),
            html.Details(
                [html.Summary("raw change", className="small text-muted"), html.Pre(raw, className="audit-raw small")]
            ),
        ],
        className="list-group-item audit-row",
        id=f"audit-row-{row['id']}",
    )


def audit_table(rows: list[dict], total_shown_limit: int | None = None) -> html.Div:
    """The audit rows as sentences, newest first."""
    if not rows:
        return html.Div("No changes match these filters.", className="text-muted", id=f"{AUDIT_TABLE}-empty")
    note = None
    if total_shown_limit and len(rows) >= total_shown_limit:
        note = html.Div(
            f"Showing the newest {total_shown_limit}; narrow the filters or export CSV for all.",
            className="small text-muted",
        )
    return html.Div([html.Ul([audit_row(row) for row in rows], className="list-group audit-list mb-2"), note])
