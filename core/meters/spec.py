"""What a site meter's configuration may say, and how a raw value becomes kW (pure, no I/O).

Quantities, all kW: `net_import_kw` at the grid connection (positive = import), `building_load_kw`
(the site's own consumption, EVs excluded), `pv_kw` (positive = produced).

A generic Modbus point: {"address": 0-65535, "type": int16|uint16|int32|uint32|float32,
"scale": kW per raw unit (0.001 for W), "sign": 1 or -1, "word_order": big|little, "table":
holding|input}. An MQTT point: {"topic": default the meter's topic, "path": dotted path into the
JSON payload ("" for a payload that is a plain number; list items by index: "meters.0.w"),
"scale", "sign"}.
"""

from __future__ import annotations

import json
import math
from typing import Any

from core.errors import FieldErrors

NET_IMPORT = "net_import_kw"
BUILDING = "building_load_kw"
PV = "pv_kw"
QUANTITIES = (NET_IMPORT, BUILDING, PV)
KINDS = ("modbus", "mqtt", "ocpp")
NET_IMPORT_SIGNS = ("import_positive", "export_positive")
# Registers per Modbus type.
REGISTER_TYPES = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
WORD_ORDERS = ("big", "little")
TABLES = ("holding", "input")
# SunSpec gives the grid meter (models 201-204) and the inverter (101-103): these two only.
SUNSPEC_QUANTITIES = (NET_IMPORT, PV)
OCPP_QUANTITIES = (NET_IMPORT,)


def parse_json(errors: FieldErrors, name: str, value: Any) -> dict | None:
    """A JSON object given as text (command line, form) or already as a dict."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError) as exc:
        errors.add(name, f"not valid JSON ({exc})")
        return None
    if not isinstance(parsed, dict):
        errors.add(name, "must be a JSON object {quantity: {...}}")
        return None
    return parsed


def _scale_and_sign(errors: FieldErrors, where: str, point: dict) -> tuple[float, int] | None:
    scale, sign = point.get("scale", 1.0), point.get("sign", 1)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) or scale == 0:
        errors.add(where, f"scale must be a non-zero number, got {scale!r}")
        return None
    if sign not in (1, -1) or isinstance(sign, bool):
        errors.add(where, f"sign must be 1 or -1, got {sign!r}")
        return None
    return float(scale), int(sign)


def _known_quantities(errors: FieldErrors, name: str, points: dict) -> bool:
    unknown = [q for q in points if q not in QUANTITIES]
    if unknown:
        errors.add(name, f"unknown quantity {unknown[0]!r}: use {', '.join(QUANTITIES)}")
        return False
    if not points:
        errors.add(name, "give at least one quantity")
        return False
    return True


def check_registers(errors: FieldErrors, name: str, registers: dict) -> dict | None:
    """A generic Modbus register map, normalised (defaults filled in); errors name the quantity."""
    if not _known_quantities(errors, name, registers):
        return None
    out = {}
    for quantity, point in registers.items():
        where = f"{name}.{quantity}"
        if not isinstance(point, dict):
            errors.add(where, "must be an object {address, type, scale, sign}")
            return None
        address = point.get("address")
        if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 65535:
            errors.add(where, f"address must be a whole number 0-65535, got {address!r}")
            return None
        kind = point.get("type", "int16")
        if kind not in REGISTER_TYPES:
            errors.add(where, f"type must be one of {', '.join(REGISTER_TYPES)}, got {kind!r}")
            return None
        word_order, table = point.get("word_order", "big"), point.get("table", "holding")
        if word_order not in WORD_ORDERS:
            errors.add(where, f"word_order must be big or little, got {word_order!r}")
            return None
        if table not in TABLES:
            errors.add(where, f"table must be holding or input, got {table!r}")
            return None
        scale_sign = _scale_and_sign(errors, where, point)
        if scale_sign is None:
            return None
        out[quantity] = {
            "address": address, "type": kind, "scale": scale_sign[0], "sign": scale_sign[1],
            "word_order": word_order, "table": table,
        }  # fmt: skip
    return out


def check_paths(errors: FieldErrors, name: str, paths: dict, *, topic: str | None) -> dict | None:
    """An MQTT point map, normalised; every point needs a topic (its own or the meter's)."""
    if not _known_quantities(errors, name, paths):
        return None
    out = {}
    for quantity, point in paths.items():
        where = f"{name}.{quantity}"
        if isinstance(point, str):
            point = {"path": point}
        if not isinstance(point, dict):
            errors.add(where, "must be a JSON path or an object {topic, path, scale, sign}")
            return None
        point_topic = point.get("topic") or topic
        if not point_topic or not isinstance(point_topic, str):
            errors.add(where, "needs a topic (its own, or the meter's --topic)")
            return None
        if any(c in point_topic for c in "+#"):
            errors.add(where, f"topic {point_topic!r}: one exact topic per value, no wildcards")
            return None
        path = point.get("path", "")
        if not isinstance(path, str):
            errors.add(where, f"path must be text such as 'grid.power_w', got {path!r}")
            return None
        scale_sign = _scale_and_sign(errors, where, point)
        if scale_sign is None:
            return None
        out[quantity] = {"topic": point_topic, "path": path, "scale": scale_sign[0], "sign": scale_sign[1]}
    return out


def scaled(raw: float, point: dict) -> float:
    """A raw value in kW: times the point's scale and sign."""
    return float(raw) * point.get("scale", 1.0) * point.get("sign", 1)


class PayloadError(ValueError):
    """An MQTT payload that does not hold a number at the configured path."""


def value_at(payload: bytes | str, path: str) -> float:
    """The number at dotted `path` of a JSON payload, or the payload itself when `path` is empty."""
    text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
    try:
        value: Any = json.loads(text)
    except ValueError as exc:
        raise PayloadError(f"payload {text[:60]!r} is not JSON or a number") from exc
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise PayloadError(f"no {part!r} at {path!r} in payload {text[:60]!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"{path or 'payload'} is {value!r}, not a number")
    return float(value)
