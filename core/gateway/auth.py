"""Who may connect: registered chargers with HTTP Basic auth (OCPP security profile 1), over TLS (profile 2).

The check runs in the WebSocket handshake (`process_request`), before any OCPP message: an unknown
identity, a missing or wrong password, or a Basic-auth user name other than the identity in the URL
get HTTP 401. Passwords are stored hashed (core.security, scrypt). scrypt is deliberately slow
(~60 ms), so it runs in a small thread pool of its own (never on the event loop, never starving the
pool that validates messages), and a password that was verified once is remembered as a SHA-256
digest for as long as the stored hash stays the same, so a reconnecting fleet costs no scrypt.

`register_charger` is the service behind `python -m core.gateway add-charger`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import http
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.charging_profiles import PROTOCOLS
from core.db import session_scope
from core.security import hash_password, verify_password

log = logging.getLogger(__name__)

MAX_IDENTITY_LENGTH = 48  # OCPP-J: the charging station identity is at most 48 characters
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 40  # OCPP 2.0.1 BasicAuthPassword / 1.6 AuthorizationKey as 40 hex digits
RECOMMENDED_PASSWORD_LENGTH = 16


@dataclass(frozen=True)
class RegisteredCharger:
    """The facts of a charger that the gateway needs while it is connected."""

    id: str
    site_id: str
    protocol: str
    max_charge_kw: float
    max_discharge_kw: float
    accepts_negative_limits: bool

    @property
    def subprotocol(self) -> str:
        return f"ocpp{self.protocol}"


def identity_from_path(path: str) -> str | None:
    """The charge point identity: the last segment of the URL path, percent-decoded; None if invalid."""
    segment = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    identity = unquote(segment)
    if not identity or len(identity) > MAX_IDENTITY_LENGTH or ":" in identity:
        return None
    return identity


class ChargerAuth:
    """The handshake check (`process_request`) and the subprotocol choice (`select_subprotocol`)."""

    def __init__(self, *, engine: Engine, threads: int = 2):
        self.engine = engine
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="charger-auth")
        self._verified: dict[str, tuple[str, bytes]] = {}  # charger id -> (stored hash, sha256 of password)
        # The charger each accepted handshake belongs to, for the connection handler.
        self.accepted: WeakKeyDictionary = WeakKeyDictionary()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def process_request(self, connection, request):
        """websockets hook: None lets the handshake go on; an HTTP 401 response refuses it."""
        charger_id = identity_from_path(request.path)
        if charger_id is None:
            return _unauthorized(connection, "no valid charge point identity in the URL")
        secret = _basic_password(request.headers.get("Authorization"), charger_id)
        if secret is None:
            log.warning(
                "refused %s: missing Basic auth, or its user is not the identity in the URL", charger_id
            )
            return _unauthorized(connection, "Basic auth with the charge point identity as user is required")
        loop = asyncio.get_running_loop()
        charger = await loop.run_in_executor(self._executor, self._check, charger_id, secret)
        if charger is None:
            log.warning("refused %s: unknown charge point or wrong password", charger_id)
            return _unauthorized(connection, "unknown charge point or wrong password")
        self.accepted[connection] = charger
        return None

    def select_subprotocol(self, connection, offered) -> str | None:
        """The charger's registered OCPP version when it offers it; None otherwise.

        With None the handshake completes without a Sec-WebSocket-Protocol header and the handler
        closes the connection (OCPP-J 2.0.1 part 4 §3.2); websockets' default would answer HTTP 400.
        """
        charger = self.accepted.get(connection)
        if charger is None:
            return None
        return charger.subprotocol if charger.subprotocol in offered else None

    def _check(self, charger_id: str, secret: bytes) -> RegisteredCharger | None:
        """(worker thread) The registered charger when `secret` is its password, else None."""
        with session_scope(self.engine) as session:
            row = session.get(models.Charger, charger_id)
            if row is None or not row.password_hash:
                return None
            charger = RegisteredCharger(
                id=row.id,
                site_id=row.site_id,
                protocol=row.protocol,
                max_charge_kw=row.max_charge_kw,
                max_discharge_kw=row.max_discharge_kw,
                accepts_negative_limits=row.accepts_negative_limits,
            )
            stored = row.password_hash
        digest = hashlib.sha256(secret).digest()
        cached = self._verified.get(charger_id)
        if cached is not None and cached[0] == stored and hmac.compare_digest(cached[1], digest):
            return charger
        try:
            password = secret.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not verify_password(password, stored):
            return None
        self._verified[charger_id] = (stored, digest)
        return charger


def _basic_password(header: str | None, charger_id: str) -> bytes | None:
    """The password of `Authorization: Basic base64(<identity>:<password>)` when the user is `charger_id`.

    Compared as bytes and without splitting at the first ':' (OCPP A00.FR.204: the user name SHALL
    be the identity; it must match exactly, not merely start the string).
    """
    if not header or not header.startswith("Basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    prefix = charger_id.encode("utf-8") + b":"
    if not raw.startswith(prefix):
        return None
    return raw[len(prefix) :]


def _unauthorized(connection, text: str):
    response = connection.respond(http.HTTPStatus.UNAUTHORIZED, text + "\n")
    response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
    return response


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS for security profile 2: TLS 1.2 or newer, the certificate (chain) and key given.

    Python's default server ciphers leave out the TLS_RSA_WITH_AES_*_GCM suites that OCPP requires a
    central system to offer to TLS 1.2 chargers (1.6 security whitepaper A00.FR.317), so they are
    added back; the ECDHE suites need an EC certificate, the RSA ones an RSA certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:AES128-GCM-SHA256:AES256-GCM-SHA384")
    return context


# --- registering a charger ----------------------------------------------------------------------


class RegistrationError(ValueError):
    """The charger cannot be registered as asked; the message says why."""


def register_charger(
    *,
    engine: Engine,
    charger_id: str,
    password: str,
    protocol: str,
    max_charge_kw: float,
    max_discharge_kw: float = 0.0,
    site_id: str | None = None,
    accepts_negative_limits: bool = False,
    efficiency: float = 0.95,
    replace: bool = False,
) -> RegisteredCharger:
    """Register (or with `replace`, re-register) a charger that may then connect with `password`.

    `site_id` may be left out when the database holds exactly one site.
    """
    if (
        identity_from_path("/" + charger_id) != charger_id
        or "/" in charger_id
        or charger_id.strip() != charger_id
    ):
        raise RegistrationError(
            f"charger id {charger_id!r}: 1 to {MAX_IDENTITY_LENGTH} characters, "
            "no ':', '/' or surrounding spaces"
        )
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise RegistrationError(
            f"password: {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters "
            f"({RECOMMENDED_PASSWORD_LENGTH} or more recommended), got {len(password)}"
        )
    if protocol not in PROTOCOLS:
        raise RegistrationError(f"protocol: one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if not max_charge_kw > 0:
        raise RegistrationError(f"max charge power must be more than 0 kW, got {max_charge_kw}")
    if not max_discharge_kw >= 0:
        raise RegistrationError(f"max discharge power must be 0 kW (one-way) or more, got {max_discharge_kw}")
    if not 0 < efficiency <= 1:
        raise RegistrationError(f"efficiency must be a fraction in (0, 1], got {efficiency}")
    with session_scope(engine) as session:
        if site_id is None:
            site_ids = session.exec(select(models.Site.id)).all()
            if len(site_ids) != 1:
                raise RegistrationError(
                    f"the database holds {len(site_ids)} sites: say which with --site "
                    f"({', '.join(site_ids) or 'none'})"
                )
            site_id = site_ids[0]
        elif session.get(models.Site, site_id) is None:
            raise RegistrationError(f"no site {site_id!r}")
        charger = session.get(models.Charger, charger_id)
        if charger is not None and not replace:
            raise RegistrationError(
                f"charger {charger_id!r} is already registered (use --replace to change it)"
            )
        if charger is None:
            charger = models.Charger(
                id=charger_id, site_id=site_id, protocol=protocol, max_charge_kw=max_charge_kw
            )
            session.add(charger)
        charger.site_id = site_id
        charger.protocol = protocol
        charger.max_charge_kw = float(max_charge_kw)
        charger.max_discharge_kw = float(max_discharge_kw)
        charger.accepts_negative_limits = accepts_negative_limits
        charger.efficiency = efficiency
        charger.password_hash = hash_password(password)
        return RegisteredCharger(
            id=charger_id,
            site_id=site_id,
            protocol=protocol,
            max_charge_kw=float(max_charge_kw),
            max_discharge_kw=float(max_discharge_kw),
            accepts_negative_limits=accepts_negative_limits,
        )
