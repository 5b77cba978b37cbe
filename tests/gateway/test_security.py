"""Security profiles 1 and 2: registered chargers, HTTP Basic auth at the handshake (401), TLS."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core import models
from core.gateway.auth import RegistrationError, identity_from_path, register_charger
from tests.gateway.support import (
    basic_auth,
    gateway_settings,
    password_of,
    rows,
    run,
    running_gateway,
    simulated,
    wait_until,
)


async def handshake_status(url: str, headers: dict | None, subprotocol: str = "ocpp1.6") -> int | str:
    """101 when the WebSocket opened (then closed by us), else the HTTP status of the refusal."""
    try:
        async with connect(url, subprotocols=[subprotocol], additional_headers=headers or {}) as ws:
            return 101 if ws.subprotocol == subprotocol else f"no subprotocol, {ws.subprotocol}"
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.timeout(30)
def test_only_registered_chargers_with_their_password_get_in(engine):
    async def scenario():
        async with running_gateway(engine) as gateway:
            base = gateway.url
            right = basic_auth("CP-CAR-01", password_of("CP-CAR-01"))
            return {
                "right password": await handshake_status(f"{base}/CP-CAR-01", right),
                "wrong password": await handshake_status(
                    f"{base}/CP-CAR-01", basic_auth("CP-CAR-01", "not-it-at-all")
                ),
                "unknown id": await handshake_status(
                    f"{base}/CP-NOBODY", basic_auth("CP-NOBODY", "whatever-pw")
                ),
                "no credentials": await handshake_status(f"{base}/CP-CAR-01", None),
                # OCTT TC_A_02: the user name must be the identity itself, not merely start like it
                "other user": await handshake_status(
                    f"{base}/CP-CAR-01", basic_auth("CP-CAR-01X", password_of("CP-CAR-01"))
                ),
                "another charger's password": await handshake_status(
                    f"{base}/CP-CAR-01", basic_auth("CP-CAR-01", password_of("CP-CAR-02"))
                ),
                "right again (cached)": await handshake_status(f"{base}/CP-CAR-01", right),
            }

    assert run(scenario()) == {
        "right password": 101,
        "wrong password": 401,
        "unknown id": 401,
        "no credentials": 401,
        "other user": 401,
        "another charger's password": 401,
        "right again (cached)": 101,
    }
    # Refused before any OCPP message: nothing about the refused chargers was stored.
    (charger,) = rows(engine, models.Charger, models.Charger.id == "CP-CAR-02")
    assert charger.last_seen is None


@pytest.mark.timeout(30)
def test_a_charger_offering_another_ocpp_version_than_registered_is_closed(engine):
    async def scenario():
        async with running_gateway(engine) as gateway:
            headers = basic_auth("CP-CAR-01", password_of("CP-CAR-01"))  # registered for 1.6
            async with connect(
                f"{gateway.url}/CP-CAR-01", subprotocols=["ocpp2.0.1"], additional_headers=headers
            ) as ws:
                assert ws.subprotocol is None  # OCPP-J: handshake completes without the header ...
                with pytest.raises(ConnectionClosed):
                    await ws.recv()  # ... and the central system closes
                return ws.close_code

    assert run(scenario()) == 1002


def make_certificates(folder) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for localhost / 127.0.0.1: (ca, cert, key) paths."""

    def name(common_name):
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "V2G Console tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )

    # Valid over decades, so the test reads no clock: TLS checks validity against the real time.
    start = datetime(2000, 1, 1, tzinfo=UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(datetime(2099, 12, 31, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(datetime(2099, 12, 31, tzinfo=UTC))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return tuple(str(p) for p in paths)


@pytest.mark.timeout(30)
def test_tls_security_profile_2(engine, tmp_path):
    ca_file, cert_file, key_file = make_certificates(tmp_path)
    settings = gateway_settings(str(engine.url), tls_cert_file=cert_file, tls_key_file=key_file)
    trust = ssl.create_default_context(cafile=ca_file)

    async def scenario():
        async with running_gateway(engine, settings=settings) as gateway:
            assert gateway.url.startswith("wss://")
            good = simulated(gateway.url, "CP-VAN-05", ssl_context=trust)
            bad = simulated(gateway.url, "CP-VAN-06", ssl_context=trust, password="wrong-password-1")
            await good.start()
            await bad.start()
            await good.wait_ready()
            await wait_until(lambda: bad.refused_status, what="refusal")
            # A client that does not trust the certificate never gets as far as the password.
            with pytest.raises(ssl.SSLCertVerificationError):
                async with connect(
                    f"{gateway.url}/CP-VAN-07",
                    subprotocols=["ocpp2.1"],
                    additional_headers=basic_auth("CP-VAN-07", password_of("CP-VAN-07")),
                ):
                    pass
            await good.stop()
            await bad.stop()
            return good, bad

    good, bad = run(scenario())
    assert good.booted and good.connects == 1
    assert bad.refused_status == 401 and not bad.booted


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("/ocpp/CP-1", "CP-1"),
        ("/ocpp/CP%201/", "CP 1"),
        ("/CP-1?x=1", "CP-1"),
        ("/ocpp/", "ocpp"),
        ("/ocpp/a:b", None),
        ("/ocpp/" + "x" * 49, None),
    ],
)
def test_identity_is_the_last_path_segment(path, identity):
    assert identity_from_path(path) == identity


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"charger_id": "bad:id"}, "charger id"),
        ({"password": "short"}, "password"),
        ({"protocol": "2.0"}, "protocol"),
        ({"max_charge_kw": 0}, "max charge"),
        ({"max_discharge_kw": -1}, "discharge"),
        ({"site_id": "elsewhere"}, "no site"),
        ({"charger_id": "CP-CAR-01"}, "already registered"),
    ],
)
def test_registration_refuses_bad_input_clearly(engine, changes, message):
    arguments = dict(
        engine=engine,
        charger_id="CP-NEW-01",
        password="a-good-password-16",
        protocol="2.1",
        max_charge_kw=22.0,
        max_discharge_kw=11.0,
    )
    arguments.update(changes)
    with pytest.raises(RegistrationError, match=message):
        register_charger(**arguments)
