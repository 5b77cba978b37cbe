"""Audit rows as sentences a person reads ("admin raised E-bus 1's floor 35 % → 50 %"), pure.

`audit_sentence` takes one row's action, actor, target and before/after data, the display names of
the vehicles, chargers and sites it may name (`names`, keyed like targets: "vehicle:BUS-01"), and the
site's time zone, in which every instant is shown (24-hour clock). An action it does not know gets a
generic sentence that still names who did what to what. The raw row stays one click away on the
Audit page (components/audit.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SITE_SETTING_LABELS = {
    "import_limit_kw": ("import limit", "kW"),
    "export_limit_kw": ("export limit", "kW"),
    "degradation_cost_per_kwh": ("degradation cost", "/kWh"),
    "dispatch_interval_s": ("dispatch interval", "s"),
}
GRID_SIGNAL_KINDS = {"import_cap": "an import cap", "export_request": "an export request"}


def when(t: datetime, timezone: str) -> str:
    """An instant on the site's clock, 24-hour: "Tue 1 Dec 13:05"."""
    local = t.astimezone(ZoneInfo(timezone))
    return f"{WEEKDAY_NAMES[local.weekday()]} {local.day} {local:%b %H:%M}"


def _when_iso(text, timezone: str) -> str:
    try:
        return when(datetime.fromisoformat(str(text)), timezone)
    except (TypeError, ValueError):
        return str(text)


def pct(fraction) -> str:
    """A 0-1 fraction as "35 %" (one decimal only when it has one)."""
    if fraction is None:
        return "none"
    value = round(float(fraction) * 100, 1)
    return f"{value:g} %"


def _number(value, unit: str = "") -> str:
    """A setting's value with its unit: "400 kW", "0.05/kWh", "none"."""
    if value is None:
        return "none"
    text = f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    if not unit:
        return text
    return text + unit if unit.startswith("/") else f"{text} {unit}"


def _change(before, after, show: Callable = pct) -> str:
    return f"{show(before)} → {show(after)}"


def _verb(before, after, *, up: str = "raised", down: str = "lowered") -> str:
    try:
        return up if float(after) > float(before) else down if float(after) < float(before) else "kept"
    except (TypeError, ValueError):
        return "set"


def weekdays_text(digits) -> str:
    """Weekday digits (Monday = 0) as "Mon–Fri", "Sat, Sun" or "every day"."""
    days = sorted({int(d) for d in str(digits or "") if d.isdigit() and int(d) < 7})
    if not days:
        return "no day"
    if len(days) == 7:
        return "every day"
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAY_NAMES[days[0]]}–{WEEKDAY_NAMES[days[-1]]}"
    return ", ".join(WEEKDAY_NAMES[d] for d in days)


class _Row:
    """One audit row and what it needs to be told."""

    def __init__(self, actor, target, before, after, names, timezone):
        self.actor = actor or "someone"
        self.target = target or ""
        self.before = before if isinstance(before, dict) else {}
        self.after = after if isinstance(after, dict) else {}
        self.names = names or {}
        self.tz = timezone

    def name(self, key: str | None = None) -> str:
        """The display name of a target ("vehicle:BUS-01" -> "E-bus 1"), else its id."""
        key = self.target if key is None else key
        if key in self.names:
            return self.names[key]
        kind, _, ident = key.partition(":")
        return ident or kind or "?"

    def thing(self, key: str | None = None) -> str:
        """The target as a noun phrase: "E-bus 1", "charger CP-01", "the site"."""
        key = self.target if key is None else key
        kind = key.partition(":")[0]
        if kind == "site":
            return "the site"
        if kind == "charger":
            return f"charger {self.name(key)}"
        return self.name(key)

    def at(self, text) -> str:
        return _when_iso(text, self.tz)


