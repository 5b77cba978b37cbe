"""Sites, chargers, vehicles, their plug sessions and what operators set for them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import _json_field, _utc_field
from core.rules.discharge import effective_soc_floor as rules_effective_soc_floor


class Site(SQLModel, table=True):
    """A site behind one grid connection."""

    id: str = Field(primary_key=True)
    name: str
    timezone: str = "Europe/Amsterdam"
    currency: str = "EUR"
    import_limit_kw: float
    export_limit_kw: float
    # Where the site is (for PV forecasts) and its PV peak power; None / 0 when not known.
    latitude: float | None = None
    longitude: float | None = None
    pv_peak_kwp: float = 0.0
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
    # When an admin retired it (core.admin.chargers): kept for history, no longer planned for.
    retired_at: datetime | None = _utc_field(nullable=True)

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
    # Where its charging power starts to fall (core.rules.taper); None: the default of its kind.
    taper_start_soc: float | None = None
    # How it is recognised at a plug-in: its RFID id tag, its ISO 15118 EVCCID, or neither (an
    # operator assigns it to the session: core.admin.recognition).
    id_tag: str | None = Field(default=None, index=True, unique=True)
    # ISO 15118 EVCCID (the vehicle's MAC) where it identifies itself by Plug & Charge.
    evcc_id: str | None = Field(default=None, index=True, unique=True)
    home_charger_id: str | None = Field(default=None, foreign_key="charger.id")
    # When an admin retired it (core.admin.vehicles): kept for history, no longer planned for.
    retired_at: datetime | None = _utc_field(nullable=True)


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


# The effective floor is a rule of the domain: one home, core.rules.discharge (kept here by name for callers).
effective_soc_floor = rules_effective_soc_floor
