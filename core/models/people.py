"""Users, their log-in state, wall tokens and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.models.base import _json_field, _utc_field


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
    # Set by an admin (core.admin.people.disable_user): the account can no longer log in.
    disabled_at: datetime | None = _utc_field(nullable=True)


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
