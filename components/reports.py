"""The Reports page's pieces as plain functions of data."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def report_preview(columns: list[str], rows: list[dict], total: int, element_id: str):
    """The first rows of a report exactly as the CSV will hold them."""
    if total == 0:
        return html.P("No rows for this report and period.", id=element_id, className="text-muted")
    shown = len(rows)
    return html.Div(
        [
            html.Div(f"{total} rows; the first {shown} shown.", className="mb-1 small text-muted"),
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(c) for c in columns])),
                    html.Tbody([html.Tr([html.Td("" if r[c] is None else str(r[c])) for c in columns]) for r in rows]),
                ],
                size="sm",
                striped=True,
                bordered=True,
                responsive=True,
                className="small",
            ),
        ],
        id=element_id,
    )
