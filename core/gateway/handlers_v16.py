"""OCPP 1.6J: the handlers of the central system. Thin: parse, hand the event to the writer, answer.

Transactions and meter values are answered once they are committed (GatewayChargePoint.store), so a
crash never loses what was acknowledged; the transaction id of a StartTransaction comes from the
database (models.Ocpp16TransactionId), never from a counter in memory.
"""

from __future__ import annotations

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, DataTransferStatus, RegistrationStatus

from core.clock import now
from core.gateway.charge_point import GatewayChargePoint, iso_now
from core.gateway.events import (
    ChargerBooted,
    MeterReadings,
    StatusReported,
    TransactionEnded,
    TransactionStarted,
)

# Every id tag is accepted: the chargers of a depot are private, and a session with an unknown tag
# is still stored (without a vehicle) so that its energy is accounted for.
_ACCEPTED = IdTagInfo(status=AuthorizationStatus.accepted)


class ChargePoint16(GatewayChargePoint, ChargePoint):
    protocol = "1.6"

    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str, **_):
        self.put(ChargerBooted(self.id, now(), vendor=charge_point_vendor, model=charge_point_model))
        return call_result.BootNotification(
            current_time=iso_now(),
            interval=self.context.heartbeat_interval_s,
            status=RegistrationStatus.accepted,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_):
        return call_result.Heartbeat(current_time=iso_now())

    @on(Action.status_notification)
    def on_status_notification(self, connector_id: int, error_code: str, status: str, **_):
        self.put(StatusReported(self.id, now(), status=status))
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_):
        return call_result.Authorize(id_tag_info=_ACCEPTED)

    @on(Action.start_transaction)
    async def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_):
        at = self.time_of(timestamp)
        transaction_id = await self.store(
            TransactionStarted(
                self.id, None, at, id_tag=id_tag, meter_start_kwh=meter_start / 1000.0,
                start_key=f"{connector_id}|{id_tag}|{timestamp}",
            )
        )  # fmt: skip
        return call_result.StartTransaction(transaction_id=int(transaction_id), id_tag_info=_ACCEPTED)

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        reason: str | None = None,
        id_tag: str | None = None,
        transaction_data: list | None = None,
        **_,
    ):
        at = self.time_of(timestamp)
        await self.store(
            TransactionEnded(
                self.id,
                str(transaction_id),
                at,
                reason=reason or "",
                meter_stop_kwh=meter_stop / 1000.0,
                readings=self.readings_of(transaction_data),
            )
        )
        if id_tag:
            return call_result.StopTransaction(id_tag_info=_ACCEPTED)
        return call_result.StopTransaction()

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list, transaction_id: int | None = None, **_):
        readings = self.readings_of(meter_value)
        if connector_id == 0 and self.fed_to_site_meter(readings):
            return call_result.MeterValues()
        if readings:
            tx = None if transaction_id is None else str(transaction_id)
            await self.store(MeterReadings(self.id, readings, transaction_id=tx))
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_):
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(self, status: str, **_):
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, status: str, **_):
        return call_result.FirmwareStatusNotification()
