"""Time-of-use tariffs: the JSON form (`parse_tariff`), storing it (`set_tariff`) and the lookup of
a site's tariff by local weekday and 15-minute slot (`tariff_table`).

Days are `weekday`, `weekend`, `all` or weekday digits (Monday = 0). An end before the start crosses
midnight and belongs to the weekday it starts on (as V2G windows: Fri 23:00-07:00 covers Saturday
morning); end equal to start is the whole day. Two rules may not cover the same time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, delete, select

from core import models
from core.audit import write_audit
from core.clock import now
from core.rules.local_time import to_local
from core.rules.steps import STEP_MINUTES
from core.signals.errors import SignalError
from core.sites import get_site, request_replan

DAY_SETS = {"weekday": "01234", "weekend": "56", "all": "0123456"}
MINUTES_PER_DAY = 24 * 60

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a tariff: on `weekdays` from `start_time` to `end_time` (local HH:MM), prices per kWh."""

    weekdays: str
    start_time: str
    end_time: str
    import_price_per_kwh: float
    export_price_per_kwh: float


@dataclass(frozen=True)
class TariffSpec:
    """A tariff as entered: its name, the demand charge and its rules."""

    name: str
    demand_charge_per_kw_month: float
    rules: list[RuleSpec]


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def _rule_slots(rule: RuleSpec) -> list[tuple[int, int]]:
    """(weekday, 15-minute slot of the day) pairs the rule covers; crossing midnight spills into the next day."""
    start, end = _minutes(rule.start_time), _minutes(rule.end_time)
    length = (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY
    out = []
    for day in rule.weekdays:
        for m in range(start, start + length, STEP_MINUTES):
            out.append(((int(day) + m // MINUTES_PER_DAY) % 7, (m % MINUTES_PER_DAY) // STEP_MINUTES))
    return out


def parse_tariff(doc: dict) -> TariffSpec:
    """A tariff from its JSON form; refuses unknown days, bad times, negative prices and overlaps."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise SignalError('a tariff is an object with a "rules" list')
    demand = doc.get("demand_charge_per_kw_month", 0.0)
    if not isinstance(demand, int | float) or isinstance(demand, bool) or demand < 0:
        raise SignalError(f"demand_charge_per_kw_month must be a number >= 0, got {demand!r}")
    rules, owner = [], {}
    for k, raw in enumerate(doc["rules"]):
        where = f"rules[{k}]"
        if not isinstance(raw, dict):
            raise SignalError(f"{where}: must be an object")
        days = str(raw.get("days", "all"))
        weekdays = DAY_SETS.get(days, days)
        if not weekdays or any(c not in "0123456" for c in weekdays) or len(set(weekdays)) != len(weekdays):
            raise SignalError(f"{where}.days: weekday, weekend, all or weekday digits (Monday = 0), got {days!r}")
        for key in ("start", "end"):
            if not _HHMM.match(str(raw.get(key, ""))):
                raise SignalError(f"{where}.{key}: a local time HH:MM, got {raw.get(key)!r}")
        prices = []
        for key in ("import_per_kwh", "export_per_kwh"):
            value = raw.get(key, 0.0 if key == "export_per_kwh" else None)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise SignalError(f"{where}.{key}: a number, got {value!r}")
            prices.append(float(value))
        rule = RuleSpec("".join(sorted(weekdays)), raw["start"], raw["end"], prices[0], prices[1])
        for slot in _rule_slots(rule):
            if slot in owner:
                day, s = slot
                raise SignalError(
                    f"{where} overlaps rules[{owner[slot]}] on weekday {day} at {s // 4:02d}:{s % 4 * 15:02d}"
                )
            owner[slot] = k
        rules.append(rule)
    return TariffSpec(str(doc.get("name", "")), float(demand), rules)


def set_tariff(*, session: Session, site_id: str, spec: TariffSpec, actor: str) -> None:
    """Replace the site's tariff rules and demand charge, with an audit row; asks for a new plan."""
    get_site(session=session, site_id=site_id)
    request_replan(session=session, site_id=site_id)
    old = session.get(models.Tariff, site_id)
    old_rules = session.exec(select(models.TariffRule).where(models.TariffRule.site_id == site_id)).all()
    before = (
        {"name": old.name, "demand_charge_per_kw_month": old.demand_charge_per_kw_month, "rules": len(old_rules)}
        if old
        else {}
    )
    session.exec(delete(models.TariffRule).where(models.TariffRule.site_id == site_id))
    if old is None:
        old = models.Tariff(site_id=site_id)
        session.add(old)
    old.name, old.demand_charge_per_kw_month, old.updated_at = spec.name, spec.demand_charge_per_kw_month, now()
    for r in spec.rules:
        session.add(
            models.TariffRule(
                site_id=site_id,
                weekdays=r.weekdays,
                start_time=r.start_time,
                end_time=r.end_time,
                import_price_per_kwh=r.import_price_per_kwh,
                export_price_per_kwh=r.export_price_per_kwh,
            )
        )
    write_audit(
        session=session,
        actor=actor,
        action="set_tariff",
        target=site_id,
        before=before,
        after={
            "name": spec.name,
            "demand_charge_per_kw_month": spec.demand_charge_per_kw_month,
            "rules": len(spec.rules),
        },
    )


@dataclass
class TariffTable:
    """A site's tariff as a lookup: (import, export) per weekday and 15-minute slot of local time."""

    timezone: str
    name: str
    demand_charge_per_kw_month: float
    rules: list[models.TariffRule]
    slots: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)

    def at(self, t: datetime) -> tuple[float, float] | None:
        """(import, export) per kWh at `t`, or None where no rule covers it."""
        local = to_local(t, self.timezone)
        return self.slots.get((local.weekday(), (local.hour * 60 + local.minute) // STEP_MINUTES))


def tariff_table(*, session: Session, site: models.Site) -> TariffTable | None:
    """The site's tariff, or None when it has no rules."""
    rules = session.exec(
        select(models.TariffRule).where(models.TariffRule.site_id == site.id).order_by(models.TariffRule.id)
    ).all()
    tariff = session.get(models.Tariff, site.id)
    if not rules and tariff is None:
        return None
    table = TariffTable(
        site.timezone, tariff.name if tariff else "", tariff.demand_charge_per_kw_month if tariff else 0.0, list(rules)
    )
    for r in rules:
        spec = RuleSpec(r.weekdays, r.start_time, r.end_time, r.import_price_per_kwh, r.export_price_per_kwh)
        for slot in _rule_slots(spec):
            table.slots[slot] = (r.import_price_per_kwh, r.export_price_per_kwh)
    return table
