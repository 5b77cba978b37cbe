"""Dispatch runs, their setpoints and the charging-profile commands sent for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from core.models.base import _json_field, _utc_field


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
