"""The console's tables (SQLModel).

Conventions (ARCHITECTURE.md): power in kW, positive into the vehicle (charging), negative out of
it (discharging); energy in kWh; SoC a fraction 0-1; every timestamp stored in UTC. Site net
import is positive when the site takes power from the grid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import now
from core.rules.discharge import effective_soc_floor as rules_effective_soc_floor


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and gives them back aware, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _utc_field(*, index: bool = False, nullable: bool = False, default_now: bool = False) -> Any:
    column = Column(UTCDateTime(), index=index, nullable=nullable)
    if default_now:
        return Field(default_factory=now, sa_column=column)
    return Field(default=None, sa_column=column)


def _json_field(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class Site(SQLModel, table=True):
    """A site behind one grid connection."""

    id: str = Field(primary_key=True)
    name: str
    timezone: str = "Europe/Amsterdam"
    currency: str = "EUR"
    import_limit_kw: float
    export_limit_kw: float
    default_soc_floor: float = 0.3
    hard_soc_floor: float = 0.2
    degradation_cost_per_kwh: float = 0.05
    dispatch_interval_s: float = 60.0
    # Set by a plug-in, plug-out or operator change; the gateway's scheduler re-plans when it is
    # newer than the last dispatch run.
    replan_requested_at: datetime | None = _utc_field(nullable=True)
    # Whether the site takes part in the utility's demand-response (OpenADR) export requests: the VEN
    # answers optIn or optOut as this says, and dispatch plans only for events opted into.
    demand_response_opt_in: bool = True
    # The month's highest 15-minute mean net import so far (for a monthly demand charge), counted
    # through `month_peak_through`; core.planning keeps it up to date quarter by quarter.
    month_peak_import_kw: float = 0.0
    month_peak_through: datetime | None = _utc_field(nullable=True)


# The effective floor is a rule of the domain: one home, core.rules.discharge (kept here by name for callers).
effective_soc_floor = rules_effective_soc_floor


class Charger(SQLModel, table=True):
    """A charge point, known by its OCPP identity."""

    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    protocol: str  # "1.6", "2.0.1" or "2.1"
    max_charge_kw: float
    max_discharge_kw: float = 0.0  # 0 for a one-way charger
    efficiency: float = 0.95
    accepts_negative_limits: bool = False  # 1.6/2.0.1 chargers with a vendor way to discharge
    password_hash: str = ""
    connected: bool = False
    status: str = "Unavailable"
    last_seen: datetime | None = _utc_field(nullable=True)
    vendor: str = ""
    model: str = ""
    # Operator switch (core.controls.set_v2g_off): no discharge on this charger whatever the windows say.
    v2g_off: bool | None = None

    @property
    def bidirectional(self) -> bool:
        return self.max_discharge_kw > 0


class Vehicle(SQLModel, table=True):
    """A vehicle of the fleet."""

    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    name: str
    kind: str = "car"  # bus, van, car
    battery_kwh: float
    max_charge_kw: float
    max_discharge_kw: float = 0.0
    soc_floor: float | None = None  # None: inherits the site's default floor
    target_soc: float = 0.9
    usual_arrival: str = "18:00"  # local time of day, HH:MM
    usual_departure: str = "07:00"
    v2g_allowed: bool = True
    id_tag: str = Field(index=True, unique=True)
    home_charger_id: str | None = Field(default=None, foreign_key="charger.id")


class PlugSession(SQLModel, table=True):
    """One plug-in of a vehicle at a charger (an OCPP transaction)."""

    id: int | None = Field(default=None, primary_key=True)
    charger_id: str = Field(foreign_key="charger.id", index=True)
    vehicle_id: str | None = Field(default=None, foreign_key="vehicle.id", index=True)
    transaction_id: str = Field(index=True)
    id_tag: str = ""
    started_at: datetime = _utc_field(index=True, default_now=True)
    ended_at: datetime | None = _utc_field(nullable=True)
    energy_in_kwh: float = 0.0
    energy_out_kwh: float = 0.0
    soc_start: float | None = None
    soc_end: float | None = None
    departure_at: datetime | None = _utc_field(nullable=True)  # as the vehicle reported it
    energy_request_kwh: float | None = None
    # NotifyEVChargingNeeds (2.0.1/2.1) in kW/kWh/fraction: max_charge_kw, max_discharge_kw,
    # min_v2x_energy_kwh, max_v2x_energy_kwh, target_soc, requested_energy_transfer, control_mode.
    ev_charging_needs: dict = _json_field()

    __table_args__ = (UniqueConstraint("charger_id", "transaction_id"),)


class Ocpp16TransactionId(SQLModel, table=True):
    """The OCPP 1.6 transaction ids the central system gave out: the row's id is the transaction id.

    Ids come from the database, so they are never given twice, across gateway restarts and crashes
    (SQLite AUTOINCREMENT never reuses an id; a PostgreSQL sequence never goes back). A
    StartTransaction sent again (the charger missed our answer) has the same `start_key` and gets
    the same id.
    """

    id: int | None = Field(default=None, primary_key=True)
    charger_id: str = Field(index=True)
    start_key: str  # connector, id tag and timestamp of the StartTransaction
    given_at: datetime = _utc_field(default_now=True)

    __table_args__ = (UniqueConstraint("charger_id", "start_key"), {"sqlite_autoincrement": True})


class MeterSample(SQLModel, table=True):
    """One meter reading of a charger."""

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = _utc_field()
    charger_id: str = Field(foreign_key="charger.id")
    session_id: int | None = Field(default=None, foreign_key="plugsession.id")
    power_kw: float | None = None  # signed: + charging, - discharging
    soc: float | None = None
    energy_import_kwh: float | None = None  # register, into the vehicle
    energy_export_kwh: float | None = None  # register, out of the vehicle

    # The live pages ask for the latest sample per charger and for samples in a time range.
    __table_args__ = (
        Index("ix_metersample_charger_time", "charger_id", "time"),
        Index("ix_metersample_time", "time"),
    )


class SiteSample(SQLModel, table=True):
    """One reading of the site meter."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id")
    time: datetime = _utc_field()
    building_load_kw: float
    pv_kw: float = 0.0
    ev_power_kw: float = 0.0  # sum over chargers, signed
    ev_charge_kw: float = 0.0  # sum of the chargers that are charging (>= 0)
    ev_discharge_kw: float = 0.0  # sum of the chargers that are discharging, as a positive number
    net_import_kw: float  # building - PV + EV; negative when exporting

    __table_args__ = (Index("ix_sitesample_site_time", "site_id", "time"),)


