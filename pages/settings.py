"""Settings: SoC floors, targets, departures, V2G windows, site settings and overrides.

Every form goes through core.controls (core.controls.forms maps a form onto its setter: the same
rules as the command line). Floors, targets,
departures and windows can be previewed first: the plan is computed with the change applied in a
session that is rolled back, and the cost, the vehicle's SoC curve and any vehicle put at risk are
shown. One callback serves all forms (pattern-matching ids, see components/settings.py); it checks
the operator role on the server before it does anything. Viewers see the forms read-only.
"""

from __future__ import annotations

from datetime import timedelta

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from components import settings as ui
from core import auth, controls, planning
from core.clock import now
from core.rules.local_time import to_local

dash.register_page(__name__, path="/settings", name="Settings", order=80)

PREVIEW_TIME_LIMIT_S = 5.0


def _vehicle_options(snapshot: dict, *, fleet: str | None = None) -> list[dict]:
    options = [{"label": f"{v['name']} ({v['id']})", "value": v["id"]} for v in snapshot["vehicles"]]
    if fleet == "floor":
        options.insert(0, {"label": "Fleet default (vehicles without their own floor)", "value": ui.FLEET})
    if fleet == "window":
        options.insert(0, {"label": "All vehicles (site-wide)", "value": ui.SITE_WIDE})
    return options


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def forms(snapshot: dict) -> list[ui.Form]:
    """The settings forms, filled with the current settings."""
    site = snapshot["site"]
    first = snapshot["vehicles"][0] if snapshot["vehicles"] else {}
    vehicles = _vehicle_options(snapshot)
    today = to_local(now(), site["timezone"]).date()
    pct = {"unit": "%", "min": 0, "max": 100, "step": 1}
    return [
        ui.Form("floor", "SoC floor", [
            ui.Field("vehicle", "Vehicle", "select", first.get("id"), _vehicle_options(snapshot, fleet="floor")),
            ui.Field("floor", "Floor", value=_pct(first.get("soc_floor")), help=f"Empty: fleet default. Hard floor {_pct(site['hard_soc_floor'])} %.", **pct),
        ], help="A vehicle is never discharged below its floor."),
        ui.Form("target", "Target SoC at departure", [
            ui.Field("vehicle", "Vehicle", "select", first.get("id"), vehicles),
            ui.Field("target", "Target", value=_pct(first.get("target_soc")), **pct),
        ]),
        ui.Form("departure", "Recurring departure", [
            ui.Field("vehicle", "Vehicle", "select", first.get("id"), vehicles),
            ui.Field("weekdays", "Days", "weekdays", list("01234")),
            ui.Field("departure_time", "Leaves at", "time", "06:30"),
            ui.Field("target", "Target", value=90, **pct),
        ], help="Replaces the vehicle's usual departure on these days."),
        ui.Form("oneoff", "One-off departure", [
            ui.Field("vehicle", "Vehicle", "select", first.get("id"), vehicles),
            ui.Field("departs_date", "Date", "date", (today + timedelta(days=1)).isoformat()),
            ui.Field("departs_time", "Leaves at", "time", "06:00"),
            ui.Field("target", "Target (optional)", value=None, **pct),
        ], help="For one date only; it expires by itself once the vehicle has left."),
        ui.Form("window", "V2G window", [
            ui.Field("vehicle", "For", "select", first.get("id"), _vehicle_options(snapshot, fleet="window")),
            ui.Field("weekdays", "Days (recurring)", "weekdays", list("01234")),
            ui.Field("start_time", "From", "time", "17:00"),
            ui.Field("end_time", "To", "time", "21:00", help="Before the start: crosses midnight."),
            ui.Field("date_from", "One-off from", "date", None, help="Leave empty for a recurring window."),
            ui.Field("date_to", "One-off to", "date", None),
        ], help="When discharge is allowed. A site-wide window asks for confirmation."),
        ui.Form("v2g_off", "V2G off", [
            ui.Field("target", "Vehicle or charger", "select", f"vehicle:{first.get('id')}",
                     [{"label": f"Vehicle {v['name']}", "value": f"vehicle:{v['id']}"} for v in snapshot["vehicles"]]
                     + [{"label": f"Charger {c['id']}", "value": f"charger:{c['id']}"} for c in snapshot["chargers"] if c["bidirectional"]]),
            ui.Field("off", "V2G", "select", "off", [{"label": "Off (no discharge)", "value": "off"}, {"label": "On", "value": "on"}]),
        ], help="Switching V2G back on asks for confirmation."),
        ui.Form("site", "Site", [
            ui.Field("import_limit_kw", "Import limit", value=site["import_limit_kw"], unit="kW", min=0, step=1),
            ui.Field("export_limit_kw", "Export limit", value=site["export_limit_kw"], unit="kW", min=0, step=1),
            ui.Field("degradation_cost_per_kwh", "Degradation cost", value=site["degradation_cost_per_kwh"], unit=f"{site['currency']}/kWh", min=0, step=0.001),
            ui.Field("dispatch_interval_s", "Dispatch interval", value=site["dispatch_interval_s"], unit="s", min=10, max=3600, step=1),
        ], preview=False),
        ui.Form("override", "Override now", [
            ui.Field("vehicle", "Vehicle", "select", first.get("id"), vehicles),
            ui.Field("kind", "Action", "select", "charge_now", [
                {"label": "Charge now (full power)", "value": "charge_now"},
                {"label": "Pause", "value": "pause"},
                {"label": "Discharge now", "value": "discharge_now"},
            ]),
            ui.Field("minutes", "For", value=60, unit="min", min=1, max=48 * 60, step=1),
        ], preview=False, help="Only for a plugged-in vehicle; discharge only on a bidirectional charger with V2G on."),
    ]


