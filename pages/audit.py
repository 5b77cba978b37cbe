"""Audit log: who changed what, when, from what to what; filters and a CSV export."""

from __future__ import annotations

from datetime import date

import dash
from dash import Input, Output, State, callback, dcc, html
from sqlmodel import select

from components import audit as ui
from core import auth, controls, models
from core.db import session_scope

dash.register_page(__name__, path="/audit", name="Audit", order=90)

SHOWN = 500


def _timezone(session) -> str:
    site = session.exec(select(models.Site).order_by(models.Site.id)).first()
    return site.timezone if site else "UTC"


def _day(value) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def layout(**_query):
    with session_scope() as session:
        actors, actions = controls.audit_filter_options(session)
        rows = controls.list_audit(session, timezone=_timezone(session), limit=SHOWN)
    return html.Div(
        [
            html.H2("Audit log", id=ui.AUDIT_TITLE),
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
    with session_scope() as session:
        rows = controls.list_audit(session, actor=actor, action=action, date_from=_day(start), date_to=_day(end),
                                   timezone=_timezone(session), limit=SHOWN)
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
    with session_scope() as session:
        rows = controls.list_audit(session, actor=actor, action=action, date_from=_day(start), date_to=_day(end),
                                   timezone=_timezone(session), limit=None)
    return dcc.send_string(controls.audit_csv(rows), "audit.csv", type="text/csv")