class PricePoint(SQLModel, table=True):
    """Import and export price over one interval."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id")
    start: datetime = _utc_field()
    end: datetime = _utc_field()
    import_price_per_kwh: float
    export_price_per_kwh: float
    source: str = "demo"

    __table_args__ = (UniqueConstraint("site_id", "start"), Index("ix_pricepoint_site_start", "site_id", "start"))


class GridSignal(SQLModel, table=True):
    """An import cap, an export (flexibility) request or a price signal from the grid."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    kind: str  # "import_cap", "export_request", "price"
    start: datetime = _utc_field(index=True)
    end: datetime = _utc_field()
    kw: float = 0.0
    reward_per_kwh: float = 0.0
    source: str = "operator"  # operator, csv, openadr
    external_id: str | None = None
    opted_in: bool = True


class V2GWindow(SQLModel, table=True):
    """When discharge is allowed: recurring (weekdays + times of day) or one-off (date range)."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    vehicle_id: str | None = Field(default=None, foreign_key="vehicle.id")  # None: site-wide
    weekdays: str = "0123456"  # Monday = 0; recurring windows only
    start_time: str = "17:00"  # local HH:MM; end before start crosses midnight
    end_time: str = "21:00"
    date_from: date | None = None  # one-off windows: local dates, inclusive
    date_to: date | None = None
    enabled: bool = True


class DispatchRun(SQLModel, table=True):
    """One run of the dispatch engine."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    started_at: datetime = _utc_field(index=True, default_now=True)
    finished_at: datetime | None = _utc_field(nullable=True)
    horizon_start: datetime | None = _utc_field(nullable=True)
    step_minutes: int = 15
    status: str = "running"  # optimal, fallback, failed
    objective: float | None = None
    solve_time_s: float | None = None
    trigger: str = "schedule"  # schedule, plug, setting, manual
    message: str = ""
    inputs_summary: dict = _json_field()
    result_summary: dict = _json_field()


