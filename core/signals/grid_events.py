"""Grid events (import caps and export requests): the rule an event must meet (`validate_signal`),
the grid-event CSV file, an operator's or a utility's entry (`add_grid_signal`) and file imports.

Grid-event CSV: `kind,start,end,kw[,reward_<currency>_per_kwh][,external_id]`, kind `import_cap` or
`export_request`, timestamps as in the price file (core.signals.csv_import).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import models
from core.audit import write_audit
from core.db import session_scope
from core.signals.csv_import import parse_number, parse_timestamp, read_rows, zone
from core.signals.errors import SignalError
from core.sites import get_site, request_replan

SIGNAL_KINDS = ("import_cap", "export_request")
MAX_EVENT_LENGTH = timedelta(days=7)

_REWARD_COLUMN = re.compile(r"^reward_([a-z]{3})_per_kwh$")


@dataclass(frozen=True)
class SignalRow:
    """One event of a grid-event file; `row` is its spreadsheet row number."""

    row: int
    kind: str
    start: datetime
    end: datetime
    kw: float
    reward_per_kwh: float
    external_id: str | None


def validate_signal(
    *, kind: str, start: datetime, end: datetime, kw: float, reward_per_kwh: float, row: int | None = None
) -> None:
    """Refuse an unknown kind, an end not after the start, more than 7 days, a bad kW or reward."""
    if kind not in SIGNAL_KINDS:
        raise SignalError(f"kind must be one of {', '.join(SIGNAL_KINDS)}, got {kind!r}", row=row, column="kind")
    if end <= start:
        raise SignalError("the end must be after the start", row=row, column="end")
    if end - start > MAX_EVENT_LENGTH:
        raise SignalError("an event may last at most 7 days", row=row, column="end")
    if not math.isfinite(kw) or kw < 0 or (kind == "export_request" and kw == 0):
        raise SignalError(
            f"kW must be {'above' if kind == 'export_request' else 'at least'} 0, got {kw}", row=row, column="kw"
        )
    if not math.isfinite(reward_per_kwh) or reward_per_kwh < 0:
        raise SignalError(f"the reward must be 0 or more, got {reward_per_kwh}", row=row, column="reward")


def parse_signal_csv(text: str, *, currency: str, timezone: str | None = None) -> list[SignalRow]:
    """The rows of a grid-event file, validated completely; raises SignalError naming row and column."""
    tz = zone(timezone)
    header, rows = read_rows(text)
    expected = f"kind, start, end, kw, [reward_{currency.lower()}_per_kwh], [external_id]"
    reward_column = None
    for name in header:
        if name in ("kind", "start", "end", "kw", "external_id"):
            continue
        match = _REWARD_COLUMN.match(name)
        if not match:
            raise SignalError(f"unknown column; expected {expected}", row=1, column=name)
        if match.group(1) != currency.lower():
            raise SignalError(f"currency {match.group(1).upper()} is not the site's ({currency})", row=1, column=name)
        reward_column = name
    for name in ("kind", "start", "end", "kw"):
        if name not in header:
            raise SignalError(f"missing; expected {expected}", row=1, column=name)
    out, seen = [], {}
    for number, cells in rows:
        start = parse_timestamp(cells["start"], row=number, column="start", tz=tz)
        end = parse_timestamp(cells["end"], row=number, column="end", tz=tz, previous=start)
        kw = parse_number(cells["kw"], row=number, column="kw")
        reward = (
            parse_number(cells[reward_column], row=number, column=reward_column)
            if reward_column and cells[reward_column]
            else 0.0
        )
        kind = cells["kind"].lower()
        validate_signal(kind=kind, start=start, end=end, kw=kw, reward_per_kwh=reward, row=number)
        if (kind, start) in seen:
            raise SignalError(f"repeats the {kind} of row {seen[kind, start]}", row=number, column="start")
        seen[kind, start] = number
        out.append(SignalRow(number, kind, start, end, kw, reward, cells.get("external_id") or None))
    return out


def add_grid_signal(
    *,
    session: Session,
    site_id: str,
    kind: str,
    start: datetime,
    end: datetime,
    kw: float,
    reward_per_kwh: float = 0.0,
    actor: str,
    source: str = "operator",
    external_id: str | None = None,
    opted_in: bool = True,
) -> models.GridSignal:
    """Validate and store one import cap or export request, with an audit row; asks for a new plan."""
    get_site(session=session, site_id=site_id)
    validate_signal(kind=kind, start=start, end=end, kw=kw, reward_per_kwh=reward_per_kwh)
    signal = models.GridSignal(
        site_id=site_id,
        kind=kind,
        start=start,
        end=end,
        kw=kw,
        reward_per_kwh=reward_per_kwh,
        source=source,
        external_id=external_id,
        opted_in=opted_in,
    )
    session.add(signal)
    session.flush()
    request_replan(session=session, site_id=site_id)
    write_audit(
        session=session,
        actor=actor,
        action="add_grid_signal",
        target=f"grid_signal:{signal.id}",
        after={
            "kind": kind,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "kw": kw,
            "reward_per_kwh": reward_per_kwh,
            "source": source,
        },
    )
    return signal


def import_signals(*, text: str, site_id: str, timezone: str | None, actor: str, engine: Engine | None = None) -> int:
    """Parse and store a grid-event file in one transaction; nothing is written when it has a fault."""
    with session_scope(engine) as session:
        site = get_site(session=session, site_id=site_id)
        rows = parse_signal_csv(text, currency=site.currency, timezone=timezone)
        for r in rows:
            add_grid_signal(
                session=session,
                site_id=site_id,
                kind=r.kind,
                start=r.start,
                end=r.end,
                kw=r.kw,
                reward_per_kwh=r.reward_per_kwh,
                actor=actor,
                source="csv",
                external_id=r.external_id,
            )
        return len(rows)
