"""The events handlers hand to the telemetry writer: plain facts a charger told us, in the console's units."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.gateway.meter import Reading


@dataclass(frozen=True)
class ChargerSeen:
    """Any message from the charger: it is alive (Charger.last_seen)."""

    charger_id: str
    at: datetime


@dataclass(frozen=True)
class ChargerConnected:
    charger_id: str
    at: datetime


@dataclass(frozen=True)
class ChargerDisconnected:
    charger_id: str
    at: datetime


@dataclass(frozen=True)
class ChargerBooted:
    charger_id: str
    at: datetime
    vendor: str
    model: str


@dataclass(frozen=True)
class StatusReported:
    charger_id: str
    at: datetime
    status: str


@dataclass(frozen=True)
class MeterReadings:
    """Readings of one message; `transaction_id` when the message names its transaction."""

    charger_id: str
    readings: tuple[Reading, ...]
    transaction_id: str | None = None


@dataclass(frozen=True)
class TransactionStarted:
    """A transaction began. OCPP 1.6: `transaction_id` is None and `start_key` (connector, id tag,
    timestamp) is set; the writer gives the id out of the database (models.Ocpp16TransactionId) and a
    StartTransaction sent again gets the id of the first one, across restarts too."""

    charger_id: str
    transaction_id: str | None
    at: datetime
    id_tag: str = ""
    meter_start_kwh: float | None = None  # 1.6 meterStart: the import register at the start
    readings: tuple[Reading, ...] = ()
    start_key: str = ""


@dataclass(frozen=True)
class TransactionEnded:
    charger_id: str
    transaction_id: str
    at: datetime
    reason: str = ""
    meter_stop_kwh: float | None = None  # 1.6 meterStop
    readings: tuple[Reading, ...] = ()


@dataclass(frozen=True)
class TransactionAuthorized:
    """An id token for a running transaction, after its start (2.x TransactionEvent Updated: the
    cable was plugged in first, then the driver authorised): the session gets its vehicle."""

    charger_id: str
    transaction_id: str
    at: datetime
    id_tag: str


@dataclass(frozen=True)
class ChargingNeedsReported:
    """NotifyEVChargingNeeds, in the console's units; `needs` holds the V2X limits."""

    charger_id: str
    at: datetime
    departure_at: datetime | None
    energy_request_kwh: float | None
    needs: dict = field(default_factory=dict)


Event = (
    ChargerSeen
    | ChargerConnected
    | ChargerDisconnected
    | ChargerBooted
    | StatusReported
    | MeterReadings
    | TransactionStarted
    | TransactionEnded
    | TransactionAuthorized
    | ChargingNeedsReported
)