class Setpoint(SQLModel, table=True):
    """The plan of one vehicle at one step of a dispatch run."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="dispatchrun.id")
    vehicle_id: str = Field(foreign_key="vehicle.id")
    charger_id: str = Field(foreign_key="charger.id")
    step: int
    start: datetime = _utc_field()
    power_kw: float
    soc_end: float | None = None

    __table_args__ = (Index("ix_setpoint_run_vehicle", "run_id", "vehicle_id", "step"),)


class ChargingProfileCommand(SQLModel, table=True):
    """The outbox: a charging-profile command for the gateway to send, and the charger's answer."""

    id: int | None = Field(default=None, primary_key=True)
    charger_id: str = Field(foreign_key="charger.id")
    action: str = "set"  # set, clear; "default": the safe default profile the gateway sends on connect
    payload: dict = _json_field()
    # The setpoint schedule the payload was built from: [[start ISO UTC, power_kw], ...].
    schedule: list = _json_field(list)
    run_id: int | None = Field(default=None, foreign_key="dispatchrun.id")
    status: str = "pending"  # pending, sent, Accepted, Rejected, CallError, Timeout, Offline
    created_at: datetime = _utc_field(default_now=True)
    sent_at: datetime | None = _utc_field(nullable=True)
    answered_at: datetime | None = _utc_field(nullable=True)
    answer: dict = _json_field()

    __table_args__ = (Index("ix_profilecommand_status_charger", "status", "charger_id"),)


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, from what to what."""

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = _utc_field(index=True, default_now=True)
    actor: str
    action: str
    target: str = ""
    before: dict = _json_field()
    after: dict = _json_field()
    dispatch_run_id: int | None = Field(default=None, foreign_key="dispatchrun.id")


class User(SQLModel, table=True):
    """An account of the console."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    role: str = "viewer"  # viewer, operator, admin
    password_hash: str
    created_at: datetime = _utc_field(default_now=True)


# --- Grid: tariffs and the ledger of grid events (issue 7) ------------------------------------


class Tariff(SQLModel, table=True):
    """A site's time-of-use tariff: its name and the demand charge; the periods are TariffRule rows."""

    site_id: str = Field(foreign_key="site.id", primary_key=True)
    name: str = ""
    demand_charge_per_kw_month: float = 0.0  # per kW of the month's highest 15-minute net import
    updated_at: datetime = _utc_field(default_now=True)


