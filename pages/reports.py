"""Reports: pick a report and a period, preview the first rows, download the CSV (core.reports)."""

from __future__ import annotations

from datetime import date, timedelta

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from components import ids
from components.reports import report_preview
from core import reports, telemetry

dash.register_page(__name__, path="/reports", name="Reports", order=80)

PREVIEW_ROWS = 20


def layout(**_query):
    site = telemetry.site_info()
    today = site.local_time.date()
    return html.Div(
        [
            html.H2("Reports"),
            html.P(
                f"Dates are local dates in {site.timezone}, both included; timestamps in the CSV carry their UTC "
                f"offset, money is in {site.currency}, units are in the column names. The same report from the "
                "command line: python -m core.reports NAME --from DATE --to DATE -o FILE.csv",
                className="text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Report", html_for=ids.REPORTS_NAME),
                            dbc.Select(
                                id=ids.REPORTS_NAME,
                                options=[
                                    {"label": label, "value": name} for name, (label, _) in reports.REPORTS.items()
                                ],
                                value="site-energy",
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Period", html_for=ids.REPORTS_DATES),
                            html.Div(
                                dcc.DatePickerRange(
                                    id=ids.REPORTS_DATES,
                                    start_date=(today - timedelta(days=6)).isoformat(),
                                    end_date=today.isoformat(),
                                    display_format="YYYY-MM-DD",
                                    first_day_of_week=1,
                                )
                            ),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        dbc.Button("Download CSV", id=ids.REPORTS_DOWNLOAD_BUTTON, color="primary"),
                        md=3,
                        className="d-flex align-items-end",
                    ),
                ],
                className="mb-3",
            ),
            html.Div(id=ids.REPORTS_MESSAGE),
            dcc.Loading(html.Div(id=f"{ids.REPORTS_PREVIEW}-wrap")),
            dcc.Download(id=ids.REPORTS_DOWNLOAD),
        ]
    )


def _build(name, start_date, end_date) -> reports.Report:
    if not start_date or not end_date:
        raise reports.ReportError("pick a start and an end date")
    return reports.build_report(
        name, date_from=date.fromisoformat(start_date[:10]), date_to=date.fromisoformat(end_date[:10])
    )


@callback(
    Output(f"{ids.REPORTS_PREVIEW}-wrap", "children"),
    Output(ids.REPORTS_MESSAGE, "children"),
    Input(ids.REPORTS_NAME, "value"),
    Input(ids.REPORTS_DATES, "start_date"),
    Input(ids.REPORTS_DATES, "end_date"),
)
def preview(name, start_date, end_date):
    try:
        report = _build(name, start_date, end_date)
    except (reports.ReportError, reports.NoSiteError) as exc:
        return html.Div(id=ids.REPORTS_PREVIEW), dbc.Alert(str(exc), color="warning")
    head = report.frame.head(PREVIEW_ROWS).astype(object).where(pd.notna(report.frame.head(PREVIEW_ROWS)), None)
    return report_preview(
        list(report.frame.columns), head.to_dict("records"), len(report.frame), ids.REPORTS_PREVIEW
    ), ""


@callback(
    Output(ids.REPORTS_DOWNLOAD, "data"),
    Output(ids.REPORTS_MESSAGE, "children", allow_duplicate=True),
    Input(ids.REPORTS_DOWNLOAD_BUTTON, "n_clicks"),
    State(ids.REPORTS_NAME, "value"),
    State(ids.REPORTS_DATES, "start_date"),
    State(ids.REPORTS_DATES, "end_date"),
    prevent_initial_call=True,
)
def download(_clicks, name, start_date, end_date):
    try:
        report = _build(name, start_date, end_date)
    except (reports.ReportError, reports.NoSiteError) as exc:
        return dash.no_update, dbc.Alert(str(exc), color="warning")
    return dcc.send_string(report.to_csv(), report.filename, type="text/csv"), ""
