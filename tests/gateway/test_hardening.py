"""What a hostile or broken peer can do to the gateway, and that a good charger is served throughout.

Real WebSockets on 127.0.0.1 against an in-process gateway: a burst of wrong passwords (per-address
back-off, bounded slow checks, remembered chargers still get in), a frame over the size limit
(1009), a message id over OCPP-J's 36 characters (CallError, not echoed), a binary frame (1003) and
a frame nested 100,000 deep (CallError, no hang, no crash). After each attack a good charger's
Heartbeat is answered. How fast it is answered during the attacks is measured in
tests/benchmarks/bench_gateway_scale.py (hardening), not here.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core import models
from core.gateway.auth import HandshakeGuard, register_charger
from core.gateway.charge_point import MAX_JSON_DEPTH
from core.gateway.server import MAX_MESSAGE_BYTES
from tests.gateway.support import (
    BY_PROTOCOL,
    SITE_ID,
    basic_auth,
    gateway_settings,
    password_of,
    rows,
    run,
    running_gateway,
)

GOOD = "CP-CAR-01"  # the good charger (1.6)


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _open(gateway, charger_id: str = GOOD, protocol: str | None = None):
    protocol = protocol or next(p for p, c in BY_PROTOCOL.items() if c == charger_id)
    return await connect(
        f"{gateway.url}/{charger_id}",
        subprotocols=[f"ocpp{protocol}"],
        additional_headers=basic_auth(charger_id, password_of(charger_id)),
        max_size=None,
    )


async def _answer(ws, frame) -> list:
    """Send a frame, return the next answer (answering any CALL the gateway makes meanwhile)."""
    await ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message[0] == 2:
            await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
            continue
        return message


async def _good_heartbeat(gateway) -> list:
    async with await _open(gateway) as ws:
        return await _answer(ws, [2, "good-hb", "Heartbeat", {}])


async def _handshake(gateway, charger_id: str, password: str) -> int:
    protocol = next(p for p, c in BY_PROTOCOL.items() if c == charger_id)
    try:
        async with connect(
            f"{gateway.url}/{charger_id}",
            subprotocols=[f"ocpp{protocol}"],
            additional_headers=basic_auth(charger_id, password),
        ):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.timeout(60)
def test_a_returning_charger_costs_no_scrypt_and_a_rotated_password_is_refused(engine):
    """Tried: connect twice with the right password, once with a wrong one, then rotate the password
    (as `add-charger --replace` does) and connect with the old and the new one. Counted: the scrypt
    checks the gateway ran (ChargerAuth.slow_checks)."""
    rotated = "rotated-password-0123456789"

    async def scenario():
        async with running_gateway(engine) as gateway:
            seen = []

            async def attempt(what: str, password: str) -> None:
                seen.append((what, await _handshake(gateway, GOOD, password), gateway.auth.slow_checks))

            await attempt("first", password_of(GOOD))
            await attempt("returning", password_of(GOOD))
            await attempt("wrong", "not-the-password-at-all")
            await asyncio.to_thread(
                register_charger, engine=engine, charger_id=GOOD, password=rotated, protocol="1.6",
                max_charge_kw=11.0, site_id=SITE_ID, replace=True,
            )  # fmt: skip
            await attempt("old after rotation", password_of(GOOD))
            await attempt("new", rotated)
            await attempt("new, returning", rotated)
            return seen

    assert run(scenario()) == [
        ("first", 101, 1),  # scrypt once
        ("returning", 101, 1),  # the keyed check: no scrypt
        ("wrong", 401, 1),  # not the remembered credential of this hash: refused without scrypt
        ("old after rotation", 401, 2),  # the stored hash changed: remembered credential forgotten
        ("new", 101, 3),
        ("new, returning", 101, 3),
    ]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("secret_key", "scrypt_after_restart"), [("", 1), ("test-secret-key-0123456789", 0)])
def test_with_the_secret_key_a_restart_costs_no_scrypt_either(engine, secret_key, scrypt_after_restart):
    """Tried: connect, restart the gateway (a new process's memory), connect again; with and
    without the console's secret key (the key the stored checks are made under)."""
    settings = gateway_settings(str(engine.url), secret_key=secret_key)

    async def scenario():
        counts = []
        for _ in range(2):
            async with running_gateway(engine, settings=settings) as gateway:
                assert await _handshake(gateway, GOOD, password_of(GOOD)) == 101
                counts.append(gateway.auth.slow_checks)
        return counts

    assert run(scenario()) == [1, scrypt_after_restart]
    stored = rows(engine, models.ChargerCredentialCheck)
    assert len(stored) == (1 if secret_key else 0)
    assert all(password_of(GOOD) not in (row.mac + row.password_hash) for row in stored)


def test_failed_handshakes_back_off_per_address_doubling_and_in_bounded_memory():
    """Tried: 9 failures from one address, a success, and 5 addresses in a guard that keeps 3."""
    clock = FakeMonotonic()
    guard = HandshakeGuard(free_failures=3, base_s=1.0, max_s=4.0, max_addresses=3, max_waiting=2, clock=clock)
    waits = []
    for _ in range(9):
        guard.failed("10.0.0.1")
        waits.append(guard.blocked_for("10.0.0.1"))
    assert waits == [0, 0, 0, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]  # 3 free, then doubling, capped
    clock.now += 4.0
    assert guard.blocked_for("10.0.0.1") == 0  # the back-off runs out
    guard.succeeded("10.0.0.1")
    guard.failed("10.0.0.1")
    assert guard.blocked_for("10.0.0.1") == 0  # a success forgave the past failures
    for n in range(5):
        guard.failed(f"10.0.1.{n}")
    assert len(guard._failures) == 3  # the least recently seen addresses are forgotten
    assert guard.begin("a") and guard.begin("a") and not guard.begin("a")  # two slow checks wait at most
    guard.end("a")
    assert guard.begin("a")


@pytest.mark.timeout(60)
def test_a_burst_of_wrong_passwords_is_refused_cheaply_and_good_chargers_still_get_in(engine):
    """Tried: a good charger connects once (its credential is remembered); then 60 handshakes with
    wrong passwords at once, for a charger whose credential is not remembered yet (each would be a
    scrypt check). Expected: the burst is refused with 401/429 running only a few scrypt checks,
    the remembered charger reconnects during the back-off, and a charger not remembered yet waits
    for the back-off to run out (429 meanwhile), then gets in."""
    victim = "CP-VAN-01"  # registered, never connected in this test before the attack

    async def scenario():
        async with running_gateway(engine) as gateway:
            clock = FakeMonotonic()
            gateway.auth.guard = HandshakeGuard(clock=clock)
            assert await _handshake(gateway, GOOD, password_of(GOOD)) == 101
            checks_before = gateway.auth.slow_checks
            burst = await asyncio.gather(*(_handshake(gateway, victim, f"wrong-password-{n:03d}") for n in range(60)))
            slow_checks = gateway.auth.slow_checks - checks_before
            remembered = await _handshake(gateway, GOOD, password_of(GOOD))
            heartbeat = await _good_heartbeat(gateway)
            not_yet = await _handshake(gateway, victim, password_of(victim))
            clock.now += 3600  # the back-off has run out
            later = await _handshake(gateway, victim, password_of(victim))
            return burst, slow_checks, remembered, heartbeat, not_yet, later

    burst, slow_checks, remembered, heartbeat, not_yet, later = run(scenario())
    assert set(burst) <= {401, 429} and burst.count(429) >= 40
    assert slow_checks <= 10  # not 60 scrypt checks (each ~60 ms and 16 MB)
    assert remembered == 101
    assert heartbeat[0] == 3 and "currentTime" in heartbeat[2]
    assert not_yet == 429
    assert later == 101


@pytest.mark.timeout(60)
def test_a_frame_over_the_size_limit_closes_with_1009(engine):
    async def scenario():
        async with running_gateway(engine) as gateway:
            ws = await _open(gateway)
            payload = {"vendorId": "x", "data": "y" * (MAX_MESSAGE_BYTES + 1)}
            await ws.send(json.dumps([2, "big", "DataTransfer", payload]))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code, await _good_heartbeat(gateway)

    code, heartbeat = run(scenario())
    assert code == 1009  # message too big
    assert heartbeat[0] == 3


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("protocol", "code"), [("1.6", "FormationViolation"), ("2.0.1", "RpcFrameworkError")])
def test_a_message_id_over_36_characters_gets_a_call_error_without_the_id(engine, protocol, code):
    """Tried: a Heartbeat with a 37- and a 5,000-character message id, then one with exactly 36."""
    long_ids = ["x" * 37, "y" * 5000]

    async def scenario():
        async with running_gateway(engine) as gateway:
            async with await _open(gateway, BY_PROTOCOL[protocol], protocol) as ws:
                refused = [await _answer(ws, [2, unique_id, "Heartbeat", {}]) for unique_id in long_ids]
                accepted = await _answer(ws, [2, "z" * 36, "Heartbeat", {}])
            return refused, accepted

    refused, accepted = run(scenario())
    for answer in refused:
        assert answer[:3] == [4, "-1", code]
        assert "xxxxx" not in json.dumps(answer) and "yyyyy" not in json.dumps(answer)  # never echoed
    assert accepted[:2] == [3, "z" * 36]