def _floor(r: _Row) -> str:
    old, new = r.before.get("soc_floor"), r.after.get("soc_floor")
    who = r.thing()
    if new is None:
        return f"{r.actor} put {who}'s floor back to the fleet default (was {pct(old)})"
    if old is None:
        return f"{r.actor} set {who}'s own floor to {pct(new)} (was the fleet default)"
    return f"{r.actor} {_verb(old, new)} {who}'s floor {_change(old, new)}"


def _site_value(key: str, label: str) -> Callable[[_Row], str]:
    def sentence(r: _Row) -> str:
        old, new = r.before.get(key), r.after.get(key)
        return f"{r.actor} {_verb(old, new)} {label} {_change(old, new)}"

    return sentence


def _target(r: _Row) -> str:
    old, new = r.before.get("target_soc"), r.after.get("target_soc")
    return f"{r.actor} {_verb(old, new)} {r.thing()}'s target {_change(old, new)}"


def _schedule_text(s: dict) -> str:
    if not s:
        return "none"
    text = f"{weekdays_text(s.get('weekdays'))} at {s.get('departure_time')}, target {pct(s.get('target_soc'))}"
    return text if s.get("enabled", True) else text + " (off)"


def _schedule(r: _Row) -> str:
    if r.after and not r.after.get("enabled", True):
        return f"{r.actor} turned off {r.thing()}'s departure schedule"
    was = f" (was {_schedule_text(r.before)})" if r.before else ""
    return f"{r.actor} set {r.thing()}'s departures to {_schedule_text(r.after)}{was}"


def _oneoff_text(r: _Row, data: dict) -> str:
    target = data.get("target_soc")
    return f"{r.at(data.get('departs_at'))}, target {pct(target) if target is not None else 'as usual'}"


def _oneoff(r: _Row) -> str:
    replaced = f" (replacing {_oneoff_text(r, r.before)})" if r.before else ""
    return f"{r.actor} set a one-off departure for {r.thing()}: {_oneoff_text(r, r.after)}{replaced}"


def _oneoff_cancel(r: _Row) -> str:
    return f"{r.actor} cancelled {r.thing()}'s one-off departure of {r.at(r.before.get('departs_at'))}"


def _window_text(r: _Row, w: dict) -> str:
    if not w:
        return "none"
    who = r.name(f"vehicle:{w['vehicle_id']}") if w.get("vehicle_id") else "all vehicles"
    if w.get("date_from"):
        days = w["date_from"] if w.get("date_to") in (None, w["date_from"]) else f"{w['date_from']} to {w['date_to']}"
    else:
        days = weekdays_text(w.get("weekdays"))
    text = f"{days} {w.get('start_time')}–{w.get('end_time')} for {who}"
    return text if w.get("enabled", True) else text + " (off)"


def _window_no(r: _Row) -> str:
    return f"V2G window #{r.target.partition(':')[2] or '?'}"


def _window_add(r: _Row) -> str:
    return f"{r.actor} added {_window_no(r)}: {_window_text(r, r.after)}"


def _window_update(r: _Row) -> str:
    return f"{r.actor} changed {_window_no(r)}: {_window_text(r, r.before)} → {_window_text(r, r.after)}"


def _window_delete(r: _Row) -> str:
    return f"{r.actor} deleted {_window_no(r)} ({_window_text(r, r.before)})"


def _v2g_off(r: _Row) -> str:
    state = "off" if r.after.get("v2g_off") else "back on"
    return f"{r.actor} turned V2G {state} for {r.thing()}"


def _site_settings(r: _Row) -> str:
    parts = []
    for key, (label, unit) in SITE_SETTING_LABELS.items():
        old, new = r.before.get(key), r.after.get(key)
        if old != new:
            parts.append(f"{label} {_number(old, unit)} → {_number(new, unit)}")
    return (
        f"{r.actor} changed the site settings: {', '.join(parts)}"
        if parts
        else f"{r.actor} saved the site settings unchanged"
    )


