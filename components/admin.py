"""The admin pages' pieces, as plain functions of data: the admin sub-navigation, forms whose fields
are pattern-matching ids {"type": FIELD, "form": form, "field": name} (the names the admin services
use, so an error names the field the admin sees), tables, the "shown once" secret and the
"set up first" steps of a fresh install.

The ids below belong in components/ids.py; they live here while several engineers edit that file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import format as fmt
from core.errors import PermissionDenied, ValidationError

FIELD = "admin-field"
SUBMIT = "admin-submit"
STATUS = "admin-status"
TABLE = "admin-table"
ADMIN_TITLE = "admin-title"
ASSIGN_SELECT = "admin-assign-select"
ASSIGN_BUTTON = "admin-assign-button"
UPLOAD = "admin-vehicle-upload"
UPLOAD_NAME = "admin-vehicle-upload-name"
SETUP_FIRST = "setup-first"

SECTIONS = (
    ("Sites", "/admin/sites"),
    ("Chargers", "/admin/chargers"),
    ("Vehicles", "/admin/vehicles"),
    ("People", "/admin/people"),
    ("Meters", "/admin/meters"),
)


def field_id(form: str, name: str) -> dict:
    return {"type": FIELD, "form": form, "field": name}


def submit_id(form: str, action: str = "save") -> dict:
    return {"type": SUBMIT, "form": form, "action": action}


def confirm_id(form: str, action: str) -> dict:
    """The dialog around a button that asks first: its `submit_n_clicks` is the callback's Input."""
    return {"type": SUBMIT + "-confirm", "form": form, "action": action}


def status_id(form: str) -> dict:
    return {"type": STATUS, "form": form}


def table_id(name: str) -> dict:
    return {"type": TABLE, "name": name}


@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"  # text, number, password, select, switch
    value: object = None
    options: list = field(default_factory=list)
    unit: str = ""
    help: str = ""
    placeholder: str = ""


def admin_nav(active: str) -> html.Div:
    """The admin area's own navigation, above every admin page."""
    links = [dbc.NavItem(dbc.NavLink(name, href=href, active=href == active)) for name, href in SECTIONS]
    return html.Div(dbc.Nav(links, pills=True), className="mb-3")


def page(title: str, active: str, children: list) -> html.Div:
    return html.Div([html.H2(title, id=ADMIN_TITLE), admin_nav(active), *children])


def refused(role: str | None) -> dbc.Alert:
    """What a viewer or operator sees instead of an admin page (the server refuses every admin callback too)."""
    return dbc.Alert(
        f"Admins only: your role is {role or 'none'}. Ask an admin to make this change.",
        color="warning",
        id="admin-refused",
    )


def _control(form: str, f: Field):
    fid = field_id(form, f.name)
    if f.kind == "select":
        return dbc.Select(id=fid, options=f.options, value=f.value)
    if f.kind == "textarea":
        return dbc.Textarea(id=fid, value=f.value, placeholder=f.placeholder or None, rows=3)
    if f.kind == "switch":
        return dbc.Switch(id=fid, value=bool(f.value), label=f.help or None)
    control = dbc.Input(
        id=fid,
        type={"number": "number", "password": "password"}.get(f.kind, "text"),
        value=f.value,
        placeholder=f.placeholder or None,
        step="any" if f.kind == "number" else None,
        autoComplete="new-password" if f.kind == "password" else "off",
    )
    if f.unit:
        return dbc.InputGroup([control, dbc.InputGroupText(f.unit)])
    return control


