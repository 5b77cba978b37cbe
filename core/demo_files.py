"""The demo site's files: a bus and van depot in Amsterdam, read from the plain files in `data/demo/`.

`site.json` holds the site, its chargers, vehicles and V2G windows; `profile.csv` a week of
building load, PV and prices at 15 minutes (derived from real data, see `data/README.md`). Both
are validated completely before anything is written, so a broken file leaves the database as it
was and the error names the file and the field. Seeding the database from them is core.demo's
(through the admin services, core.admin); this module only reads, so the price and meter code
below the admin layer may use the demo week.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

STEP_MINUTES = 15
STEPS_PER_WEEK = 7 * 24 * 60 // STEP_MINUTES
PROTOCOLS = ("1.6", "2.0.1", "2.1")


class DemoDataError(ValueError):
    """A demo file is missing or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class DemoCharger:
    id: str
    protocol: str
    max_charge_kw: float
    max_discharge_kw: float
    efficiency: float
    password: str
    accepts_negative_limits: bool
    vendor: str
    model: str


@dataclass(frozen=True)
class DemoVehicle:
    id: str
    name: str
    kind: str
    battery_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    soc_floor: float | None
    target_soc: float
    usual_arrival: str
    usual_departure: str
    arrival_soc: float
    v2g_allowed: bool
    id_tag: str
    home_charger_id: str


@dataclass(frozen=True)
class DemoProfile:
    """A week of building load, PV and prices, one row per 15 minutes from Monday 00:00 local time."""

    timezone: str
    building_load_kw: tuple[float, ...]
    pv_kw: tuple[float, ...]
    import_price_per_kwh: tuple[float, ...]
    export_price_per_kwh: tuple[float, ...]

    def step_index(self, at: datetime) -> int:
        """Index of the profile row for the instant `at`, by weekday and local time of day."""
        local = at.astimezone(ZoneInfo(self.timezone))
        return (local.weekday() * 24 * 60 + local.hour * 60 + local.minute) // STEP_MINUTES

    def at(self, at: datetime) -> tuple[float, float, float, float]:
        """(building_load_kw, pv_kw, import_price_per_kwh, export_price_per_kwh) at the instant `at`."""
        i = self.step_index(at)
        return (
            self.building_load_kw[i],
            self.pv_kw[i],
            self.import_price_per_kwh[i],
            self.export_price_per_kwh[i],
        )


@dataclass(frozen=True)
class DemoSite:
    site: dict
    v2g_windows: list[dict]
    chargers: list[DemoCharger]
    vehicles: list[DemoVehicle]
    profile: DemoProfile


def _require(record: dict, key: str, kind: type | tuple, where: str, *, nullable: bool = False):
    if key not in record:
        raise DemoDataError(f"{where}.{key}: missing")
    value = record[key]
    if value is None and nullable:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is float and isinstance(value, bool)):
        raise DemoDataError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _fraction(record: dict, key: str, where: str, *, nullable: bool = False) -> float | None:
    value = _require(record, key, float, where, nullable=nullable)
    if value is not None and not 0.0 <= value <= 1.0:
        raise DemoDataError(f"{where}.{key}: must be a fraction between 0 and 1, got {value}")
    return value


def _clock_time(record: dict, key: str, where: str) -> str:
    value = _require(record, key, str, where)
    try:
        datetime.strptime(value, "%H:%M")
    except ValueError as exc:
        raise DemoDataError(f"{where}.{key}: expected HH:MM, got {value!r}") from exc
    return value


