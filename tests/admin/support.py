"""Shared by the admin tests: a snapshot of every table, to show that a refused change saved nothing."""

from __future__ import annotations

from sqlmodel import SQLModel, func, select

from core import models
from core.db import session_scope
from core.security import hash_password

ADMIN = "root-admin"


def table_counts(engine) -> dict[str, int]:
    """Rows per table, and every vehicle's, charger's and site's fields (so an edit would show too)."""
    with session_scope(engine) as s:
        counts = {
            name: s.exec(select(func.count()).select_from(table)).one()
            for name, table in SQLModel.metadata.tables.items()
        }
        counts["_sites"] = [site.model_dump() for site in s.exec(select(models.Site).order_by(models.Site.id))]
        counts["_chargers"] = [c.model_dump() for c in s.exec(select(models.Charger).order_by(models.Charger.id))]
        counts["_vehicles"] = [v.model_dump() for v in s.exec(select(models.Vehicle).order_by(models.Vehicle.id))]
        counts["_users"] = [u.model_dump() for u in s.exec(select(models.User).order_by(models.User.id))]
    return counts


def add_account(engine, username: str, role: str, password: str | None = None) -> str:
    password = password or f"{username}-password"
    with session_scope(engine) as s:
        s.add(models.User(username=username, role=role, password_hash=hash_password(password)))
    return password