class TariffRule(SQLModel, table=True):
    """One period of a time-of-use tariff: on these weekdays, from start to end local time, this price."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    weekdays: str = "0123456"  # Monday = 0
    start_time: str = "00:00"  # local HH:MM; end before start crosses midnight, end == start is all day
    end_time: str = "00:00"
    import_price_per_kwh: float
    export_price_per_kwh: float = 0.0


class GridEventLedger(SQLModel, table=True):
    """What one grid event asked for and what the site delivered, per 15-minute interval."""

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="gridsignal.id", index=True)
    start: datetime = _utc_field()
    end: datetime = _utc_field()
    committed_kw: float
    delivered_kw: float | None = None  # None: no site meter reading in the interval
    reward: float = 0.0  # in the site's currency
    # Discharged energy per vehicle (or charger when the vehicle is unknown) in the interval, kWh.
    vehicles: dict = _json_field()

    __table_args__ = (UniqueConstraint("signal_id", "start"),)


# --- operator controls (core.controls) and accounts (core.users) --------------------------------


class DepartureSchedule(SQLModel, table=True):
    """A vehicle's recurring departure: on these weekdays at this local time, with this target SoC.

    Takes precedence over Vehicle.usual_departure / target_soc; a DepartureOverride beats both.
    """

    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: str = Field(foreign_key="vehicle.id", index=True, unique=True)
    weekdays: str = "01234"  # Monday = 0
    departure_time: str = "06:30"  # local HH:MM
    target_soc: float = 0.9
    enabled: bool = True


class DepartureOverride(SQLModel, table=True):
    """A one-off departure (and optionally target) for one date; ignored once `departs_at` has passed."""

    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: str = Field(foreign_key="vehicle.id", index=True)
    departs_at: datetime = _utc_field(index=True)
    target_soc: float | None = None
    created_by: str = ""
    created_at: datetime = _utc_field(default_now=True)
    cancelled_at: datetime | None = _utc_field(nullable=True)


class Override(SQLModel, table=True):
    """An operator override of the plan for one vehicle: charge_now, pause or discharge_now, until a time."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    vehicle_id: str = Field(foreign_key="vehicle.id", index=True)
    charger_id: str | None = Field(default=None, foreign_key="charger.id")
    kind: str  # charge_now, pause, discharge_now
    until: datetime = _utc_field(index=True)
    created_by: str = ""
    created_at: datetime = _utc_field(default_now=True)
    cancelled_at: datetime | None = _utc_field(nullable=True)


class LoginFailure(SQLModel, table=True):
    """Failed logins per username + client address, for the login backoff (core.users)."""

    key: str = Field(primary_key=True)  # "username|ip"
    failures: int = 0
    last_failure_at: datetime = _utc_field(default_now=True)


class WallToken(SQLModel, table=True):
    """A read-only link token for the wall display (/wall?token=...); only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    label: str = ""
    created_by: str = ""
    created_at: datetime = _utc_field(default_now=True)
    revoked_at: datetime | None = _utc_field(nullable=True)


class DepartureOutcome(SQLModel, table=True):
    """How a vehicle left: with its target SoC (met) or short of it, by how much and why; one per
    session, written by core.departures.record_departure in the transaction that ends it."""

    id: int | None = Field(default=None, primary_key=True)
    # Goes with its session (a demo reset deletes the site's sessions).
    session_id: int = Field(foreign_key="plugsession.id", unique=True, ondelete="CASCADE")
    vehicle_id: str = Field(foreign_key="vehicle.id")
    charger_id: str = Field(foreign_key="charger.id")
    departed_at: datetime = _utc_field(index=True)
    planned_departure_at: datetime | None = _utc_field(nullable=True)  # the departure in force at plug-in
    target_soc: float
    soc_at_departure: float | None = None  # None: no SoC was reported during the stay
    short_kwh: float | None = None  # 0 when met; None when the SoC at departure is unknown
    met: bool = False
    reason: str = ""  # why it left short ("" when met)

    __table_args__ = (Index("ix_departureoutcome_vehicle_departed", "vehicle_id", "departed_at"),)


class LimitExcursion(SQLModel, table=True):
    """A spell of site readings beyond the guard line (the connection limit minus its headroom), and
    what the gateway's guard did about it. A breach is an excursion whose worst reading went over the
    limit itself (`worst_kw_over_limit` > 0); the Grid page lists them."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    direction: str  # "import" or "export"
    limit_kw: float
    started_at: datetime = _utc_field(index=True)
    ended_at: datetime | None = _utc_field(nullable=True)  # None while it lasts
    readings: int = 0  # readings beyond the guard line
    readings_over_limit: int = 0
    worst_kw_over_limit: float = 0.0  # <= 0: the guard held the limit
    seconds_over_limit: float = 0.0
    guard_commands: int = 0  # chargers lowered
