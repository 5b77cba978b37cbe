"""Settings forms, the plan preview and the "in force" line, as plain functions of data.

Every form field is a pattern-matching id {"type": FIELD, "form": form, "field": name}, next to its
FormFeedback {"type": FEEDBACK, ...}, so one preview and one save callback serve every form
(pages/settings.py). The field names are the keys core.controls.ValidationError uses.

The ids below belong in components/ids.py; they live here until that shared file is merged
(several engineers edit it at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import format as fmt
from components import ids

# ids (prefix "settings-")
SETTINGS_TITLE = ids.SETTINGS_TITLE
SETTINGS_ROLE_NOTE = ids.SETTINGS_ROLE_NOTE
SETTINGS_TICK = ids.SETTINGS_TICK
FIELD = ids.SETTINGS_FIELD
FIELD_LIST = ids.SETTINGS_FIELD_LIST
FEEDBACK = ids.SETTINGS_FEEDBACK
PREVIEW_BUTTON = ids.SETTINGS_PREVIEW_BUTTON
SAVE_BUTTON = ids.SETTINGS_SAVE_BUTTON
PREVIEW = ids.SETTINGS_PREVIEW
STATUS = ids.SETTINGS_STATUS
CONFIRM = ids.SETTINGS_CONFIRM
LAST_AUDIT = ids.SETTINGS_LAST_AUDIT
IN_FORCE = ids.SETTINGS_IN_FORCE

WEEKDAY_OPTIONS = [
    {"label": d, "value": str(i)} for i, d in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
]
FLEET = "__fleet__"  # the floor form's "fleet default" choice (pages/settings.py passes it on as "no vehicle")
SITE_WIDE = "__site__"  # the window form's "all vehicles" choice (likewise)
TIME_PATTERN = r"([01]\d|2[0-3]):[0-5]\d"  # the browser's hint only; the rule is core.controls.validation.time_of_day


def field_id(form: str, name: str) -> dict:
    return {"type": FIELD, "form": form, "field": name}


def feedback_id(form: str, name: str) -> dict:
    return {"type": FEEDBACK, "form": form, "field": name}


@dataclass
class Field:
    name: str
    label: str
    kind: str = "number"  # number, text, time, date, select, weekdays
    value: object = None
    options: list = field(default_factory=list)
    unit: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    help: str = ""


@dataclass
class Form:
    key: str
    title: str
    fields: list[Field]
    preview: bool = True  # floors, targets, departures and windows show the new plan before saving
    help: str = ""


def _control(form: str, f: Field):
    fid = field_id(form, f.name)
    if f.kind == "select":
        return dbc.Select(id=fid, options=f.options, value=f.value)
    if f.kind == "weekdays":
        return dbc.Checklist(
            id={**fid, "type": FIELD_LIST}, options=WEEKDAY_OPTIONS, value=list(f.value or []), inline=True
        )
    if f.kind == "number":
        control = dbc.Input(id=fid, type="number", value=f.value, min=f.min, max=f.max, step=f.step or "any")
    elif f.kind == "time":
        # Plain text, not type="time": browsers show that with AM/PM in some locales. The site's clock is
        # 24-hour; the server checks HH:MM (core.controls.validation.time_of_day) whatever is typed.
        control = dbc.Input(
            id=fid,
            type="text",
            value=f.value,
            placeholder="HH:MM",
            pattern=TIME_PATTERN,
            maxLength=5,
            autoComplete="off",
            className="time-24h",
        )
    elif f.kind == "date":
        control = dbc.Input(id=fid, type="date", value=f.value)
    else:
        control = dbc.Input(id=fid, type="text", value=f.value)
    if f.unit:
        return dbc.InputGroup([control, dbc.InputGroupText(f.unit)])
    return control


def form_card(form: Form, *, can_edit: bool) -> dbc.Card:
    """One settings form: labelled fields with their feedback, Preview / Save buttons, the preview and status."""
    rows = []
    for f in form.fields:
        rows.append(
            dbc.Col(
                [
                    dbc.Label(f.label, html_for=str(f.name)),
                    _control(form.key, f),
                    # d-block: shown whenever it has a message, also after input groups and checklists
                    # (Bootstrap would otherwise show it only right after an .is-invalid sibling).
                    dbc.FormFeedback(id=feedback_id(form.key, f.name), type="invalid", className="d-block"),
                    dbc.FormText(f.help) if f.help else None,
                ],
                md=max(2, 12 // max(1, min(4, len(form.fields)))),
                className="mb-2",
            )
        )
    buttons = [
        dbc.Button(
            "Preview",
            id={"type": PREVIEW_BUTTON, "form": form.key},
            color="secondary",
            outline=True,
            className="me-2",
            disabled=not can_edit,
            style=None if form.preview else {"display": "none"},
        ),
        dbc.Button("Save", id={"type": SAVE_BUTTON, "form": form.key}, color="primary", disabled=not can_edit),
    ]
    return dbc.Card(
        [
            dbc.CardHeader(form.title),
            dbc.CardBody(
                [
                    html.P(form.help, className="text-muted small") if form.help else None,
                    dbc.Row(rows),
                    html.Div(buttons, className="mt-2"),
                    dcc.Loading(html.Div(id={"type": PREVIEW, "form": form.key}, className="mt-3")),
                    html.Div(id={"type": STATUS, "form": form.key}, className="mt-2"),
                    html.Div(id={"type": IN_FORCE, "form": form.key}, className="small text-muted"),
                    dcc.Store(id={"type": LAST_AUDIT, "form": form.key}),
                    dcc.ConfirmDialog(id={"type": CONFIRM, "form": form.key}, message=""),
                ]
            ),
        ],
        className="mb-3",
        id=f"settings-form-{form.key}",
    )


def feedback(fields: list[str], errors: dict[str, str]) -> tuple[list[bool], list[str]]:
    """(invalid flags, messages) for the fields of a form, in order."""
    return [name in errors for name in fields], [errors.get(name, "") for name in fields]


def soc_figure(
    start_iso: str,
    step_minutes: int,
    current: list,
    proposed: list,
    floor: float | None,
    target: float | None,
    timezone: str,
) -> go.Figure:
    """The vehicle's SoC over the horizon in the current plan and in the plan after the change."""
    import pandas as pd

    times = pd.date_range(start=pd.Timestamp(start_iso), periods=len(proposed), freq=f"{step_minutes}min").tz_convert(
        timezone
    )
    fig = go.Figure()
    fig.add_scatter(
        x=times,
        y=[None if v is None else v * 100 for v in current],
        name="current plan",
        line={"dash": "dot", "color": "#888"},
    )
    fig.add_scatter(
        x=times,
        y=[None if v is None else v * 100 for v in proposed],
        name="after the change",
        line={"color": "#0d6efd"},
    )
    if floor is not None:
        fig.add_hline(y=floor * 100, line={"color": "#dc3545", "dash": "dash"}, annotation_text="floor")
    if target is not None:
        fig.add_hline(y=target * 100, line={"color": "#198754", "dash": "dash"}, annotation_text="target")
    fig.update_layout(
        height=260,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        yaxis={"title": "SoC %", "range": [0, 100]},
        legend={"orientation": "h"},
        uirevision="settings-preview",
    )
    return fig


