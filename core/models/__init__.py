"""The console's tables (SQLModel).

Conventions (ARCHITECTURE.md): power in kW, positive into the vehicle (charging), negative out of
it (discharging); energy in kWh; SoC a fraction 0-1; every timestamp stored in UTC. Site net
import is positive when the site takes power from the grid.

One module per area; this package re-exports every table so that `from core.models import Site` works.
"""

from core.models.base import UTCDateTime
from core.models.credentials import ChargerCredentialCheck
from core.models.dispatch import ChargingProfileCommand, DispatchRun, Setpoint
from core.models.fleet import (
    Charger,
    DepartureOutcome,
    DepartureOverride,
    DepartureSchedule,
    Ocpp16TransactionId,
    Override,
    PlugSession,
    Site,
    V2GWindow,
    Vehicle,
    effective_soc_floor,
)
from core.models.meters import SiteMeter
from core.models.people import AuditEvent, LoginFailure, User, WallToken
from core.models.prices import PriceFeed
from core.models.signals import GridEventLedger, GridSignal, PricePoint, Tariff, TariffRule
from core.models.telemetry import LimitExcursion, MeterSample, SiteSample
from core.models.web_sessions import WebSession

__all__ = [
    "UTCDateTime",
    "Site",
    "Charger",
    "Vehicle",
    "PlugSession",
    "Ocpp16TransactionId",
    "DepartureSchedule",
    "DepartureOverride",
    "Override",
    "V2GWindow",
    "DepartureOutcome",
    "MeterSample",
    "SiteSample",
    "LimitExcursion",
    "SiteMeter",
    "PricePoint",
    "PriceFeed",
    "GridSignal",
    "Tariff",
    "TariffRule",
    "GridEventLedger",
    "DispatchRun",
    "Setpoint",
    "ChargingProfileCommand",
    "AuditEvent",
    "User",
    "LoginFailure",
    "WallToken",
    "WebSession",
    "ChargerCredentialCheck",
    "effective_soc_floor",
]
