"""Audit log: who changed what, when, from what to what, each change as a sentence in the site's
time zone with the raw row a click away; filters and a CSV export."""

from __future__ import annotations

from datetime import date

import dash
from dash import Input, Output, State, callback, dcc, html

from components import audit as ui
from core import audit, auth, controls, sites

dash.register_page(__name__, path="/audit", name="Audit", order=90)

SHOWN = 500


def _timezone(session) -> str:
    """The site's time zone (audit dates are the site's dates); UTC before there is a site."""
    try:
        return sites.get_site(session=session, site_id=None).timezone
    except sites.NoSiteError:
        return "UTC"


def _day(value) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _rows(*, session, **filters) -> list[dict]:
    return audit.list_audit(session=session, timezone=_timezone(session), **filters)


def _page_data(*, session) -> tuple[list[str], list[str], list[dict], str]:
    actors, actions = audit.audit_filter_options(session=session)
    return actors, actions, _rows(session=session, limit=SHOWN), _timezone(session)


def layout(**_query):
    actors, actions, rows, timezone = controls.run_in_transaction(_page_data)
    return html.Div(
        [
            html.H2("Audit log", id=ui.AUDIT_TITLE),
            html.P(f"Every change, newest first; times on the site's clock ({timezone}).", className="text-muted"),
            ui.audit_filters(actors, actions),
            dcc.Loading(html.Div(ui.audit_table(rows, SHOWN), id=ui.AUDIT_TABLE)),
        ]
    )


@callback(
    Output(ui.AUDIT_TABLE, "children"),
    Input(ui.AUDIT_ACTOR, "value"),
    Input(ui.AUDIT_ACTION, "value"),
    Input(ui.AUDIT_DATES, "start_date"),
    Input(ui.AUDIT_DATES, "end_date"),
    prevent_initial_call=True,
)
def filter_audit(actor, action, start, end):
    auth.require_role("viewer")
    rows = controls.run_in_transaction(
        _rows, actor=actor, action=action, date_from=_day(start), date_to=_day(end), limit=SHOWN
    )
    return ui.audit_table(rows, SHOWN)


@callback(
    Output(ui.AUDIT_DOWNLOAD, "data"),
    Input(ui.AUDIT_EXPORT, "n_clicks"),
    State(ui.AUDIT_ACTOR, "value"),
    State(ui.AUDIT_ACTION, "value"),
    State(ui.AUDIT_DATES, "start_date"),
    State(ui.AUDIT_DATES, "end_date"),
    prevent_initial_call=True,
)
def export_audit(_clicks, actor, action, start, end):
    auth.require_role("viewer")
    rows = controls.run_in_transaction(
        _rows, actor=actor, action=action, date_from=_day(start), date_to=_day(end), limit=None
    )
    return dcc.send_string(audit.audit_csv(rows), "audit.csv", type="text/csv")
