"""Admin: the way into setting up sites, chargers, vehicles, people (and meters); admins only."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from components import admin as ui
from core import auth
from core.admin import web

dash.register_page(__name__, path="/admin", name="Admin", nav=False)


def layout(**_query):
    role = auth.current_role()
    if role != "admin":
        return ui.page("Admin", "/admin", [ui.refused(role)])
    view = web.admin_view()
    counts = [
        ("Sites", len(view["sites"]), "/admin/sites"),
        ("Chargers", len(view["chargers"]), "/admin/chargers"),
        ("Vehicles", len(view["vehicles"]), "/admin/vehicles"),
        ("Accounts", len(view["users"]), "/admin/people"),
    ]
    cards = [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(name, className="text-muted small"),
                        html.Div(str(n), className="fs-3"),
                        html.A("Manage", href=href),
                    ]
                )
            ),
            xs=6,
            lg=3,
            className="mb-2",
        )
        for name, n, href in counts
    ]
    steps = web.setup_steps()
    return ui.page(
        "Admin",
        "/admin",
        [
            ui.setup_first(steps, is_admin=True) if not all(s["done"] for s in steps[:3]) else None,
            dbc.Row(cards),
            html.P(
                [
                    f"{len(view['unknown'])} plug-in(s) with an unknown vehicle. ",
                    html.A("Assign them", href="/admin/vehicles"),
                ]
            )
            if view["unknown"]
            else None,
            html.P(
                "Every change here is audited (Audit page) and checked field by field: nothing is saved while a field is wrong.",
                className="text-muted small",
            ),
        ],
    )
