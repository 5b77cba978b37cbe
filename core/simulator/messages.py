"""The OCPP messages the simulated charge point sends, per version (1.6, 2.0.1, 2.1), and their parts.

`Reading` is one meter reading as the station takes it; `QueuedMessage` a transaction-related message
waiting in the charge point's ordered queue. The builders take the library's request classes of the
connection's version (`calls`, the `call` module of ocpp.v16 / v201 / v21) and return a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.simulator.charger import SimCharger
from core.simulator.vehicle import SimVehicle

DC_VOLTAGE_V = 800.0


@dataclass(frozen=True)
class Reading:
    """One meter reading as the station takes it."""

    at: datetime
    power_kw: float
    soc: float | None
    import_wh: float
    export_wh: float
    context: str = "Sample.Periodic"


@dataclass
class QueuedMessage:
    """A transaction-related message waiting to be sent, in order (1.6 §3.7 / 2.0.1 E)."""

    kind: str  # "start", "needs", "sample", "stop", "status"
    at: datetime
    transaction_key: str = ""  # 2.x: the transaction id; 1.6: ours, mapped to the central system's id
    reading: Reading | None = None
    seq_no: int = 0
    offline: bool = False
    extra: dict = field(default_factory=dict)


# --- the requests ------------------------------------------------------------------------------------


def boot_request(calls, charger: SimCharger):
    """BootNotification (reason PowerUp on 2.x)."""
    if charger.protocol == "1.6":
        return calls.BootNotification(charge_point_vendor=charger.vendor, charge_point_model=charger.model)
    return calls.BootNotification(
        charging_station={"vendor_name": charger.vendor, "model": charger.model},
        reason="PowerUp",
    )


def status_request(
    calls, charger: SimCharger, at: datetime, *, plugged: bool, status16: str | None = None, status2: str | None = None
):
    """StatusNotification of connector 1 (EVSE 1); without a status given, from whether it is plugged."""
    if charger.protocol == "1.6":
        status16 = status16 or ("Charging" if plugged else "Available")
        return calls.StatusNotification(connector_id=1, error_code="NoError", status=status16, timestamp=iso(at))
    status2 = status2 or ("Occupied" if plugged else "Available")
    return calls.StatusNotification(timestamp=iso(at), connector_status=status2, evse_id=1, connector_id=1)


def queued_request(
    calls,
    item: QueuedMessage,
    *,
    charger: SimCharger,
    vehicle: SimVehicle | None,
    plugged: bool,
    tx16_ids: dict[str, int],
):
    """The request that sends a queued message; `tx16_ids` maps our 1.6 transaction keys to the
    central system's transaction ids."""
    if item.kind == "status":
        return status_request(
            calls, charger, item.at, plugged=plugged, status16=item.extra["status16"], status2=item.extra["status2"]
        )
    if charger.protocol == "1.6":
        return _request16(calls, item, vehicle=vehicle, tx16_ids=tx16_ids)
    return _request2x(calls, item, charger=charger, vehicle=vehicle)


def _request16(calls, item: QueuedMessage, *, vehicle: SimVehicle, tx16_ids: dict[str, int]):
    reading = item.reading
    transaction_id = tx16_ids.get(item.transaction_key)
    if item.kind == "start":
        return calls.StartTransaction(
            connector_id=1,
            id_tag=vehicle.id_tag,
            meter_start=int(round(reading.import_wh)),
            timestamp=iso(item.at),
        )
    if item.kind == "sample":
        return calls.MeterValues(connector_id=1, transaction_id=transaction_id, meter_value=[_meter_value16(reading)])
    if item.kind == "stop":
        if transaction_id is None:  # its start was refused: nothing to stop at the central system
            return calls.MeterValues(connector_id=1, meter_value=[_meter_value16(reading)])
        return calls.StopTransaction(
            meter_stop=int(round(reading.import_wh)),
            timestamp=iso(item.at),
            transaction_id=transaction_id,
            reason="EVDisconnected",
            id_tag=vehicle.id_tag,
            transaction_data=[_meter_value16(reading)],
        )
    raise ValueError(f"no 1.6 message for {item.kind}")


