"""Remembered charger credentials: the fast check of a password scrypt already accepted (core.gateway.auth)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class ChargerCredentialCheck(SQLModel, table=True):
    """An HMAC of a charger's identity and password, written once scrypt accepted the password, so
    that a reconnect after a gateway restart costs no scrypt. Its key is derived from the console's
    secret key (V2G_SECRET_KEY) and never stored, so this table alone lets nobody test a guess.
    Bound to the stored hash it was checked against: a rotated password makes it void."""

    # No foreign key: a row must never block removing a charger; a void row is simply not used.
    charger_id: str = Field(primary_key=True)
    password_hash: str  # Charger.password_hash when the password was accepted
    mac: str  # hex HMAC-SHA256 of (identity, password) under the derived key
