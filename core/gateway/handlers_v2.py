"""OCPP 2.0.1 and 2.1: the handlers of the central system, shared (the messages used have the same shape).

Thin, like 1.6: parse, hand the event to the writer, answer; transactions and meter values only
once they are committed. 2.1 adds V2X fields to NotifyEVChargingNeeds
(read here when present) and to the charging profiles we send (core.charging_profiles).
"""

from __future__ import annotations

from ocpp.routing import on
from ocpp.v21 import ChargePoint as ChargePoint21Base
from ocpp.v201 import ChargePoint as ChargePoint201Base

from core.clock import now
from core.gateway.charge_point import GatewayChargePoint, iso_now
from core.gateway.events import (
    ChargerBooted,
    ChargingNeedsReported,
    MeterReadings,
    StatusReported,
    TransactionAuthorized,
    TransactionEnded,
    TransactionStarted,
)

# Every id token is accepted (see handlers_v16.py for why).
_ACCEPTED = {"status": "Accepted"}


class _ChargePoint2x(GatewayChargePoint):
    """Handlers common to 2.0.1 and 2.1; `self._call_result` is the version's module."""

    @on("BootNotification")
    def on_boot_notification(self, charging_station: dict, reason: str, **_):
        self.put(
            ChargerBooted(
                self.id,
                now(),
                vendor=charging_station.get("vendor_name", ""),
                model=charging_station.get("model", ""),
            )
        )
        return self._call_result.BootNotification(
            current_time=iso_now(), interval=self.context.heartbeat_interval_s, status="Accepted"
        )

    @on("Heartbeat")
    def on_heartbeat(self, **_):
        return self._call_result.Heartbeat(current_time=iso_now())

    @on("StatusNotification")
    def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_
    ):
        self.put(StatusReported(self.id, self.time_of(timestamp), status=connector_status))
        return self._call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict, **_):
        return self._call_result.Authorize(id_token_info=_ACCEPTED)

    @on("MeterValues")
    async def on_meter_values(self, evse_id: int, meter_value: list, **_):
        readings = self.readings_of(meter_value)
        if evse_id == 0 and self.fed_to_site_meter(readings):
            return self._call_result.MeterValues()
        if readings:
            await self.store(MeterReadings(self.id, readings))
        return self._call_result.MeterValues()

    @on("TransactionEvent")
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict,
        meter_value: list | None = None,
        id_token: dict | None = None,
        **_,
    ):
        at = self.time_of(timestamp)
        transaction_id = transaction_info["transaction_id"]
        readings = self.readings_of(meter_value)
        id_tag = (id_token or {}).get("id_token", "")
        if event_type == "Started":
            await self.store(TransactionStarted(self.id, transaction_id, at, id_tag=id_tag, readings=readings))
        elif event_type == "Ended":
            reason = transaction_info.get("stopped_reason", "")
            await self.store(TransactionEnded(self.id, transaction_id, at, reason=reason, readings=readings))
        else:
            if id_tag:  # authorised after plug-in: the session gets its vehicle now
                await self.store(TransactionAuthorized(self.id, transaction_id, at, id_tag=id_tag))
            if readings:
                await self.store(MeterReadings(self.id, readings, transaction_id=transaction_id))
        if id_token:
            return self._call_result.TransactionEvent(id_token_info=_ACCEPTED)
        return self._call_result.TransactionEvent()

    @on("NotifyEVChargingNeeds")
    def on_notify_ev_charging_needs(self, charging_needs: dict, evse_id: int, **_):
        departure = charging_needs.get("departure_time")
        v2x = charging_needs.get("v2x_charging_parameters") or {}
        ac = charging_needs.get("ac_charging_parameters") or {}
        dc = charging_needs.get("dc_charging_parameters") or {}
        energy_wh = _first(
            v2x.get("ev_target_energy_request"), dc.get("energy_amount"), ac.get("energy_amount")
        )
        target_soc = v2x.get("target_soc")
        needs = {
            "requested_energy_transfer": charging_needs.get("requested_energy_transfer"),
            "control_mode": charging_needs.get("control_mode"),
            "max_charge_kw": _kilo(_first(v2x.get("max_charge_power"), dc.get("ev_max_power"))),
            "max_discharge_kw": _kilo(v2x.get("max_discharge_power")),
            "min_v2x_energy_kwh": _kilo(v2x.get("ev_min_v2x_energy_request")),
            "max_v2x_energy_kwh": _kilo(v2x.get("ev_max_v2x_energy_request")),
            "target_soc": None if target_soc is None else target_soc / 100.0,
        }
        self.put(
            ChargingNeedsReported(
                self.id,
                now(),
                departure_at=None if departure is None else self.time_of(departure),
                energy_request_kwh=_kilo(energy_wh),
                needs={k: v for k, v in needs.items() if v is not None},
            )
        )
        return self._call_result.NotifyEVChargingNeeds(status="Accepted")

    @on("NotifyEvent")
    def on_notify_event(self, **_):
        return self._call_result.NotifyEvent()

    @on("SecurityEventNotification")
    def on_security_event_notification(self, **_):
        return self._call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status_notification(self, **_):
        return self._call_result.FirmwareStatusNotification()

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_):
        return self._call_result.DataTransfer(status="UnknownVendorId")


class ChargePoint201(_ChargePoint2x, ChargePoint201Base):
    protocol = "2.0.1"


class ChargePoint21(_ChargePoint2x, ChargePoint21Base):
    protocol = "2.1"


def _first(*values):
    return next((v for v in values if v is not None), None)


def _kilo(value: float | None) -> float | None:
    """W -> kW, Wh -> kWh."""
    return None if value is None else float(value) / 1000.0