def _demand_response(r: _Row) -> str:
    side = "in to" if r.after.get("demand_response_opt_in") else "out of"
    return f"{r.actor} opted the site {side} the utility's demand-response export requests"


def _override_kind(kind) -> str:
    return str(kind or "override").replace("_", " ")


def _override_start(r: _Row) -> str:
    charger = r.after.get("charger")
    on = f" on charger {r.name(f'charger:{charger}')}" if charger else ""
    return f"{r.actor} started {_override_kind(r.after.get('kind'))} for {r.thing()}{on} until {r.at(r.after.get('until'))}"


def _override_cancel(r: _Row) -> str:
    return f"{r.actor} cancelled {_override_kind(r.before.get('kind'))} for {r.thing()}"


def _user(r: _Row) -> str:
    return r.target.partition(":")[2] or r.target


def _user_create(r: _Row) -> str:
    return f"{r.actor} created the account {_user(r)} ({r.after.get('role', 'viewer')})"


def _user_role(r: _Row) -> str:
    return f"{r.actor} changed {_user(r)}'s role {r.before.get('role')} → {r.after.get('role')}"


def _user_password(r: _Row) -> str:
    if _user(r) == r.actor:
        return f"{r.actor} changed their own password"
    return f"{r.actor} set a new password for {_user(r)}"


def _token(r: _Row) -> str:
    label = r.after.get("label") or r.before.get("label")
    return f"wall display token #{r.target.partition(':')[2]}" + (f" ({label})" if label else "")


def _grid_signal(r: _Row) -> str:
    a = r.after
    what = GRID_SIGNAL_KINDS.get(a.get("kind"), str(a.get("kind") or "a grid signal"))
    kw = f" of {_number(a.get('kw'), 'kW')}" if a.get("kw") is not None else ""
    reward = f", reward {_number(a.get('reward_per_kwh'))}/kWh" if a.get("reward_per_kwh") else ""
    source = f" (from {a['source']})" if a.get("source") and a.get("source") != "operator" else ""
    return f"{r.actor} added {what}{kw}, {r.at(a.get('start'))} to {r.at(a.get('end'))}{reward}{source}"


def _prices(r: _Row) -> str:
    a = r.after
    source = f" (from {a['source']})" if a.get("source") else ""
    return f"{r.actor} imported {a.get('points', '?')} prices for {r.at(a.get('from'))} to {r.at(a.get('to'))}{source}"


def _tariff(r: _Row) -> str:
    a = r.after
    charge = a.get("demand_charge_per_kw_month")
    demand = f", demand charge {_number(charge)}/kW per month" if charge else ""
    return f"{r.actor} set the tariff '{a.get('name', '')}' ({a.get('rules', '?')} time bands{demand})"


SENTENCES: dict[str, Callable[[_Row], str]] = {
    "soc_floor.set": _floor,
    "fleet_soc_floor.set": _site_value("default_soc_floor", "the fleet's default floor"),
    "hard_soc_floor.set": _site_value("hard_soc_floor", "the site's hard floor"),
    "target.set": _target,
    "departure_schedule.set": _schedule,
    "departure_override.set": _oneoff,
    "departure_override.cancel": _oneoff_cancel,
    "v2g_window.add": _window_add,
    "v2g_window.update": _window_update,
    "v2g_window.delete": _window_delete,
    "v2g_off.set": _v2g_off,
    "site_settings.set": _site_settings,
    "demand_response.set": _demand_response,
    "override.start": _override_start,
    "override.cancel": _override_cancel,
    "user.create": _user_create,
    "user.role": _user_role,
    "user.password": _user_password,
    "user.password_reset": lambda r: f"{r.actor} reset the password of {_user(r)}",
    "wall_token.create": lambda r: f"{r.actor} created {_token(r)}",
    "wall_token.revoke": lambda r: f"{r.actor} revoked {_token(r)}",
    "add_grid_signal": _grid_signal,
    "import_prices": _prices,
    "set_tariff": _tariff,
}