def read_site_file(path: Path) -> tuple[dict, list[dict], list[DemoCharger], list[DemoVehicle]]:
    """Parse and check `site.json`; raise DemoDataError naming the file and field on any fault."""
    name = path.name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DemoDataError(f"{path}: demo file is missing") from exc
    except json.JSONDecodeError as exc:
        raise DemoDataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(doc, dict):
        raise DemoDataError(f"{name}: expected a JSON object at the top level")
    site = _require(doc, "site", dict, name)
    where = f"{name}: site"
    for key in ("id", "name", "timezone"):
        _require(site, key, str, where)
    try:
        ZoneInfo(site["timezone"])
    except Exception as exc:
        raise DemoDataError(f"{where}.timezone: unknown time zone {site['timezone']!r}") from exc
    for key in ("import_limit_kw", "export_limit_kw"):
        if _require(site, key, float, where) <= 0:
            raise DemoDataError(f"{where}.{key}: must be positive")
    _fraction(site, "default_soc_floor", where)
    _fraction(site, "hard_soc_floor", where)

    windows = _require(doc, "v2g_windows", list, name)
    for i, window in enumerate(windows):
        w_where = f"{name}: v2g_windows[{i}]"
        _clock_time(window, "start_time", w_where)
        _clock_time(window, "end_time", w_where)
        days = _require(window, "weekdays", str, w_where)
        if not days or any(d not in "0123456" for d in days):
            raise DemoDataError(f"{w_where}.weekdays: digits 0 (Monday) to 6 (Sunday), got {days!r}")

    chargers = []
    for i, raw in enumerate(_require(doc, "chargers", list, name)):
        c_where = f"{name}: chargers[{i}]"
        protocol = _require(raw, "protocol", str, c_where)
        if protocol not in PROTOCOLS:
            raise DemoDataError(f"{c_where}.protocol: one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        charger = DemoCharger(
            id=_require(raw, "id", str, c_where),
            protocol=protocol,
            max_charge_kw=_require(raw, "max_charge_kw", float, c_where),
            max_discharge_kw=_require(raw, "max_discharge_kw", float, c_where),
            efficiency=_fraction(raw, "efficiency", c_where),
            password=_require(raw, "password", str, c_where),
            accepts_negative_limits=bool(raw.get("accepts_negative_limits", False)),
            vendor=str(raw.get("vendor", "")),
            model=str(raw.get("model", "")),
        )
        if charger.max_charge_kw <= 0 or charger.max_discharge_kw < 0:
            raise DemoDataError(f"{c_where}.max_charge_kw: must be positive (and max_discharge_kw >= 0)")
        chargers.append(charger)
    charger_ids = {c.id for c in chargers}

    vehicles = []
    for i, raw in enumerate(_require(doc, "vehicles", list, name)):
        v_where = f"{name}: vehicles[{i}]"
        vehicle = DemoVehicle(
            id=_require(raw, "id", str, v_where),
            name=_require(raw, "name", str, v_where),
            kind=_require(raw, "kind", str, v_where),
            battery_kwh=_require(raw, "battery_kwh", float, v_where),
            max_charge_kw=_require(raw, "max_charge_kw", float, v_where),
            max_discharge_kw=_require(raw, "max_discharge_kw", float, v_where),
            soc_floor=_fraction(raw, "soc_floor", v_where, nullable=True),
            target_soc=_fraction(raw, "target_soc", v_where),
            usual_arrival=_clock_time(raw, "usual_arrival", v_where),
            usual_departure=_clock_time(raw, "usual_departure", v_where),
            arrival_soc=_fraction(raw, "arrival_soc", v_where),
            v2g_allowed=_require(raw, "v2g_allowed", bool, v_where),
            id_tag=_require(raw, "id_tag", str, v_where),
            home_charger_id=_require(raw, "home_charger_id", str, v_where),
        )
        if vehicle.battery_kwh <= 0:
            raise DemoDataError(f"{v_where}.battery_kwh: must be positive")
        if vehicle.home_charger_id not in charger_ids:
            raise DemoDataError(f"{v_where}.home_charger_id: no charger {vehicle.home_charger_id!r}")
        if vehicle.soc_floor is not None and vehicle.soc_floor > vehicle.target_soc:
            raise DemoDataError(f"{v_where}.soc_floor: {vehicle.soc_floor} is above target_soc {vehicle.target_soc}")
        vehicles.append(vehicle)
    return site, windows, chargers, vehicles


PROFILE_COLUMNS = ("local_time", "building_load_kw", "pv_kw", "import_price_per_kwh", "export_price_per_kwh")


def read_profile_file(path: Path, timezone: str) -> DemoProfile:
    """Parse and check `profile.csv`: one week from Monday 00:00, every 15 minutes, all numbers."""
    name = path.name
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError as exc:
        raise DemoDataError(f"{path}: demo file is missing") from exc
    columns: dict[str, list[float]] = {c: [] for c in PROFILE_COLUMNS[1:]}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in PROFILE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DemoDataError(f"{name}: header lacks column(s) {', '.join(missing)}")
        for row_number, row in enumerate(reader, start=2):
            for column, values in columns.items():
                try:
                    values.append(float(row[column]))
                except (TypeError, ValueError) as exc:
                    raise DemoDataError(
                        f"{name}: row {row_number}, column {column}: not a number ({row[column]!r})"
                    ) from exc
    rows = len(columns["pv_kw"])
    if rows != STEPS_PER_WEEK:
        raise DemoDataError(f"{name}: expected {STEPS_PER_WEEK} rows (a week at 15 minutes), got {rows}")
    return DemoProfile(timezone=timezone, **{c: tuple(v) for c, v in columns.items()})


def read_demo(demo_dir: Path) -> DemoSite:
    """Read and validate every demo file in `demo_dir`."""
    site, windows, chargers, vehicles = read_site_file(demo_dir / "site.json")
    profile = read_profile_file(demo_dir / "profile.csv", site["timezone"])
    return DemoSite(site=site, v2g_windows=windows, chargers=chargers, vehicles=vehicles, profile=profile)


def demo_profile(demo_dir: Path) -> DemoProfile:
    """The demo week's profile, read again only when the files change (dispatch asks every minute)."""
    stamps = tuple((demo_dir / name).stat().st_mtime_ns for name in ("site.json", "profile.csv"))
    return _cached_profile(str(demo_dir), stamps)


@lru_cache(maxsize=4)
def _cached_profile(demo_dir: str, _stamps: tuple) -> DemoProfile:
    return read_demo(Path(demo_dir)).profile
