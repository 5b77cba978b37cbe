"""Importing vehicles from a CSV file: all rows or none.

The header (README, "Admin"): `id,name,kind,battery_kwh,max_charge_kw,max_discharge_kw,taper_start_pct,
soc_floor_pct,target_soc_pct,usual_arrival,usual_departure,v2g_allowed,id_tag,evcc_id,home_charger_id`
(every column present, in any order; SoC columns in %, empty = the default). Every row is checked
before anything is written; an error names its row (the file's line number) and column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import Session

from core import models
from core.admin.common import identifier, number, require_admin
from core.admin.vehicles import add_vehicle, check_vehicle_fields
from core.errors import FieldErrors, ValidationError
from core.sites import request_replan

CSV_COLUMNS = (
    "id",
    "name",
    "kind",
    "battery_kwh",
    "max_charge_kw",
    "max_discharge_kw",
    "taper_start_pct",
    "soc_floor_pct",
    "target_soc_pct",
    "usual_arrival",
    "usual_departure",
    "v2g_allowed",
    "id_tag",
    "evcc_id",
    "home_charger_id",
)
# Columns given in % in the file -> the vehicle's fraction field.
PERCENT_COLUMNS = {"taper_start_pct": "taper_start_soc", "soc_floor_pct": "soc_floor", "target_soc_pct": "target_soc"}
# Empty cells that take the vehicle's default rather than "nothing".
DEFAULTS = {
    "kind": "car",
    "max_discharge_kw": "0",
    "target_soc_pct": "90",
    "usual_arrival": "18:00",
    "usual_departure": "07:00",
    "v2g_allowed": "yes",
}
MAX_ROWS = 5000
FIELD_TO_COLUMN = {field: column for column, field in PERCENT_COLUMNS.items()}


def _row_fields(errors: FieldErrors, row: dict[str, str], site_id: str) -> dict[str, Any]:
    """The service's fields of one CSV row (% columns turned into fractions)."""
    fields: dict[str, Any] = {"site_id": site_id}
    for column in CSV_COLUMNS:
        raw = (row.get(column) or "").strip() or DEFAULTS.get(column, "")
        if column in PERCENT_COLUMNS:
            pct = number(errors, column, raw, low=0, high=100, required=False)
            fields[PERCENT_COLUMNS[column]] = None if pct is None else round(pct / 100, 6)
        elif column != "id":
            fields[column] = raw or None
    return fields


def parse_vehicle_csv(text: str) -> list[dict[str, str]]:
    """The rows of the file as dicts; ValidationError naming the header's fault."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        parts = ([f"lacks column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        )
        raise ValidationError({"header": "; ".join(parts) + f" (expected: {','.join(CSV_COLUMNS)})"})
    reader.fieldnames = header
    rows = list(reader)
    if not rows:
        raise ValidationError({"file": "no vehicle rows after the header"})
    if len(rows) > MAX_ROWS:
        raise ValidationError({"file": f"at most {MAX_ROWS} rows at once"})
    return rows


def import_vehicles(*, session: Session, actor: str, site_id: str, text: str) -> list[str]:
    """Add every vehicle of the CSV `text` to site `site_id`, or none: the ids added.

    Errors come as {"row N, column": message} for every bad cell of every row (N: the line of the file)."""
    require_admin(session, actor)
    rows = parse_vehicle_csv(text)
    errors = FieldErrors()
    taken: dict[str, str] = {}
    seen: dict[str, int] = {}
    checked = []
    for line, row in enumerate(rows, start=2):
        if None in row:  # more cells than the header has
            errors.add(f"row {line}", f"{len(row[None])} cell(s) more than the header's {len(CSV_COLUMNS)}")
            continue
        row_errors = FieldErrors()
        vehicle_id = identifier(row_errors, "id", row.get("id")) or ""
        if vehicle_id and session.get(models.Vehicle, vehicle_id) is not None:
            row_errors.add("id", f"a vehicle {vehicle_id!r} exists already")
        elif vehicle_id in seen:
            row_errors.add("id", f"{vehicle_id!r} is on row {seen[vehicle_id]} already")
        seen.setdefault(vehicle_id, line)
        fields = _row_fields(row_errors, row, site_id)
        probe = FieldErrors()
        check_vehicle_fields(session, probe, {"id": vehicle_id, **fields}, taken=taken)
        for name, message in [*row_errors.items(), *probe.items()]:  # the cell's own fault first
            column = "site" if name == "site" else FIELD_TO_COLUMN.get(name, name)
            errors.add(f"row {line}, {column}", message)
        checked.append((line, vehicle_id, fields))
    if "row 2, site" in errors:
        raise ValidationError({"site": errors["row 2, site"]})
    errors.raise_if_any()
    added = []
    for line, vehicle_id, fields in checked:
        try:
            vehicle = add_vehicle(session=session, actor=actor, vehicle_id=vehicle_id, **fields)
        except ValidationError as exc:  # the id or a tag was checked above; this is the last word
            raise ValidationError(
                {f"row {line}, {FIELD_TO_COLUMN.get(k, k)}": v for k, v in exc.errors.items()}
            ) from None
        added.append(vehicle.id)
    request_replan(session=session, site_id=site_id)
    return added