# Account and fleet changes named "<thing>.<verb>" (core/admin, core/users, core/meters): one sentence
# per verb, the changed fields listed with their units.
VERBS = {
    "add": "added",
    "edit": "changed",
    "retire": "retired",
    "remove": "removed",
    "delete": "deleted",
    "disable": "disabled",
    "enable": "enabled",
    "set": "changed",
    "password": "set a new password for",
    "assign": "assigned",
}
NOUNS = {
    "vehicle": "",
    "charger": "charger ",
    "site": "site ",
    "site_meter": "site meter ",
    "user": "the account ",
    "price_feed": "the day-ahead price feed of ",
    "wall_token": "wall display token ",
}
UNITS = (("_per_kwh", "/kWh"), ("_kwh", "kWh"), ("_kw", "kW"), ("_pct", "%"), ("_s", "s"))


def field_value(key: str, value) -> tuple[str, str]:
    """A field's name in words and its value with its unit ("max_charge_kw", 22 -> ("max charge", "22 kW"))."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if key.endswith("_soc") or key.startswith("soc_"):  # a SoC fraction, shown as %
            return key.replace("_", " "), pct(value)
        for suffix, unit in UNITS:
            if key.endswith(suffix):
                return key[: -len(suffix)].replace("_", " "), _number(value, unit)
    return key.replace("_", " "), "none" if value is None else str(value)


def _changes(before: dict, after: dict) -> str:
    """The fields that differ: "max charge 22 kW → 11 kW, name Van 1 → Van 9"."""
    parts = []
    for key in [*after, *(k for k in before if k not in after)]:
        if before.get(key) == after.get(key):
            continue
        label, new = field_value(key, after.get(key))
        parts.append(f"{label} {field_value(key, before[key])[1]} → {new}" if key in before else f"{label} {new}")
    return ", ".join(parts)


def _entity_sentence(r: _Row, action: str) -> str | None:
    kind, _, verb = action.partition(".")
    if kind not in NOUNS or verb not in VERBS:
        return None
    ident = r.target.partition(":")[2] if ":" in r.target else r.target
    who = r.name() if kind == "vehicle" else ident if kind != "site" else r.name()
    sentence = f"{r.actor} {VERBS[verb]} {NOUNS[kind]}{who}"
    if verb in ("edit", "set"):
        changes = _changes(r.before, r.after)
        sentence += f": {changes}" if changes else " (nothing changed)"
    elif kind == "vehicle" and verb == "assign":
        sentence = f"{r.actor} assigned the session on charger {r.after.get('charger')} to {who}"
    return sentence


def has_sentence(action: str) -> bool:
    """True when `action` has a sentence of its own (else it is told by `generic_sentence`)."""
    kind, _, verb = (action or "").partition(".")
    return action in SENTENCES or (kind in NOUNS and verb in VERBS)


def generic_sentence(r: _Row, action: str) -> str:
    """An action without its own sentence: who, what (its name in words) and on what."""
    words = (action or "change").replace(".", " ").replace("_", " ").strip()
    on = f" on {r.thing()}" if r.target else ""
    return f"{r.actor}: {words}{on}"


def audit_sentence(
    *,
    action: str,
    actor: str,
    target: str,
    before: dict | None,
    after: dict | None,
    names: dict[str, str] | None = None,
    timezone: str = "UTC",
) -> str:
    """One audit row as a sentence in the site's time zone; a generic one for an unknown action or
    a row whose data does not fit its action's sentence (an old row, a hand-written one)."""
    row = _Row(actor, target, before, after, names, timezone)
    sentence = SENTENCES.get(action)
    try:
        told = sentence(row) if sentence is not None else _entity_sentence(row, action or "")
    except (KeyError, TypeError, ValueError, AttributeError):
        told = None
    return told or generic_sentence(row, action)
