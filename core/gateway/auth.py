"""Who may connect: registered chargers with HTTP Basic auth (OCPP security profile 1), over TLS (profile 2).

The check runs in the WebSocket handshake (`process_request`), before any OCPP message: an unknown
identity, a missing or wrong password, or a Basic-auth user name other than the identity in the URL
get HTTP 401. Passwords are stored hashed (core.security, scrypt). scrypt is deliberately slow
(~60 ms, 16 MB), so it runs in a small thread pool of its own (never on the event loop), and only
for the first check of a credential: a password scrypt accepted is remembered as an HMAC under a
key that lives only in this process, tied to the stored hash it was checked against, so a returning
charger costs one constant-time HMAC comparison, and rotating its password (a new stored hash)
forgets it. A different password for a charger whose credential is remembered is refused without
scrypt (a stored hash has one password). With the console's secret key set (V2G_SECRET_KEY), the
HMAC key is derived from it and the remembered credentials are also stored
(models.ChargerCredentialCheck), so a fleet reconnecting after a gateway restart costs no scrypt
either; a database without that key cannot test a guess. Without it the key is random per process.

Failed handshakes cost an address back-off (HandshakeGuard): after a few failures its next slow
checks are refused with HTTP 429 for a time that doubles with each failure, and at most a few of
its slow checks run at once, so a burst of wrong passwords neither queues scrypt work nor memory.
Remembered credentials are still served during a back-off: a good charger behind the same address
(a site's chargers often share one NAT) reconnects at once.

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
import secrets
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
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


class HandshakeGuard:
    """Per-address back-off after failed handshakes, in bounded memory.

    `free_failures` failures are free; each one after that blocks the address's slow checks for
    `base_s` * 2^(extra failures - 1), at most `max_s`. A success forgets the address. At most
    `max_addresses` are remembered (the least recently failed is forgotten first). At most
    `max_waiting` slow checks of one address, and `max_waiting_total` of all, may wait or run at
    a time (a site's chargers behind one NAT reconnecting after a restart queue up to that; a burst
    beyond it is refused at once instead of queuing scrypt work and connections). Times are
    monotonic (not domain time).
    """

    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_s: float = 1.0,
        max_s: float = 60.0,
        max_addresses: int = 10_000,
        max_waiting: int = 16,
        max_waiting_total: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free_failures, self.base_s, self.max_s = free_failures, base_s, max_s
        self.max_addresses, self.max_waiting, self.max_waiting_total = max_addresses, max_waiting, max_waiting_total
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # address -> (failures, blocked until)
        self._in_flight: dict[str, int] = {}
        self._total = 0
        self.refused = 0

    def blocked_for(self, address: str) -> float:
        """Seconds the address's slow checks are still refused (0 when they are not)."""
        entry = self._failures.get(address)
        return 0.0 if entry is None else max(0.0, entry[1] - self._clock())

    def failed(self, address: str) -> None:
        failures = self._failures.pop(address, (0, 0.0))[0] + 1
        extra = failures - self.free_failures
        blocked_until = self._clock() + min(self.max_s, self.base_s * 2 ** (extra - 1)) if extra > 0 else 0.0
        self._failures[address] = (failures, blocked_until)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def begin(self, address: str) -> bool:
        """Take a slow-check place for the address; False when its places (or all) are taken."""
        waiting = self._in_flight.get(address, 0)
        if waiting >= self.max_waiting or self._total >= self.max_waiting_total:
            return False
        self._in_flight[address] = waiting + 1
        self._total += 1
        return True

    def end(self, address: str) -> None:
        self._total -= 1
        waiting = self._in_flight.pop(address, 1) - 1
        if waiting > 0:
            self._in_flight[address] = waiting


@dataclass(frozen=True)
class _Lookup:
    charger: RegisteredCharger
    stored_hash: str
    stored_check: tuple[str, bytes] | None  # (the hash it was made under, HMAC) from the database