def form_card(
    form: str,
    title: str,
    fields: list[Field],
    actions: list[tuple[str, str]] | None = None,
    help: str = "",
    confirm: dict[str, str] | None = None,
) -> dbc.Card:
    """A form: its fields, one button per (action, label) and a status line under them.

    `confirm`: {action: question} for buttons that ask first (retire)."""
    actions = actions or [("save", "Save")]
    confirm = confirm or {}
    cols = [
        dbc.Col(
            [
                dbc.Label(f.label, html_for=f"{form}-{f.name}") if f.kind != "switch" else None,
                _control(form, f),
                dbc.FormText(f.help) if f.help and f.kind != "switch" else None,
            ],
            md=6,
            lg=4,
            className="mb-2",
        )
        for f in fields
    ]
    buttons = []
    for i, (action, label) in enumerate(actions):
        button = dbc.Button(
            label,
            id=submit_id(form, action),
            color="primary" if i == 0 else "secondary",
            outline=i > 0,
            className="me-2",
        )
        if action in confirm:
            button = dcc.ConfirmDialogProvider(button, id=confirm_id(form, action), message=confirm[action])
        buttons.append(html.Span(button, className="d-inline-block"))
    return dbc.Card(
        [
            dbc.CardHeader(title),
            dbc.CardBody(
                [
                    html.P(help, className="text-muted small") if help else None,
                    dbc.Row(cols),
                    html.Div(buttons, className="mt-2"),
                    html.Div(id=status_id(form), className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
        id=f"admin-form-{form}",
    )


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def table_body(rows: list[dict], columns: list[tuple[str, str]], empty: str = "None yet."):
    """A plain table of `rows` (dicts) with these (key, heading) columns; keys ending in "_soc" are
    SoC fractions, shown as %."""
    if not rows:
        return html.P(empty, className="text-muted")
    head = html.Thead(html.Tr([html.Th(h) for _, h in columns]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(fmt.soc(r.get(k)) if k.endswith("_soc") and r.get(k) is not None else _cell(r.get(k)))
                    for k, _ in columns
                ]
            )
            for r in rows
        ]
    )
    return dbc.Table([head, body], size="sm", striped=True, hover=True, responsive=True, className="small text-nowrap")


def table(name: str, rows: list[dict], columns: list[tuple[str, str]], empty: str = "None yet.") -> html.Div:
    """`table_body` in a container a callback can refresh (id table_id(name))."""
    return html.Div(table_body(rows, columns, empty), id=table_id(name))


def values_of(states: list[dict]) -> dict:
    """{field: value} from a callback's State list of FIELD ids (dash.ctx.states_list[i])."""
    return {item["id"]["field"]: item.get("value") for item in states}


def attempt(action: Callable[[], object], ok: Callable[[object], object], labels: dict[str, str] | None = None):
    """Run a service call: its success message, or every refused field (core.errors) as an alert."""
    try:
        result = action()
    except ValidationError as exc:
        return errors_alert(exc.errors, labels)
    except PermissionDenied as exc:
        return errors_alert({"permission": str(exc)})
    return ok(result)


def errors_alert(errors: dict[str, str], labels: dict[str, str] | None = None) -> dbc.Alert:
    """Every refused field (and row) with its message; nothing was saved."""
    labels = labels or {}
    items = [html.Li([html.Strong(labels.get(k, k)), f": {m}"]) for k, m in errors.items()]
    return dbc.Alert(
        [html.Div("Not saved — nothing was changed:"), html.Ul(items, className="mb-0")],
        color="danger",
        className="admin-errors",
    )


def saved_alert(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="success", className="admin-saved")


def secret_alert(text: str, secret: str, note: str) -> dbc.Alert:
    """A password or token shown this once (it is stored hashed and cannot be shown again)."""
    return dbc.Alert(
        [
            html.Div(text),
            html.Code(secret, className="fs-5 admin-secret user-select-all"),
            html.Div(note, className="small mt-1"),
        ],
        color="warning",
        className="admin-secret-alert",
    )


def unknown_vehicles(unknown: list[dict], vehicle_options: list[dict]) -> html.Div:
    """Open plug-ins no vehicle was recognised for, each with "this is ..." to assign one."""
    if not unknown:
        return html.Div(html.P("Every plugged-in vehicle is recognised.", className="text-muted"), id="admin-unknown")
    rows = []
    for u in unknown:
        sid = u["session_id"]
        rows.append(
            dbc.ListGroupItem(
                dbc.Row(
                    [
                        dbc.Col(html.Span(u["label"], className="fw-semibold"), md=5),
                        dbc.Col(
                            dbc.Select(
                                id={"type": ASSIGN_SELECT, "session": sid},
                                options=vehicle_options,
                                placeholder="Which vehicle?",
                            ),
                            md=4,
                        ),
                        dbc.Col(dbc.Button("This is it", id={"type": ASSIGN_BUTTON, "session": sid}, size="sm"), md=3),
                    ],
                    align="center",
                )
            )
        )
    return html.Div(dbc.ListGroup(rows), id="admin-unknown")


def setup_first(steps: list[dict], is_admin: bool) -> dbc.Card:
    """A fresh install's first steps, in order, with links (the admin pages do the work)."""
    items = []
    for s in steps:
        mark = "✔ " if s["done"] else ""
        items.append(
            html.Li(
                [mark, html.A(s["step"], href=s["href"]) if is_admin else s["step"]],
                className="text-muted" if s["done"] else "",
            )
        )
    arrows = " → ".join(s["short"] for s in steps)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H4("Set up first", className="card-title"),
                html.P(f"This console has no site yet. Set up first: {arrows}."),
                html.Ol(items),
                None if is_admin else html.P("An admin does this (Admin menu).", className="small text-muted"),
            ]
        ),
        id=SETUP_FIRST,
        className="mb-3",
    )
