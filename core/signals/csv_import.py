"""Reading uploaded and command-line CSV files: size and row limits, decoding, rows, timestamps,
numbers, and the price file (`parse_price_csv`). The grid-event file is read in core.signals.grid_events
with the same helpers, since its rows are checked by the event rule there.

Every check refuses the whole file with a SignalError naming the row (the header is row 1, as in a
spreadsheet) and the column.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from core.rules.local_time import site_zone
from core.rules.steps import STEP
from core.signals.errors import SignalError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
ALLOWED_INTERVALS = (STEP, timedelta(hours=1))

_UTC = ZoneInfo("UTC")
_PRICE_COLUMN = re.compile(r"^(import|export)_([a-z]{3})_per_(kwh|mwh)$")


# --- the file as text -------------------------------------------------------------------------


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
    """The text of a file on disk (the command line), its size checked before reading."""
    check_size(path.stat().st_size)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SignalError(f"{path} is not UTF-8 text") from exc


# --- rows and cells ---------------------------------------------------------------------------


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
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
    """The zone of timestamps without an offset (None when not given); SignalError when unknown."""
    if not name:
        return None
    try:
        return site_zone(name)
    except ValueError as exc:
        raise SignalError(str(exc)) from None


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
        return value.astimezone(_UTC)
    if tz is None:
        raise SignalError(f"{raw!r} has no UTC offset: give the time zone (--timezone)", row=row, column=column)
    first, second = value.replace(tzinfo=tz), value.replace(tzinfo=tz, fold=1)
    if first.astimezone(_UTC).astimezone(tz).replace(tzinfo=None) != value:
        raise SignalError(f"{raw!r} does not exist in {tz.key} (clocks jump forward)", row=row, column=column)
    utc_first = first.astimezone(_UTC)
    utc_second = second.astimezone(_UTC)
    # The repeated hour when clocks go back: the second pass follows the first.
    if previous is not None and utc_first <= previous < utc_second:
        return utc_second
    return utc_first


def parse_number(raw: str, *, row: int, column: str) -> float:
    """A finite number from a cell ('.' as the decimal mark)."""
    try:
        value = float(raw)
    except ValueError:
        hint = " (use '.' as the decimal mark)" if "," in raw else ""
        raise SignalError(f"{raw!r} is not a number{hint}", row=row, column=column) from None
    if not math.isfinite(value):
        raise SignalError(f"{raw!r} is not a finite number", row=row, column=column)
    return value


def cells_iso(t: datetime) -> str:
    """A UTC time as messages show it (`...Z`)."""
    return t.isoformat().replace("+00:00", "Z")


# --- the price file ---------------------------------------------------------------------------


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


def parse_price_csv(text: str, *, currency: str, timezone: str | None = None) -> list[PriceRow]:
    """The rows of a price file, validated completely; raises SignalError naming row and column."""
    tz = zone(timezone)
    header, rows = read_rows(text)
    columns = _price_columns(header, currency)
    intervals = _intervals(rows, tz, "end" in header)
    out = []
    for (number, cells), (_, start, end) in zip(rows, intervals, strict=True):
        name, divisor = columns["import"]
        import_price = parse_number(cells[name], row=number, column=name) / divisor
        export_price = 0.0
        if "export" in columns:
            name, divisor = columns["export"]
            export_price = parse_number(cells[name], row=number, column=name) / divisor
        out.append(PriceRow(number, start, end, import_price, export_price))
    return out