def layout(**_query):
    role = auth.current_role()
    can_edit = role in ("operator", "admin")
    snapshot = controls.settings_snapshot()
    note = None if can_edit else dbc.Alert(
        "Read-only: your role is viewer. Operators and admins can change settings.", color="info", id=ui.SETTINGS_ROLE_NOTE
    )
    cards = [ui.form_card(form, can_edit=can_edit) for form in forms(snapshot)]
    return html.Div(
        [
            html.H2("Settings", id=ui.SETTINGS_TITLE),
            html.Div(
                [f"Logged in as {auth.current_username()} ({role}) · ", html.A("Log out", href="/logout")],
                className="small text-muted mb-2",
            ) if role else None,
            note,
            dbc.Row([dbc.Col(cards[: len(cards) // 2], lg=6), dbc.Col(cards[len(cards) // 2 :], lg=6)]),
            dcc.Interval(id=ui.SETTINGS_TICK, interval=5_000),
        ]
    )


# --- turning the form's values into core.controls' terms --------------------------------------------


def _change_values(values: dict) -> dict:
    """The form's values as core.controls.form_change takes them: the vehicle select's "fleet default"
    (floor form) and "all vehicles" (window form) choices mean no vehicle."""
    if values.get("vehicle") in (ui.FLEET, ui.SITE_WIDE):
        return {**values, "vehicle": None}
    return values


def _preview_data(form: str, values: dict, preview: planning.Preview, snapshot: dict) -> dict:
    names = {v["id"]: v["name"] for v in snapshot["vehicles"]}
    vehicle_id = values.get("vehicle") if values.get("vehicle") in names else None
    curve = None
    if vehicle_id and vehicle_id in preview.proposed.soc:
        curve = {
            "start_iso": preview.proposed.start.isoformat(),
            "step_minutes": preview.proposed.step_minutes,
            "current": preview.current.soc.get(vehicle_id, []),
            "proposed": preview.proposed.soc[vehicle_id],
            "floor": preview.proposed.floors.get(vehicle_id),
            "target": preview.proposed.targets.get(vehicle_id),
            "timezone": snapshot["site"]["timezone"],
        }
    return {
        "cost_now": preview.current.cost,
        "cost_new": preview.proposed.cost,
        "currency": snapshot["site"]["currency"],
        "vehicle": names.get(vehicle_id) if vehicle_id else None,
        "curve": curve,
        "newly_at_risk": [names.get(v, v) for v in preview.newly_at_risk],
        "still_at_risk": [names.get(v, v) for v in preview.proposed.at_risk if v not in preview.newly_at_risk],
        "fallback": preview.proposed.status != "optimal",
    }


@callback(
    Output({"type": ui.FIELD, "form": MATCH, "field": ALL}, "invalid"),
    Output({"type": ui.FEEDBACK, "form": MATCH, "field": ALL}, "children"),
    Output({"type": ui.PREVIEW, "form": MATCH}, "children"),
    Output({"type": ui.STATUS, "form": MATCH}, "children"),
    Output({"type": ui.CONFIRM, "form": MATCH}, "displayed"),
    Output({"type": ui.CONFIRM, "form": MATCH}, "message"),
    Output({"type": ui.LAST_AUDIT, "form": MATCH}, "data"),
    Input({"type": ui.PREVIEW_BUTTON, "form": MATCH}, "n_clicks"),
    Input({"type": ui.SAVE_BUTTON, "form": MATCH}, "n_clicks"),
    Input({"type": ui.CONFIRM, "form": MATCH}, "submit_n_clicks"),
    State({"type": ui.FIELD, "form": MATCH, "field": ALL}, "value"),
    State({"type": ui.FIELD_LIST, "form": MATCH, "field": ALL}, "value"),
    prevent_initial_call=True,
)
def preview_or_save(_preview, _save, _confirm, _values, _list_values):
    actor = auth.require_role("operator")  # the server decides; a disabled button is only a courtesy
    trigger = ctx.triggered_id
    if not trigger:
        raise PreventUpdate
    form = trigger["form"]
    if form not in controls.FORMS:
        raise PreventUpdate
    values = {}
    for group in ctx.states_list:
        for item in group:
            values[item["id"]["field"]] = item.get("value")
    values = _change_values(values)
    input_names = [o["id"]["field"] for o in ctx.outputs_list[0]]
    feedback_names = [o["id"]["field"] for o in ctx.outputs_list[1]]
    no = dash.no_update
    confirmed = trigger["type"] == ui.CONFIRM
    apply = controls.form_change(form, values, actor=actor, confirmed=confirmed)

    def invalid(errors: dict[str, str]):
        shown = controls.field_errors(form, errors, feedback_names)
        return [n in shown for n in input_names], [shown.get(n, "") for n in feedback_names]

    if trigger["type"] == ui.PREVIEW_BUTTON:
        try:
            preview = planning.preview_change(apply=apply, time_limit_s=PREVIEW_TIME_LIMIT_S)
        except controls.ValidationError as exc:
            errors = {k: m for k, m in exc.errors.items() if k != "confirm"}
            if errors:
                flags, messages = invalid(errors)
                return flags, messages, None, None, False, no, no
            # only the confirmation is missing: preview it anyway (confirmation is asked on save)
            apply = controls.form_change(form, values, actor=actor, confirmed=True)
            preview = planning.preview_change(apply=apply, time_limit_s=PREVIEW_TIME_LIMIT_S)
        snapshot = controls.settings_snapshot()
        flags, messages = invalid({})
        return flags, messages, ui.preview_panel(_preview_data(form, values, preview, snapshot)), None, False, no, no

    try:
        audit = controls.save_form(form, values, actor=actor, confirmed=confirmed)
    except controls.ValidationError as exc:
        errors = {k: m for k, m in exc.errors.items() if k != "confirm"}
        flags, messages = invalid(errors)
        if not errors and "confirm" in exc.errors:
            return flags, messages, no, None, True, exc.errors["confirm"].capitalize() + ". Save anyway?", no
        return flags, messages, no, ui.status_alert("Not saved: correct the marked fields.", "danger"), False, no, no
    except controls.PermissionDenied as exc:
        flags, messages = invalid({})
        return flags, messages, no, ui.status_alert(f"Not saved: {exc}", "danger"), False, no, no
    flags, messages = invalid({})
    return flags, messages, None, ui.status_alert(f"Saved by {actor} (audit #{audit['audit_id']}); a re-plan was requested."), False, no, audit


@callback(
    Output({"type": ui.IN_FORCE, "form": ALL}, "children"),
    Input(ui.SETTINGS_TICK, "n_intervals"),
    State({"type": ui.LAST_AUDIT, "form": ALL}, "data"),
)
def show_in_force(_tick, audits):
    if not any(audits):
        raise PreventUpdate
    runs = controls.plans_in_force([audit["audit_id"] if audit else None for audit in audits])
    out = []
    for audit, run in zip(audits, runs, strict=True):
        if not audit:
            out.append("")
            continue
        run_data = None if run is None else {**run, "finished_at": run["finished_at"].strftime("%H:%M:%S")}
        out.append(ui.in_force_text(run_data, audit["saved_at"]))
    return out
