"""The app shell: a navbar built from the page registry, with the site's name and local time."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids


def navbar(pages: list[dict], site_name: str, local_time: str, role: str | None = None) -> dbc.Navbar:
    """A navbar with one link per page in `pages` (dicts from dash.page_registry); the admin area's
    link for admins, and the change-password link for anyone logged in (`role` None: nobody is)."""
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], id=ids.nav_link_id(page["name"]), active="exact"))
        for page in pages
    ]
    if role == "admin":
        links.append(dbc.NavItem(dbc.NavLink("Admin", href="/admin", id=ids.nav_link_id("Admin"), active="partial")))
    account = [dbc.NavLink("Password", href="/account/password", id=ids.nav_link_id("Password"), className="small")] if role else []
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(["V2G Console · ", html.Span(site_name, id=ids.SHELL_SITE_NAME)], className="fw-semibold"),
                dbc.Nav(links, navbar=True, className="me-auto"),
                dbc.Nav(account, navbar=True),
                html.Span(local_time, id=ids.SHELL_LOCAL_TIME, className="navbar-text text-light", title="Site local time"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
        id=ids.SHELL_NAVBAR,
    )


def shell(pages: list[dict], site_name: str, local_time: str, page_container, role: str | None = None) -> html.Div:
    """The whole page: navbar, the current page, and the stores every page shares."""
    return html.Div(
        [
            dcc.Location(id=ids.SHELL_URL),
            dcc.Interval(id=ids.SHELL_CLOCK_TICK, interval=30_000),
            navbar(pages, site_name, local_time, role),
            dbc.Container(page_container, fluid=True, id=ids.SHELL_CONTAINER),
        ]
    )
