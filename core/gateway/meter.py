"""OCPP meter values -> readings in the console's units (kW, kWh, SoC fraction, aware UTC time).

Pure functions shared by the 1.6 and 2.x handlers. They receive the payload as the `ocpp` library
hands it to a handler: snake_case keys, nested objects as dicts.

Scaling follows the unit each sampled value gives: W/kW, Wh/kWh, Percent; 2.x adds a power-of-ten
`multiplier`. Without a unit the OCPP defaults apply (energy in Wh, power in W, SoC in percent).
One signed power comes out: Power.Active.Import minus Power.Active.Export, because during discharge
some stations send a negative import and others a positive export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

POWER_IMPORT = "Power.Active.Import"
POWER_EXPORT = "Power.Active.Export"
ENERGY_IMPORT = "Energy.Active.Import.Register"
ENERGY_EXPORT = "Energy.Active.Export.Register"
SOC = "SoC"
DEFAULT_MEASURAND = ENERGY_IMPORT

# What each accepted unit is divided by to give kW, kWh or a fraction.
_UNIT_DIVISOR = {
    POWER_IMPORT: {"W": 1000.0, "kW": 1.0},
    POWER_EXPORT: {"W": 1000.0, "kW": 1.0},
    ENERGY_IMPORT: {"Wh": 1000.0, "kWh": 1.0},
    ENERGY_EXPORT: {"Wh": 1000.0, "kWh": 1.0},
    SOC: {"Percent": 100.0},
}
_DEFAULT_UNIT = {
    POWER_IMPORT: "W",
    POWER_EXPORT: "W",
    ENERGY_IMPORT: "Wh",
    ENERGY_EXPORT: "Wh",
    SOC: "Percent",
}
# Where a total is read; per-phase values are summed only when no total is given.
_TOTAL_LOCATIONS = (None, "Outlet", "EV")
_PHASE_FAMILIES = (("L1", "L2", "L3"), ("L1-N", "L2-N", "L3-N"))


class MeterValueError(ValueError):
    """A meter value the charger sent cannot be a reading (bad number, time or range)."""


@dataclass(frozen=True)
class Reading:
    """One meter reading of a charger at one instant; None where the charger did not say."""

    time: datetime
    power_kw: float | None = None  # signed: + charging, - discharging
    soc: float | None = None  # fraction 0-1
    energy_import_kwh: float | None = None  # register, into the vehicle
    energy_export_kwh: float | None = None  # register, out of the vehicle


def parse_timestamp(value: str) -> datetime:
    """An OCPP timestamp as an aware UTC datetime; one without a zone is taken to be UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise MeterValueError(f"timestamp {value!r} is not ISO 8601") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def readings_from_meter_values(meter_value: list[dict], *, protocol: str) -> list[Reading]:
    """One Reading per meterValue element (per timestamp) that carries anything the console uses."""
    readings = []
    for element in meter_value:
        time = parse_timestamp(element["timestamp"])
        values: dict[str, list[tuple[float, str | None, str | None]]] = {}
        for sampled in element.get("sampled_value", []):
            measurand = sampled.get("measurand", DEFAULT_MEASURAND)
            if measurand not in _UNIT_DIVISOR:
                continue
            value = _scaled_value(sampled, measurand, protocol)
            if value is not None:
                values.setdefault(measurand, []).append(
                    (value, sampled.get("phase"), sampled.get("location"))
                )
        totals = {measurand: _total(candidates) for measurand, candidates in values.items()}
        reading = Reading(
            time=time,
            power_kw=_signed_power(totals.get(POWER_IMPORT), totals.get(POWER_EXPORT)),
            soc=totals.get(SOC),
            energy_import_kwh=totals.get(ENERGY_IMPORT),
            energy_export_kwh=totals.get(ENERGY_EXPORT),
        )
        if reading.soc is not None and not 0.0 <= reading.soc <= 1.0:
            raise MeterValueError(f"SoC {reading.soc * 100:g} % is outside 0-100 %")
        if any(
            v is not None
            for v in (reading.power_kw, reading.soc, reading.energy_import_kwh, reading.energy_export_kwh)
        ):
            readings.append(reading)
    return readings


def _scaled_value(sampled: dict, measurand: str, protocol: str) -> float | None:
    """The sampled value in kW / kWh / fraction, None for a unit the console does not use."""
    raw = sampled.get("value")
    if protocol == "1.6":
        unit = sampled.get("unit") or _DEFAULT_UNIT[measurand]
        multiplier = 0
    else:
        unit_of_measure = sampled.get("unit_of_measure") or {}
        unit = unit_of_measure.get("unit") or _DEFAULT_UNIT[measurand]
        multiplier = unit_of_measure.get("multiplier", 0)
    divisor = _UNIT_DIVISOR[measurand].get(unit)
    if divisor is None:
        return None
    try:
        value = float(raw)  # 1.6 sends numbers as strings, 2.x as numbers
    except (TypeError, ValueError) as exc:
        raise MeterValueError(f"{measurand} value {raw!r} is not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise MeterValueError(f"{measurand} value {raw!r} is not a finite number")
    if multiplier:
        value *= 10.0**multiplier
    return value / divisor


def _total(candidates: list[tuple[float, str | None, str | None]]) -> float | None:
    for value, phase, location in candidates:
        if phase is None and location in _TOTAL_LOCATIONS:
            return value
    for value, phase, _ in candidates:
        if phase is None:
            return value
    for family in _PHASE_FAMILIES:
        phased = [value for value, phase, _ in candidates if phase in family]
        if phased:
            return sum(phased)
    return None


def _signed_power(import_kw: float | None, export_kw: float | None) -> float | None:
    if import_kw is None and export_kw is None:
        return None
    return (import_kw or 0.0) - (export_kw or 0.0)
