"""Your account: change your own password (the old one is asked); any logged-in user."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html

from components import admin as ui
from core import auth
from core.admin import web

dash.register_page(__name__, path="/account/password", name="Change password", nav=False)

FORM = "own-password"
LABELS = {"old_password": "Current password", "new_password": "New password", "again": "New password again"}


def layout(**_query):
    username = auth.current_username()
    if username is None:
        return dbc.Alert("Log in first.", color="warning")
    return html.Div(
        [
            html.H2("Change your password", id=ui.ADMIN_TITLE),
            html.P(
                f"Logged in as {username} ({auth.current_role()}). Your other sessions end when you change it.",
                className="text-muted",
            ),
            ui.form_card(
                FORM,
                "New password",
                [
                    ui.Field("old_password", LABELS["old_password"], "password"),
                    ui.Field("new_password", LABELS["new_password"], "password", help="At least 10 characters."),
                    ui.Field("again", LABELS["again"], "password"),
                ],
                [("save", "Change password")],
            ),
        ]
    )


@callback(
    Output(ui.status_id(FORM), "children"),
    Input(ui.submit_id(FORM), "n_clicks"),
    State(ui.field_id(FORM, ALL), "value"),
    prevent_initial_call=True,
)
def change(_clicks, _values):
    username = auth.require_role("viewer")
    v = ui.values_of(ctx.states_list[0])
    if (v.get("new_password") or "") != (v.get("again") or ""):
        return ui.errors_alert({"again": "differs from the new password"}, LABELS)
    return ui.attempt(
        lambda: web.change_own_password(
            username=username, old_password=v.get("old_password"), new_password=v.get("new_password")
        ),
        lambda ended: ui.saved_alert(f"Password changed; {ended} other session(s) ended."),
        LABELS,
    )