def preview_panel(data: dict) -> html.Div:
    """The plan before and after a change: cost over the horizon, the vehicle's SoC, vehicles at risk.

    `data`: {"cost_now", "cost_new", "currency", "vehicle" (name or None), "curve" (dict or None),
    "newly_at_risk" [names], "still_at_risk" [names], "fallback" bool}.
    """
    delta = data["cost_new"] - data["cost_now"]
    items = [
        html.Div(
            [
                html.Span("Cost over the next 24 h: "),
                html.Strong(fmt.money(data["cost_now"], data["currency"])),
                html.Span(" → "),
                html.Strong(fmt.money(data["cost_new"], data["currency"]), id="settings-preview-cost"),
                html.Span(
                    f" ({'+' if delta >= 0 else ''}{fmt.money(delta, data['currency'])})",
                    className="text-danger" if delta > 0.005 else "text-success",
                ),
            ]
        )
    ]
    if data.get("fallback"):
        items.append(
            dbc.Alert("The planner fell back to the safe plan for this preview.", color="warning", className="py-1")
        )
    if data["newly_at_risk"]:
        items.append(
            dbc.Alert(
                ["Put at risk (would leave below target): ", html.Strong(", ".join(data["newly_at_risk"]))],
                color="danger",
                className="py-1 mt-2",
                id="settings-preview-risk",
            )
        )
    else:
        items.append(
            html.Div("No vehicle is put at risk.", className="text-success small mt-1", id="settings-preview-risk")
        )
    if data["still_at_risk"]:
        items.append(html.Div("Already at risk: " + ", ".join(data["still_at_risk"]), className="small text-muted"))
    curve = data.get("curve")
    if curve:
        items.append(html.Div(f"SoC of {data['vehicle']}", className="small fw-semibold mt-2"))
        items.append(dcc.Graph(figure=soc_figure(**curve), config={"displayModeBar": False}))
    elif data.get("vehicle"):
        items.append(
            html.Div(f"{data['vehicle']} is not plugged in: no SoC curve to show.", className="small text-muted")
        )
    items.append(html.Div("Preview only: nothing is saved until you press Save.", className="small text-muted mt-1"))
    return html.Div(items, className="border rounded p-2 bg-light", id="settings-preview-panel")


def status_alert(message: str, color: str = "success") -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-2 mb-0", id="settings-status-alert")


def in_force_text(run: dict | None, saved_at: str | None) -> str:
    """ "New plan in force since ..." once a dispatch run finished after the change; else "waiting"."""
    if saved_at is None:
        return ""
    if run is None:
        return "Saved; the new plan takes effect with the next dispatch run (waiting…)."
    return f"New plan in force since {run['finished_at']} (dispatch run #{run['id']}, {run['status']})."