@pytest.mark.timeout(60)
def test_a_binary_frame_closes_the_connection_with_1003(engine):
    async def scenario():
        async with running_gateway(engine) as gateway:
            ws = await _open(gateway)
            await ws.send(json.dumps([2, "b1", "Heartbeat", {}]).encode())  # a CALL, but binary
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code, await _good_heartbeat(gateway)

    code, heartbeat = run(scenario())
    assert code == 1003  # unsupported data: OCPP-J frames are text
    assert heartbeat[0] == 3


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", ["1.6", "2.1"])
def test_a_deeply_nested_frame_gets_a_call_error_and_the_connection_stays_up(engine, protocol):
    """Tried: 100,000 open brackets (no readable id), a DataTransfer whose data nests one level
    too deep (readable id), and one nested just deep enough (answered as usual: the schema's
    verdict, not the depth limit's)."""
    expected = "FormationViolation" if protocol == "1.6" else "RpcFrameworkError"

    def nested(levels: int):
        value: list = []
        for _ in range(levels):
            value = [value]
        return value

    frame_levels = 4  # [2, id, action, {payload: {data: ...}}]: the frame, the payload and "data"'s list
    too_deep = [2, "deep", "DataTransfer", {"vendorId": "x", "data": nested(MAX_JSON_DEPTH - frame_levels + 2)}]
    deep_enough = [2, "ok", "DataTransfer", {"vendorId": "x", "data": nested(MAX_JSON_DEPTH - frame_levels)}]

    async def scenario():
        async with running_gateway(engine) as gateway:
            async with await _open(gateway, BY_PROTOCOL[protocol], protocol) as ws:
                bomb = await _answer(ws, "[" * 100_000)
                named = await _answer(ws, too_deep)
                fine = await _answer(ws, deep_enough)
                alive = await _answer(ws, [2, "hb", "Heartbeat", {}])
            return bomb, named, fine, alive

    bomb, named, fine, alive = run(scenario())
    assert bomb[:3] == [4, "-1", expected]
    assert named[:3] == [4, "deep", expected]
    assert fine[1] == "ok" and fine[:3] != [4, "ok", expected]  # (1.6: its data must be a string)
    assert alive[:2] == [3, "hb"]
