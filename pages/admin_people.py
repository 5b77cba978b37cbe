"""Admin · People: accounts (add, role, password reset, disable) and the wall display's link tokens (admins only)."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, html
from dash.exceptions import PreventUpdate

from components import admin as ui
from core import auth
from core.admin import web
from core.admin.people import ROLES

dash.register_page(__name__, path="/admin/people", name="Admin · People", nav=False)

ADD, ACCOUNT, TOKEN, REVOKE = "user", "user-account", "wall-token", "wall-token-revoke"
USER_COLUMNS = [("username", "User"), ("role", "Role"), ("created_at", "Created (UTC)"), ("disabled", "Disabled")]
TOKEN_COLUMNS = [
    ("id", "#"),
    ("label", "Label"),
    ("created_by", "Created by"),
    ("created_at", "Created (UTC)"),
    ("revoked_at", "Revoked (UTC)"),
]
ROLE_OPTIONS = [{"label": r, "value": r} for r in ROLES]


def _user_options(view: dict) -> list[dict]:
    return [{"label": u["username"], "value": u["username"]} for u in view["users"]]


def _token_options(view: dict) -> list[dict]:
    return [
        {"label": f"#{t['id']} {t['label']}", "value": str(t["id"])}
        for t in view["wall_tokens"]
        if t["revoked_at"] is None
    ]


def layout(**_query):
    role = auth.current_role()
    if role != "admin":
        return ui.page("People", "/admin/people", [ui.refused(role)])
    view = web.admin_view()
    users, tokens = _user_options(view), _token_options(view)
    return ui.page(
        "People",
        "/admin/people",
        [
            ui.table("users", view["users"], USER_COLUMNS),
            ui.form_card(
                ADD,
                "Add an account",
                [
                    ui.Field("username", "User name"),
                    ui.Field("role", "Role", "select", "viewer", ROLE_OPTIONS),
                    ui.Field(
                        "password", "Password", "password", help="At least 10 characters; they change it themselves."
                    ),
                ],
                [("save", "Add")],
            ),
            ui.form_card(
                ACCOUNT,
                "Change an account",
                [
                    ui.Field("username", "Account", "select", users[0]["value"] if users else None, users),
                    ui.Field("role", "Role", "select", "viewer", ROLE_OPTIONS),
                    ui.Field("password", "New password", "password", help="For a reset; their sessions end."),
                ],
                [("role", "Set role"), ("reset", "Reset password"), ("disable", "Disable"), ("enable", "Enable")],
                confirm={"disable": "Disable this account? Its sessions end and it can no longer log in."},
            ),
            html.H4("Wall display tokens", className="mt-4"),
            ui.table("tokens", view["wall_tokens"], TOKEN_COLUMNS, "No wall token yet."),
            ui.form_card(
                TOKEN,
                "New wall display link",
                [ui.Field("label", "Where it hangs", placeholder="depot screen")],
                [("save", "Create")],
                help="A read-only link to /wall; shown once.",
            ),
            ui.form_card(
                REVOKE,
                "Revoke a wall token",
                [ui.Field("token_id", "Token", "select", None, tokens)],
                [("revoke", "Revoke")],
            ),
        ],
    )


def _tables():
    view = web.admin_view()
    return ui.table_body(view["users"], USER_COLUMNS), ui.table_body(
        view["wall_tokens"], TOKEN_COLUMNS, "No wall token yet."
    )


@callback(
    Output(ui.status_id(ADD), "children"),
    Output(ui.table_id("users"), "children"),
    Output(ui.table_id("tokens"), "children"),
    Input(ui.submit_id(ADD), "n_clicks"),
    State(ui.field_id(ADD, ALL), "value"),
    prevent_initial_call=True,
)
def add(_clicks, _values):
    actor = auth.require_role("admin")
    v = ui.values_of(ctx.states_list[0])
    status = ui.attempt(
        lambda: web.add_user(actor=actor, username=v.get("username"), password=v.get("password"), role=v.get("role")),
        lambda _: ui.saved_alert(f"Added {v.get('username')} ({v.get('role')})."),
    )
    return status, *_tables()


@callback(
    Output(ui.status_id(ACCOUNT), "children"),
    Output(ui.table_id("users"), "children", allow_duplicate=True),
    Output(ui.table_id("tokens"), "children", allow_duplicate=True),
    Input(ui.submit_id(ACCOUNT, "role"), "n_clicks"),
    Input(ui.submit_id(ACCOUNT, "reset"), "n_clicks"),
    Input(ui.confirm_id(ACCOUNT, "disable"), "submit_n_clicks"),
    Input(ui.submit_id(ACCOUNT, "enable"), "n_clicks"),
    State(ui.field_id(ACCOUNT, ALL), "value"),
    prevent_initial_call=True,
)
def change(_role, _reset, _disable, _enable, _values):
    actor = auth.require_role("admin")
    if not ctx.triggered_id:
        raise PreventUpdate
    v = ui.values_of(ctx.states_list[0])
    name, action = v.get("username"), ctx.triggered_id["action"]
    if action == "role":
        status = ui.attempt(
            lambda: web.set_role(actor=actor, username=name, role=v.get("role")),
            lambda _: ui.saved_alert(f"{name} is now {v.get('role')}."),
        )
    elif action == "reset":
        status = ui.attempt(
            lambda: web.reset_password(actor=actor, username=name, password=v.get("password")),
            lambda ended: ui.saved_alert(f"Password of {name} reset; {ended} session(s) ended."),
        )
    else:
        disabled = action == "disable"
        status = ui.attempt(
            lambda: web.set_disabled(actor=actor, username=name, disabled=disabled),
            lambda _: ui.saved_alert(f"{name} {'disabled' if disabled else 'enabled'}."),
        )
    return status, *_tables()


@callback(
    Output(ui.status_id(TOKEN), "children"),
    Output(ui.table_id("users"), "children", allow_duplicate=True),
    Output(ui.table_id("tokens"), "children", allow_duplicate=True),
    Input(ui.submit_id(TOKEN), "n_clicks"),
    State(ui.field_id(TOKEN, "label"), "value"),
    prevent_initial_call=True,
)
def create_token(_clicks, label):
    actor = auth.require_role("admin")
    status = ui.attempt(
        lambda: web.create_wall_token(actor=actor, label=label),
        lambda made: ui.secret_alert(
            f"Wall token #{made[0]}: open this link on the display, shown this once:",
            f"/wall?token={made[1]}",
            "Revoke it here when the display goes.",
        ),
    )
    return status, *_tables()


@callback(
    Output(ui.status_id(REVOKE), "children"),
    Output(ui.table_id("users"), "children", allow_duplicate=True),
    Output(ui.table_id("tokens"), "children", allow_duplicate=True),
    Input(ui.submit_id(REVOKE, "revoke"), "n_clicks"),
    State(ui.field_id(REVOKE, "token_id"), "value"),
    prevent_initial_call=True,
)
def revoke(_clicks, token_id):
    actor = auth.require_role("admin")
    status = ui.attempt(
        lambda: web.revoke_wall_token(actor=actor, token_id=int(token_id or 0)),
        lambda _: ui.saved_alert(f"Wall token #{token_id} revoked."),
    )
    return status, *_tables()
