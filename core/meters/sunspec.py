"""The SunSpec register layout the console reads (pure): where a device's models start, and where
the total real power (W, with its scale factor W_SF) lies in each model it uses.

A SunSpec device holds "SunS" at one of the base addresses, then models one after another, each
[ID, L, L registers of points], ending with ID 0xFFFF. The integer + scale-factor models are read:
meters 201-204 (W at offset 18, W_SF at 22, counted from the model's ID register) and inverters
101-103 (W at 14, W_SF at 15). Layouts from the SunSpec model definitions (as pysunspec2 ships them).
"""

from __future__ import annotations

SUNS = (0x5375, 0x6E53)  # "SunS"
BASE_ADDRESSES = (40000, 0, 50000)
END_ID = 0xFFFF
NOT_IMPLEMENTED_INT16 = 0x8000
MAX_MODELS = 50

COMMON_MODEL, COMMON_LENGTH = 1, 66
METER_MODELS = (201, 202, 203, 204)
METER_LENGTH, METER_W, METER_W_SF = 105, 18, 22
INVERTER_MODELS = (101, 102, 103)
INVERTER_LENGTH, INVERTER_W, INVERTER_W_SF = 50, 14, 15


def int16(register: int) -> int | None:
    """A register as a signed 16-bit value; None for SunSpec's "not implemented" 0x8000."""
    if register == NOT_IMPLEMENTED_INT16:
        return None
    return register - 0x10000 if register & 0x8000 else register


def watts(w_register: int, sf_register: int) -> float | None:
    """W x 10^W_SF, None when either is not implemented."""
    w, sf = int16(w_register), int16(sf_register)
    if w is None or sf is None:
        return None
    return w * 10.0**sf


def power_points(model_id: int) -> tuple[int, int] | None:
    """(W offset, W_SF offset) of a model the console reads, None for any other model."""
    if model_id in METER_MODELS:
        return METER_W, METER_W_SF
    if model_id in INVERTER_MODELS:
        return INVERTER_W, INVERTER_W_SF
    return None


# --- building a device image (the try-out simulator and the tests serve it) -----------------------


def _model(model_id: int, length: int, points: dict[int, int]) -> list[int]:
    regs = [model_id, length] + [0] * length
    for offset, value in points.items():
        regs[offset] = value & 0xFFFF
    return regs


def device_image(*, meter_w: float, inverter_w: float | None, w_sf: int = 1) -> tuple[list[int], dict[str, int]]:
    """Registers from BASE_ADDRESSES[0]: "SunS", common model 1, meter model 203 with `meter_w`, an
    optional inverter model 103 with `inverter_w`, the end marker; and the address of each W register
    ({"meter": ..., "inverter": ...}) for changing the power while serving."""
    base = BASE_ADDRESSES[0]
    text = b"DemoMeter".ljust(32, b"\0")
    manufacturer = [int.from_bytes(text[i : i + 2], "big") for i in range(0, 32, 2)]
    regs = list(SUNS) + _model(COMMON_MODEL, COMMON_LENGTH, dict(enumerate(manufacturer, start=2)))
    addresses = {"meter": base + len(regs) + METER_W}
    regs += _model(203, METER_LENGTH, {METER_W: w_register(meter_w, w_sf), METER_W_SF: w_sf})
    if inverter_w is not None:
        addresses["inverter"] = base + len(regs) + INVERTER_W
        regs += _model(103, INVERTER_LENGTH, {INVERTER_W: w_register(inverter_w, w_sf), INVERTER_W_SF: w_sf})
    return regs + [END_ID, 0], addresses


def w_register(w: float, w_sf: int = 1) -> int:
    """A power in W as the int16 register for scale factor `w_sf` (two's complement)."""
    raw = round(w / 10.0**w_sf)
    if not -32767 <= raw <= 32767:
        raise ValueError(f"{w} W does not fit an int16 register at scale factor {w_sf}")
    return raw & 0xFFFF
