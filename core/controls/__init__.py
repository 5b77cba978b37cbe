"""Operator settings: validate -> persist -> audit -> ask for a re-plan.

The settings page and the command line (`python -m core.controls ...`) call the same functions, so
the same rules hold for both. Every setter is keyword-only, takes a session and the `actor` making
the change, and either raises `ValidationError` (carrying a message for EVERY invalid field, having
written nothing) or makes the change, writes one `AuditEvent` and marks the site for a re-plan, all in
the caller's transaction: the change, its audit row and the re-plan request commit together or not at
all (a preview, core.planning.preview_change, rolls all three back).

SoC values are fractions 0-1 here (shown as % in the UI; messages speak %). Times of day are local
`HH:MM` in the site's time zone; instants are aware datetimes, stored in UTC.

Modules: validation (errors, field validators, role checks), vehicles (floors, targets, hard floor),
departures (schedules, one-off departures), v2g (windows, V2G off), site_settings (limits, interval,
demand response), overrides (charge now / pause / discharge now), in_force (read-side: what is in
force, for core.planning), snapshot (what the settings page reads), forms (the settings page's forms
as setter calls), __main__ (the command line). The audit log itself is core.audit.
"""

from core.audit import (
    AUDIT_COLUMNS,
    PLAN_ACTIONS,
    audit_csv,
    audit_filter_options,
    link_pending_audits,
    list_audit,
    plan_in_force,
)
from core.controls.departures import (
    MAX_DEPARTURE_AHEAD,
    cancel_departure_override,
    set_departure_override,
    set_departure_schedule,
    vehicle_timezone,
)
from core.controls.forms import FORMS, field_errors, form_change, save_form
from core.controls.in_force import active_overrides, departure_schedule, open_plug, pending_departure_overrides
from core.controls.overrides import MAX_OVERRIDE, OVERRIDE_KINDS, cancel_override, start_override
from core.controls.site_settings import (
    DISPATCH_INTERVAL_RANGE_S,
    current_site_settings,
    set_demand_response_opt_in,
    set_site_settings,
)
from core.controls.snapshot import current_settings, plans_in_force, settings_snapshot
from core.controls.v2g import add_v2g_window, delete_v2g_window, set_v2g_off, set_window_enabled
from core.controls.validation import ROLES_RANK, PermissionDenied, ValidationError
from core.controls.vehicles import set_hard_floor, set_soc_floor, set_target
from core.db import run_in_transaction
from core.rules.local_time import local_datetime

__all__ = [
    "AUDIT_COLUMNS", "DISPATCH_INTERVAL_RANGE_S", "FORMS", "MAX_DEPARTURE_AHEAD", "MAX_OVERRIDE", "OVERRIDE_KINDS",
    "PLAN_ACTIONS", "ROLES_RANK", "PermissionDenied", "ValidationError",
    "active_overrides", "add_v2g_window", "audit_csv", "audit_filter_options", "cancel_departure_override",
    "cancel_override", "current_settings", "current_site_settings", "delete_v2g_window", "departure_schedule",
    "field_errors", "form_change", "link_pending_audits", "list_audit", "local_datetime", "open_plug",
    "pending_departure_overrides", "plan_in_force", "plans_in_force", "run_in_transaction", "save_form",
    "set_demand_response_opt_in", "set_departure_override", "set_departure_schedule", "set_hard_floor",
    "set_site_settings", "set_soc_floor", "set_target", "set_v2g_off", "set_window_enabled", "settings_snapshot",
    "start_override", "vehicle_timezone",
]
