"""Prices, tariffs and grid events: CSV import, time-of-use rules, operator entries, the event ledger.

The Grid page and the command line share every function here:

    python -m core.signals import-prices FILE.csv [--site ID] [--timezone ZONE]
    python -m core.signals import-signals FILE.csv [--site ID] [--timezone ZONE]
    python -m core.signals set-tariff FILE.json [--site ID]

Price CSV (UTF-8, comma-separated, '.' decimal, header in the first row):

    start,import_eur_per_kwh,export_eur_per_kwh
    2026-03-02T00:00:00+01:00,0.2310,0.0810
    2026-03-02T00:15:00+01:00,0.2290,0.0790

- `start`: ISO 8601. With a UTC offset (`+01:00`, `Z`) the offset is used. Without one, the time is
  local time in the zone given with `--timezone` (the Grid page's "Time zone" field, filled with the
  site's zone); a file without offsets and no zone is refused. The repeated hour at the end of
  summer time is read in order (first pass, then second); a time that does not exist is refused.
- Rows are 15 minutes or one hour apart (all rows the same), without gaps or repeats. An optional
  `end` column gives each interval's end; without it the interval is the distance to the next row.
- Prices: `import_<currency>_per_kwh` or `import_<currency>_per_mwh`, and the same for `export_`
  (optional; 0 when absent). The currency must be the site's. Per-MWh prices are divided by 1000.
- Hourly rows are stored as four 15-minute price points. Saving replaces the stored prices of the
  file's period; nothing else is touched.

Grid-event CSV: `kind,start,end,kw[,reward_<currency>_per_kwh][,external_id]`, kind `import_cap` or
`export_request`, timestamps as above.

Limits: at most 5 MB and 100,000 data rows, checked before the file is parsed. A file with any fault
(wrong header, bad timestamp, gap, repeated interval, a value that is not a number) is refused as a
whole, and the message names the row (the header is row 1, as in a spreadsheet) and the column.

Tariff JSON (`set-tariff`): {"name": "...", "demand_charge_per_kw_month": 4.5, "rules": [{"days":
"weekday", "start": "07:00", "end": "23:00", "import_per_kwh": 0.30, "export_per_kwh": 0.08}, ...]}
with days `weekday`, `weekend`, `all` or weekday digits (`"0123456"`, Monday = 0); an end before the
start crosses midnight and belongs to the weekday it starts on (as V2G windows: Fri 23:00-07:00 covers
Saturday morning); end equal to start is the whole day. Two rules may not cover the same time.
Example: tests/data/tariff.json.

Where no price is stored, dispatch and the Grid page use, in this order: the tariff rule, the demo
profile (demo mode), the price at the same time on the last day that has one (up to a week back),
the last stored price, and a flat 0.25/kWh; every such step is marked as assumed.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import csv
import io
import json
import math
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from core import models
from core.clock import now
from core.db import session_scope

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
STEP = timedelta(minutes=15)
ALLOWED_INTERVALS = (timedelta(minutes=15), timedelta(hours=1))
SIGNAL_KINDS = ("import_cap", "export_request")
FLAT_IMPORT_PRICE = 0.25
LAST_DAY_LOOKBACK_DAYS = 7
SETTLE_AFTER = timedelta(hours=1)
DAY_SETS = {"weekday": "01234", "weekend": "56", "all": "0123456"}

_PRICE_COLUMN = re.compile(r"^(import|export)_([a-z]{3})_per_(kwh|mwh)$")
_REWARD_COLUMN = re.compile(r"^reward_([a-z]{3})_per_kwh$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SignalError(ValueError):
    """Input refused; the message says what and, for a file, where (row and column)."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        where = ", ".join(p for p in (f"row {row}" if row else "", f"column {column!r}" if column else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.row = row
        self.column = column


# --- reading files --------------------------------------------------------------------------


def check_size(n_bytes: int) -> None:
    """Refuse a file above MAX_FILE_BYTES before anything reads it."""
    if n_bytes > MAX_FILE_BYTES:
        raise SignalError(
            f"the file is {n_bytes / 1024 / 1024:.1f} MB; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB"
            f" and {MAX_ROWS:,} rows: split it into smaller files"
        )


