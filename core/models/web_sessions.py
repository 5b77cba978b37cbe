"""Log-in sessions of the web console, kept server-side (core.auth) so that logging out or a
password change ends them: the browser's signed cookie alone no longer lets anyone in."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.models.base import _utc_field


class WebSession(SQLModel, table=True):
    """One log-in; only the SHA-256 of its id (held in the session cookie) is stored."""

    id_hash: str = Field(primary_key=True)
    # No foreign key: deleting an account must not be blocked by its old sessions. The user loader
    # matches id and name, so a later account that reuses the id never inherits a session.
    user_id: int = Field(index=True)
    username: str
    created_at: datetime = _utc_field(default_now=True)
    ended_at: datetime | None = _utc_field(nullable=True)  # logged out, password changed, or ended by an admin