def _request2x(calls, item: QueuedMessage, *, charger: SimCharger, vehicle: SimVehicle):
    reading = item.reading
    if item.kind == "needs":
        return calls.NotifyEVChargingNeeds(charging_needs=charging_needs(charger, vehicle, item.at), evse_id=1)
    event = {
        "start": ("Started", "CablePluggedIn"),
        "sample": ("Updated", "MeterValuePeriodic"),
        "stop": ("Ended", "EVDeparted"),
    }[item.kind]
    transaction_info = {"transaction_id": item.transaction_key}
    extra = {}
    if item.kind == "start":
        transaction_info["charging_state"] = "Charging"
        extra = {
            "id_token": {"id_token": vehicle.id_tag, "type": "ISO14443"},
            "evse": {"id": 1, "connector_id": 1},
        }
    if item.kind == "stop":
        transaction_info["stopped_reason"] = "EVDisconnected"
    return calls.TransactionEvent(
        event_type=event[0],
        timestamp=iso(item.at),
        trigger_reason=event[1],
        seq_no=item.seq_no,
        transaction_info=transaction_info,
        meter_value=[_meter_value2x(reading)],
        offline=item.offline,
        **extra,
    )


def charging_needs(charger: SimCharger, vehicle: SimVehicle, at: datetime) -> dict:
    """NotifyEVChargingNeeds.chargingNeeds (snake_case) from the vehicle's state and its departure."""
    energy_wh = int(round(vehicle.energy_to_target_kwh() * 1000))
    max_charge_w = int(min(charger.max_charge_kw, vehicle.max_charge_kw) * 1000)
    needs = {
        "requested_energy_transfer": "DC",
        "departure_time": iso(vehicle.next_departure(at)),
        "dc_charging_parameters": {
            "ev_max_current": int(max_charge_w / DC_VOLTAGE_V),
            "ev_max_voltage": int(DC_VOLTAGE_V),
            "energy_amount": energy_wh,
            "ev_max_power": max_charge_w,
            "state_of_charge": int(vehicle.soc * 100),
            "ev_energy_capacity": int(vehicle.battery_kwh * 1000),
        },
    }
    if charger.protocol == "2.1":
        v2x = {
            "max_charge_power": max_charge_w,
            "ev_target_energy_request": energy_wh,
            "target_soc": int(round(vehicle.target_soc * 100)),
        }
        bidirectional = charger.max_discharge_kw > 0 and vehicle.max_discharge_kw > 0
        if bidirectional:
            needs["requested_energy_transfer"] = "DC_BPT"
            v2x["max_discharge_power"] = int(min(charger.max_discharge_kw, vehicle.max_discharge_kw) * 1000)
        needs["control_mode"] = "ScheduledControl"
        needs["v2x_charging_parameters"] = v2x
    return needs


# --- message parts ----------------------------------------------------------------------------------


def iso(at: datetime) -> str:
    """`at` as OCPP writes a time: UTC, milliseconds, 'Z'."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wire_time(at: datetime) -> datetime:
    """`at` as it travels in a message: truncated to the millisecond, as iso writes it."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _sampled(reading: Reading) -> list[tuple[str, float, str, str | None]]:
    """(measurand, value, unit, location) of one reading; SoC with four decimals of a percent."""
    values = [
        ("Power.Active.Import", round(max(reading.power_kw, 0.0) * 1000.0, 1), "W", None),
        ("Power.Active.Export", round(max(-reading.power_kw, 0.0) * 1000.0, 1), "W", None),
        ("Energy.Active.Import.Register", round(reading.import_wh, 1), "Wh", None),
        ("Energy.Active.Export.Register", round(reading.export_wh, 1), "Wh", None),
    ]
    if reading.soc is not None:
        values.append(("SoC", round(reading.soc * 100.0, 4), "Percent", "EV"))
    return values


def _meter_value16(reading: Reading) -> dict:
    sampled = []
    for measurand, value, unit, location in _sampled(reading):
        entry = {"value": f"{value}", "context": reading.context, "measurand": measurand, "unit": unit}
        if location:
            entry["location"] = location
        sampled.append(entry)
    return {"timestamp": iso(reading.at), "sampled_value": sampled}


def _meter_value2x(reading: Reading) -> dict:
    sampled = []
    for measurand, value, unit, location in _sampled(reading):
        entry = {
            "value": value,
            "context": reading.context,
            "measurand": measurand,
            "unit_of_measure": {"unit": unit},
        }
        entry["location"] = location or "Outlet"
        sampled.append(entry)
    return {"timestamp": iso(reading.at), "sampled_value": sampled}