def decode_upload(contents: str) -> str:
    """The text of a browser upload (`data:...;base64,...`), its size checked before decoding."""
    _, _, b64 = contents.partition(",")
    check_size(len(b64) * 3 // 4)
    try:
        return base64.b64decode(b64).decode("utf-8-sig")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignalError("the file is not UTF-8 text") from exc


def read_text_file(path: Path) -> str:
    check_size(path.stat().st_size)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SignalError(f"{path} is not UTF-8 text") from exc


def _rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header (lower-cased) and the data rows with their spreadsheet row numbers; stops at MAX_ROWS."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise SignalError("the file is empty", row=1) from None
    out = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(out) >= MAX_ROWS:
            raise SignalError(f"more than {MAX_ROWS:,} data rows: split the file", row=number)
        if len(cells) != len(header):
            raise SignalError(f"{len(cells)} values for {len(header)} columns", row=number)
        out.append((number, dict(zip(header, (c.strip() for c in cells), strict=True))))
    if not out:
        raise SignalError("no data rows", row=2)
    return header, out


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SignalError(f"unknown time zone {name!r} (use a name like Europe/Amsterdam)") from None


def parse_timestamp(
    raw: str, *, row: int, column: str, tz: ZoneInfo | None, previous: datetime | None = None
) -> datetime:
    """An aware UTC datetime from ISO 8601 text, naive text read in `tz`."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise SignalError(
            f"{raw!r} is not an ISO 8601 timestamp (e.g. 2026-03-02T00:15:00+01:00)", row=row, column=column
        ) from None
    if value.tzinfo is not None:
        return value.astimezone(ZoneInfo("UTC"))
    if tz is None:
        raise SignalError(f"{raw!r} has no UTC offset: give the time zone (--timezone)", row=row, column=column)
    first, second = value.replace(tzinfo=tz), value.replace(tzinfo=tz, fold=1)
    if first.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != value:
        raise SignalError(f"{raw!r} does not exist in {tz.key} (clocks jump forward)", row=row, column=column)
    utc_first = first.astimezone(ZoneInfo("UTC"))
    utc_second = second.astimezone(ZoneInfo("UTC"))
    # The repeated hour when clocks go back: the second pass follows the first.
    if previous is not None and utc_first <= previous < utc_second:
        return utc_second
    return utc_first


def _number(raw: str, *, row: int, column: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        hint = " (use '.' as the decimal mark)" if "," in raw else ""
        raise SignalError(f"{raw!r} is not a number{hint}", row=row, column=column) from None
    if not math.isfinite(value):
        raise SignalError(f"{raw!r} is not a finite number", row=row, column=column)
    return value


# --- prices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceRow:
    """One interval of a price file, prices per kWh."""

    row: int
    start: datetime
    end: datetime
    import_price_per_kwh: float
    export_price_per_kwh: float


def _price_columns(header: list[str], currency: str) -> dict[str, tuple[str, float]]:
    """{"import": (column, divisor), "export": ...} from the header; refuses anything unexpected."""
    expected = f"start, [end], import_{currency.lower()}_per_kwh (or _per_mwh), [export_{currency.lower()}_per_kwh]"
    found: dict[str, tuple[str, float]] = {}
    for name in header:
        if name in ("start", "end"):
            continue
        match = _PRICE_COLUMN.match(name)
        if not match:
            raise SignalError(f"unknown column; expected {expected}", row=1, column=name)
        direction, cur, unit = match.groups()
        if cur != currency.lower():
            raise SignalError(f"currency {cur.upper()} is not the site's ({currency})", row=1, column=name)
        if direction in found:
            raise SignalError(f"a second {direction} price column", row=1, column=name)
        found[direction] = (name, 1000.0 if unit == "mwh" else 1.0)
    if "start" not in header:
        raise SignalError(f"missing; expected {expected}", row=1, column="start")
    if "import" not in found:
        raise SignalError(f"missing; expected {expected}", row=1, column=f"import_{currency.lower()}_per_kwh")
    if len(set(header)) != len(header):
        raise SignalError("a column appears twice", row=1)
    return found


def _intervals(
    rows: list[tuple[int, dict[str, str]]], tz: ZoneInfo | None, has_end: bool
) -> list[tuple[int, datetime, datetime]]:
    """(row, start, end) for each row; refuses bad timestamps, irregular intervals, gaps and repeats."""
    starts: list[tuple[int, datetime]] = []
    previous = None
    seen: dict[datetime, int] = {}
    for number, cells in rows:
        previous = parse_timestamp(cells["start"], row=number, column="start", tz=tz, previous=previous)
        if previous in seen:
            raise SignalError(
                f"repeats the interval of row {seen[previous]} ({cells_iso(previous)})", row=number, column="start"
            )
        seen[previous] = number
        starts.append((number, previous))
    out = []
    if has_end:
        for (number, cells), (_, start) in zip(rows, starts, strict=True):
            end = parse_timestamp(cells["end"], row=number, column="end", tz=tz, previous=start)
            if end - start not in ALLOWED_INTERVALS:
                raise SignalError("an interval must be 15 minutes or 1 hour", row=number, column="end")
            out.append((number, start, end))
    else:
        if len(starts) < 2:
            raise SignalError(
                "one row and no `end` column: the interval length is unknown", row=starts[0][0], column="start"
            )
        length = starts[1][1] - starts[0][1]
        if length not in ALLOWED_INTERVALS:
            kind = "gap" if length > ALLOWED_INTERVALS[-1] else "rows must be 15 minutes or 1 hour apart"
            raise SignalError(f"{kind}: {length} after row {starts[0][0]}", row=starts[1][0], column="start")
        out = [(number, start, start + length) for number, start in starts]
    for k in range(1, len(out)):
        number, start, _ = out[k]
        previous_end = out[k - 1][2]
        if start != previous_end:
            kind = "gap" if start > previous_end else "overlap or out of order"
            raise SignalError(
                f"{kind}: expected {cells_iso(previous_end)} after row {out[k - 1][0]}, got {cells_iso(start)}",
                row=number,
                column="start",
            )
    return out


def cells_iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def parse_price_csv(text: str, *, currency: str, timezone: str | None = None) -> list[PriceRow]:
    """The rows of a price file, validated completely; raises SignalError naming row and column."""
    tz = zone(timezone)
    header, rows = _rows(text)
    columns = _price_columns(header, currency)
    intervals = _intervals(rows, tz, "end" in header)
    out = []
    for (number, cells), (_, start, end) in zip(rows, intervals, strict=True):
        name, divisor = columns["import"]
        import_price = _number(cells[name], row=number, column=name) / divisor
        export_price = 0.0
        if "export" in columns:
            name, divisor = columns["export"]
            export_price = _number(cells[name], row=number, column=name) / divisor
        out.append(PriceRow(number, start, end, import_price, export_price))
    return out


def fifteen_minute_points(rows: list[PriceRow], *, site_id: str, source: str = "csv") -> list[models.PricePoint]:
    """The rows as 15-minute PricePoints: an hourly row becomes four with the same prices."""
    points = []
    for r in rows:
        t = r.start
        while t < r.end:
            points.append(
                models.PricePoint(
                    site_id=site_id,
                    start=t,
                    end=t + STEP,
                    import_price_per_kwh=r.import_price_per_kwh,
                    export_price_per_kwh=r.export_price_per_kwh,
                    source=source,
                )
            )
            t += STEP
    return points


def _audit(session: Session, *, actor: str, action: str, target: str, after: dict, before: dict | None = None) -> None:
    session.add(models.AuditEvent(actor=actor, action=action, target=target, before=before or {}, after=after))


def _site(session: Session, site_id: str) -> models.Site:
    site = session.get(models.Site, site_id)
    if site is None:
        raise SignalError(f"no site {site_id!r}")
    return site


def _request_replan(site: models.Site) -> None:
    """New prices, tariffs or events change the plan: ask the scheduler for a run (as core.planning does)."""
    site.replan_requested_at = now()


def save_prices(*, session: Session, site_id: str, rows: list[PriceRow], actor: str, source: str = "csv") -> int:
    """Replace the stored prices of the rows' period with the rows; returns the PricePoints written."""
    _request_replan(_site(session, site_id))
    points = fifteen_minute_points(rows, site_id=site_id, source=source)
    first, last = points[0].start, points[-1].end
    session.exec(
        delete(models.PricePoint)
        .where(models.PricePoint.site_id == site_id)
        .where(models.PricePoint.start >= first)
        .where(models.PricePoint.start < last)
    )
    session.add_all(points)
    _audit(
        session,
        actor=actor,
        action="import_prices",
        target=site_id,
        after={"from": first.isoformat(), "to": last.isoformat(), "points": len(points), "source": source},
    )
    return len(points)


def import_prices(*, text: str, site_id: str, timezone: str | None, actor: str, engine: Engine | None = None) -> int:
    """Parse and store a price file in one transaction; nothing is written when it has a fault."""
    with session_scope(engine) as session:
        site = _site(session, site_id)
        rows = parse_price_csv(text, currency=site.currency, timezone=timezone)
        return save_prices(session=session, site_id=site_id, rows=rows, actor=actor)


# --- grid signals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalRow:
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
    if kind not in SIGNAL_KINDS:
        raise SignalError(f"kind must be one of {', '.join(SIGNAL_KINDS)}, got {kind!r}", row=row, column="kind")
    if end <= start:
        raise SignalError("the end must be after the start", row=row, column="end")
    if end - start > timedelta(days=7):
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
    header, rows = _rows(text)
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
        kw = _number(cells["kw"], row=number, column="kw")
        reward = (
            _number(cells[reward_column], row=number, column=reward_column)
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
    """Validate and store one import cap or export request, with an audit row."""
    site = _site(session, site_id)
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
    _request_replan(site)
    _audit(
        session,
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
        site = _site(session, site_id)
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


# --- tariffs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    weekdays: str
    start_time: str
    end_time: str
    import_price_per_kwh: float
    export_price_per_kwh: float


@dataclass(frozen=True)
class TariffSpec:
    name: str
    demand_charge_per_kw_month: float
    rules: list[RuleSpec]


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def _rule_slots(rule: RuleSpec) -> list[tuple[int, int]]:
    """(weekday, 15-minute slot of the day) pairs the rule covers; crossing midnight spills into the next day."""
    start, end = _minutes(rule.start_time), _minutes(rule.end_time)
    length = (end - start) % (24 * 60) or 24 * 60
    out = []
    for day in rule.weekdays:
        for m in range(start, start + length, 15):
            out.append(((int(day) + m // (24 * 60)) % 7, (m % (24 * 60)) // 15))
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
    """Replace the site's tariff rules and demand charge, with an audit row."""
    _request_replan(_site(session, site_id))
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
    _audit(
        session,
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
        local = t.astimezone(ZoneInfo(self.timezone))
        return self.slots.get((local.weekday(), (local.hour * 60 + local.minute) // 15))


def tariff_table(session: Session, site: models.Site) -> TariffTable | None:
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


# --- prices per step, with what was assumed -------------------------------------------------


@dataclass(frozen=True)
class PriceStep:
    start: datetime
    import_price_per_kwh: float
    export_price_per_kwh: float
    source: str  # stored, tariff, demo profile, last known day, last known, flat

    @property
    def assumed(self) -> bool:
        return self.source != "stored"


def demo_profile():
    """The demo week's profile in demo mode (what dispatch falls back on), else None."""
    from core.config import get_settings

    settings = get_settings()
    if not settings.demo:
        return None
    from core.demo import demo_profile as read_profile

    return read_profile(settings.demo_dir)


def price_steps(session: Session, site: models.Site, start: datetime, steps: int, profile=None) -> list[PriceStep]:
    """Import and export price for each 15-minute step from `start`, and where each came from."""
    end = start + STEP * steps
    points = session.exec(
        select(models.PricePoint)
        .where(models.PricePoint.site_id == site.id)
        .where(models.PricePoint.end > start - timedelta(days=LAST_DAY_LOOKBACK_DAYS))
        .where(models.PricePoint.start < end)
        .order_by(models.PricePoint.start)
    ).all()
    starts = [p.start for p in points]

    def stored(t: datetime) -> models.PricePoint | None:
        i = bisect.bisect_right(starts, t) - 1
        return points[i] if i >= 0 and points[i].end > t else None

    tariff = tariff_table(session, site)
    last_known = session.exec(
        select(models.PricePoint)
        .where(models.PricePoint.site_id == site.id)
        .where(models.PricePoint.start <= start)
        .order_by(col(models.PricePoint.start).desc())
        .limit(1)
    ).first()
    out = []
    for k in range(steps):
        t = start + STEP * k
        point = stored(t)
        if point is not None:
            out.append(PriceStep(t, point.import_price_per_kwh, point.export_price_per_kwh, "stored"))
            last_known = point
            continue
        rule = tariff.at(t) if tariff else None
        if rule is not None:
            out.append(PriceStep(t, rule[0], rule[1], "tariff"))
            continue
        if profile is not None:
            _, _, import_price, export_price = profile.at(t)
            out.append(PriceStep(t, import_price, export_price, "demo profile"))
            continue
        earlier = next((p for d in range(1, LAST_DAY_LOOKBACK_DAYS + 1) if (p := stored(t - timedelta(days=d)))), None)
        if earlier is not None:
            out.append(PriceStep(t, earlier.import_price_per_kwh, earlier.export_price_per_kwh, "last known day"))
        elif last_known is not None:
            out.append(PriceStep(t, last_known.import_price_per_kwh, last_known.export_price_per_kwh, "last known"))
        else:
            out.append(PriceStep(t, FLAT_IMPORT_PRICE, 0.0, "flat"))
    return out


# --- the ledger of grid events --------------------------------------------------------------


def _floor_step(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


def refresh_ledger(
    *, session: Session, signal: models.GridSignal, at: datetime | None = None
) -> list[models.GridEventLedger]:
    """Recompute the ledger of one event from the meters, for every 15-minute interval that has ended.

    Delivered kW is the mean of the site meter over the interval: net export for an export request,
    net import for an import cap. The reward of an export request is min(delivered, committed) x
    0.25 h x reward per kWh (only when opted in); each vehicle's part of it is its share of the
    energy discharged in the interval (from the chargers' meters).
    """
    at = at or now()
    session.exec(delete(models.GridEventLedger).where(models.GridEventLedger.signal_id == signal.id))
    until = min(signal.end, at)
    if until <= signal.start:
        return []
    first = _floor_step(signal.start)
    site_rows = session.exec(
        select(models.SiteSample.time, models.SiteSample.net_import_kw)
        .where(models.SiteSample.site_id == signal.site_id)
        .where(models.SiteSample.time >= first)
        .where(models.SiteSample.time < until)
    ).all()
    net: dict[datetime, list[float]] = defaultdict(list)
    for t, kw in site_rows:
        net[_floor_step(t)].append(kw)
    chargers = select(models.Charger.id).where(models.Charger.site_id == signal.site_id)
    meter_rows = session.exec(
        select(
            models.MeterSample.time,
            models.MeterSample.charger_id,
            models.MeterSample.power_kw,
            models.PlugSession.vehicle_id,
        )
        .join(models.PlugSession, models.MeterSample.session_id == models.PlugSession.id, isouter=True)
        .where(col(models.MeterSample.charger_id).in_(chargers))
        .where(models.MeterSample.time >= first)
        .where(models.MeterSample.time < until)
    ).all()
    discharge: dict[datetime, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    for t, charger_id, power_kw, vehicle_id in meter_rows:
        if power_kw is not None:
            discharge[_floor_step(t)][(charger_id, vehicle_id or charger_id)].append(max(0.0, -power_kw))
    entries = []
    t = first
    while t < until and t + STEP <= at:
        samples = net.get(t)
        delivered = None
        if samples:
            mean_net = sum(samples) / len(samples)
            delivered = max(0.0, -mean_net) if signal.kind == "export_request" else mean_net
        per_vehicle: dict[str, float] = defaultdict(float)
        for (_, who), values in discharge.get(t, {}).items():
            per_vehicle[who] += sum(values) / len(values) * 0.25
        reward = 0.0
        if signal.kind == "export_request" and signal.opted_in and delivered is not None:
            reward = min(delivered, signal.kw) * 0.25 * signal.reward_per_kwh
        entry = models.GridEventLedger(
            signal_id=signal.id,
            start=t,
            end=t + STEP,
            committed_kw=signal.kw,
            delivered_kw=delivered,
            reward=reward,
            vehicles={k: round(v, 4) for k, v in per_vehicle.items() if v > 0},
        )
        session.add(entry)
        entries.append(entry)
        t += STEP
    return entries


@dataclass(frozen=True)
class EventSummary:
    id: int
    kind: str
    source: str
    start: datetime
    end: datetime
    committed_kw: float
    reward_per_kwh: float
    intervals: int
    committed_kwh: float | None
    delivered_kwh: float | None
    performance_pct: float | None
    reward: float
    vehicle_discharge_kwh: dict[str, float]
    vehicle_reward: dict[str, float]  # the reward shared by each vehicle's part of the interval's discharge


def summarize(signal: models.GridSignal, entries: list[models.GridEventLedger]) -> EventSummary:
    """Totals of an event's ledger. Performance: delivered / committed energy for an export request,
    the share of intervals that stayed under the cap for an import cap."""
    measured = [e for e in entries if e.delivered_kw is not None]
    # A cap commits to a ceiling, not to energy: no committed kWh; delivered kWh is what was imported.
    committed_kwh = sum(e.committed_kw * 0.25 for e in entries) if signal.kind == "export_request" else None
    delivered_kwh = sum(e.delivered_kw * 0.25 for e in measured) if measured else None
    performance = None
    if measured:
        if signal.kind == "export_request":
            performance = 100.0 * sum(e.delivered_kw for e in measured) / sum(e.committed_kw for e in measured)
        else:
            performance = 100.0 * sum(1 for e in measured if e.delivered_kw <= e.committed_kw + 1e-9) / len(measured)
    vehicles: dict[str, float] = defaultdict(float)
    rewards: dict[str, float] = defaultdict(float)
    for e in entries:
        total = sum(e.vehicles.values())
        for who, kwh in e.vehicles.items():
            vehicles[who] += kwh
            rewards[who] += e.reward * kwh / total if total > 0 else 0.0
    return EventSummary(
        signal.id,
        signal.kind,
        signal.source,
        signal.start,
        signal.end,
        signal.kw,
        signal.reward_per_kwh,
        len(entries),
        committed_kwh,
        delivered_kwh,
        performance,
        sum(e.reward for e in entries),
        dict(vehicles),
        dict(rewards),
    )


def event_summaries(
    *, session: Session, site_id: str, start: datetime, end: datetime, at: datetime | None = None
) -> list[EventSummary]:
    """Every import cap and export request overlapping [start, end), its ledger brought up to date.

    An event that ended more than SETTLE_AFTER ago and has its ledger is settled: its stored ledger
    is used as it is (late meter readings have arrived by then), so polling pages do not rewrite it.
    """
    at = at or now()
    signals = session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site_id)
        .where(col(models.GridSignal.kind).in_(SIGNAL_KINDS))
        .where(models.GridSignal.end > start)
        .where(models.GridSignal.start < end)
        .order_by(models.GridSignal.start, models.GridSignal.id)
    ).all()
    out = []
    for s in signals:
        entries = []
        if s.end + SETTLE_AFTER < at:
            entries = list(
                session.exec(
                    select(models.GridEventLedger)
                    .where(models.GridEventLedger.signal_id == s.id)
                    .order_by(models.GridEventLedger.start)
                ).all()
            )
        if not entries:
            entries = refresh_ledger(session=session, signal=s, at=at)
        out.append(summarize(s, entries))
    return out


# --- what the Grid page shows ---------------------------------------------------------------


def grid_view(*, site_id: str, engine: Engine | None = None, hours_back: int = 24, hours_ahead: int = 24) -> dict:
    """Prices (with what was assumed), caps, requests and the metered net import around now, as plain data."""
    at = now()
    start = _floor_step(at) - timedelta(hours=hours_back)
    steps = (hours_back + hours_ahead) * 4
    with session_scope(engine) as session:
        site = _site(session, site_id)
        tz = ZoneInfo(site.timezone)
        prices = price_steps(session, site, start, steps, demo_profile())
        end = start + STEP * steps
        events = event_summaries(session=session, site_id=site_id, start=start, end=end, at=at)
        samples = session.exec(
            select(models.SiteSample.time, models.SiteSample.net_import_kw)
            .where(models.SiteSample.site_id == site_id)
            .where(models.SiteSample.time >= start)
            .where(models.SiteSample.time < at)
        ).all()
        buckets: dict[datetime, list[float]] = defaultdict(list)
        for t, kw in samples:
            buckets[_floor_step(t)].append(kw)
        tariff = tariff_table(session, site)
        return {
            "site_id": site.id,
            "timezone": site.timezone,
            "currency": site.currency,
            "import_limit_kw": site.import_limit_kw,
            "export_limit_kw": site.export_limit_kw,
            "now": at.astimezone(tz),
            "prices": [
                {
                    "time": p.start.astimezone(tz),
                    "import": p.import_price_per_kwh,
                    "export": p.export_price_per_kwh,
                    "source": p.source,
                }
                for p in prices
            ],
            "net_import": [{"time": t.astimezone(tz), "kw": sum(v) / len(v)} for t, v in sorted(buckets.items())],
            "events": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "source": e.source,
                    "start": e.start.astimezone(tz),
                    "end": e.end.astimezone(tz),
                    "kw": e.committed_kw,
                    "reward_per_kwh": e.reward_per_kwh,
                    "delivered_kwh": e.delivered_kwh,
                    "committed_kwh": e.committed_kwh,
                    "performance_pct": e.performance_pct,
                    "reward": e.reward,
                }
                for e in events
            ],
            "tariff": None
            if tariff is None
            else {
                "name": tariff.name,
                "demand_charge_per_kw_month": tariff.demand_charge_per_kw_month,
                "rules": [
                    {
                        "weekdays": r.weekdays,
                        "start": r.start_time,
                        "end": r.end_time,
                        "import": r.import_price_per_kwh,
                        "export": r.export_price_per_kwh,
                    }
                    for r in tariff.rules
                ],
            },
        }


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.signals", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("import-prices", "import a price CSV"), ("import-signals", "import a grid-event CSV")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("file", type=Path)
        p.add_argument("--site", help="site id (default: the first site)")
        p.add_argument("--timezone", help="zone of timestamps without a UTC offset, e.g. Europe/Amsterdam")
    p = sub.add_parser("set-tariff", help="set the time-of-use tariff from a JSON file")
    p.add_argument("file", type=Path)
    p.add_argument("--site", help="site id (default: the first site)")
    args = parser.parse_args(argv)

    from core.db import init_db
    from core.telemetry import NoSiteError, default_site_id

    init_db()
    try:
        site_id = args.site or default_site_id()
        if args.command == "set-tariff":
            try:
                doc = json.loads(read_text_file(args.file))
            except json.JSONDecodeError as exc:
                raise SignalError(f"{args.file}: not JSON ({exc})") from None
            spec = parse_tariff(doc)
            with session_scope() as session:
                set_tariff(session=session, site_id=site_id, spec=spec, actor="cli")
            print(f"tariff {spec.name!r}: {len(spec.rules)} rules for site {site_id}")
            return 0
        text = read_text_file(args.file)
        if args.command == "import-prices":
            n = import_prices(text=text, site_id=site_id, timezone=args.timezone, actor="cli")
            print(f"stored {n} 15-minute price points for site {site_id}")
        else:
            n = import_signals(text=text, site_id=site_id, timezone=args.timezone, actor="cli")
            print(f"stored {n} grid events for site {site_id}")
        return 0
    except (SignalError, NoSiteError, OSError) as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