class ChargerAuth:
    """The handshake check (`process_request`) and the subprotocol choice (`select_subprotocol`)."""

    def __init__(self, *, engine: Engine, threads: int = 2, guard: HandshakeGuard | None = None, secret_key: str = ""):
        """With `secret_key` (Settings.secret_key), remembered credentials outlive the process."""
        self.engine = engine
        self.guard = guard or HandshakeGuard()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="charger-auth")
        # Slow checks queue here, on the loop, not in the pool: a queued one looks at the back-off
        # again when its turn comes (a burst's first failures block the rest).
        self._slow_turns = asyncio.Semaphore(threads)
        # The key of the remembered credentials: never stored, never logged.
        self._persist = bool(secret_key)
        self._key = (
            hmac.new(secret_key.encode(), b"v2g-console charger credential check v1", hashlib.sha256).digest()
            if secret_key
            else secrets.token_bytes(32)
        )
        self._verified: dict[str, tuple[str, bytes]] = {}  # charger id -> (stored hash, HMAC of credential)
        self.slow_checks = 0  # scrypt verifications run (the tests and the benchmark read it)
        # The charger each accepted handshake belongs to, for the connection handler.
        self.accepted: WeakKeyDictionary = WeakKeyDictionary()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def process_request(self, connection, request):
        """websockets hook: None lets the handshake go on; HTTP 401 (or 429 in a back-off) refuses it."""
        address = _address_of(connection)
        charger_id = identity_from_path(request.path)
        if charger_id is None:
            self.guard.failed(address)
            return _unauthorized(connection, "no valid charge point identity in the URL")
        secret = _basic_password(request.headers.get("Authorization"), charger_id)
        if secret is None:
            self.guard.failed(address)
            log.warning("refused %s: missing Basic auth, or its user is not the identity in the URL", charger_id)
            return _unauthorized(connection, "Basic auth with the charge point identity as user is required")
        # The stored hash is read on every handshake, so a rotated password takes effect at once.
        found = await asyncio.to_thread(self._lookup, charger_id)
        if found is None:
            return self._refuse(connection, address, charger_id)
        mac = hmac.new(self._key, charger_id.encode() + b"\0" + secret, hashlib.sha256).digest()
        remembered = next(
            (r for r in (self._verified.get(charger_id), found.stored_check) if r and r[0] == found.stored_hash), None
        )
        if remembered is not None:
            if not hmac.compare_digest(remembered[1], mac):
                return self._refuse(connection, address, charger_id)  # not the one password of this hash
            # Not a reason to forgive the address: an attacker may share it (NAT) with good chargers.
            self.accepted[connection] = found.charger
            return None
        if self.guard.blocked_for(address) > 0 or not self.guard.begin(address):
            return self._too_many(connection, address)
        try:
            async with self._slow_turns:
                if self.guard.blocked_for(address) > 0:
                    return self._too_many(connection, address)
                self.slow_checks += 1
                loop = asyncio.get_running_loop()
                ok = await loop.run_in_executor(self._executor, self._slow_check, secret, found.stored_hash)
        finally:
            self.guard.end(address)
        if not ok:
            return self._refuse(connection, address, charger_id)
        self._verified[charger_id] = (found.stored_hash, mac)
        if self._persist:
            await asyncio.to_thread(self._store_check, charger_id, found.stored_hash, mac)
        self.guard.succeeded(address)
        self.accepted[connection] = found.charger
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

    def _too_many(self, connection, address: str):
        self.guard.refused += 1
        return _too_many(connection, max(1.0, self.guard.blocked_for(address)))

    def _refuse(self, connection, address: str, charger_id: str):
        self.guard.failed(address)
        log.warning("refused %s from %s: unknown charge point or wrong password", charger_id, address)
        return _unauthorized(connection, "unknown charge point or wrong password")

    def _lookup(self, charger_id: str) -> _Lookup | None:
        """(worker thread) The registered charger and its stored hash; None if it may not connect."""
        with session_scope(self.engine) as session:
            row = session.get(models.Charger, charger_id)
            if row is None or not row.password_hash or getattr(row, "retired_at", None) is not None:
                return None
            charger = RegisteredCharger(
                id=row.id,
                site_id=row.site_id,
                protocol=row.protocol,
                max_charge_kw=row.max_charge_kw,
                max_discharge_kw=row.max_discharge_kw,
                accepts_negative_limits=row.accepts_negative_limits,
            )
            check = session.get(models.ChargerCredentialCheck, charger_id) if self._persist else None
            try:
                stored_check = None if check is None else (check.password_hash, bytes.fromhex(check.mac))
            except ValueError:
                stored_check = None
            return _Lookup(charger, row.password_hash, stored_check)

    def _store_check(self, charger_id: str, stored_hash: str, mac: bytes) -> None:
        """(worker thread) Remember an accepted credential in the database; a failure only costs
        the next gateway one more scrypt check."""
        try:
            with session_scope(self.engine) as session:
                session.merge(
                    models.ChargerCredentialCheck(charger_id=charger_id, password_hash=stored_hash, mac=mac.hex())
                )
        except Exception:
            log.exception("could not store the credential check of %s", charger_id)

    def _slow_check(self, secret: bytes, stored_hash: str) -> bool:
        """(auth thread) The scrypt verification of a credential not remembered yet."""
        try:
            password = secret.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return verify_password(password, stored_hash)


def _address_of(connection) -> str:
    remote = getattr(connection, "remote_address", None)
    return str(remote[0]) if remote else "?"


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


def _too_many(connection, retry_after_s: float):
    response = connection.respond(
        http.HTTPStatus.TOO_MANY_REQUESTS, "too many failed handshakes from this address; retry later\n"
    )
    response.headers["Retry-After"] = str(int(retry_after_s + 0.999))
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
    if identity_from_path("/" + charger_id) != charger_id or "/" in charger_id or charger_id.strip() != charger_id:
        raise RegistrationError(
            f"charger id {charger_id!r}: 1 to {MAX_IDENTITY_LENGTH} characters, no ':', '/' or surrounding spaces"
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
                    f"the database holds {len(site_ids)} sites: say which with --site ({', '.join(site_ids) or 'none'})"
                )
            site_id = site_ids[0]
        elif session.get(models.Site, site_id) is None:
            raise RegistrationError(f"no site {site_id!r}")
        charger = session.get(models.Charger, charger_id)
        if charger is not None and not replace:
            raise RegistrationError(f"charger {charger_id!r} is already registered (use --replace to change it)")
        if charger is None:
            charger = models.Charger(id=charger_id, site_id=site_id, protocol=protocol, max_charge_kw=max_charge_kw)
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
