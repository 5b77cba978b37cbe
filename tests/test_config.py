"""Settings from the environment: the simulator's gateway URL follows the gateway's port unless set."""

from __future__ import annotations

from core.config import Settings


def test_gateway_url_follows_the_gateway_port(monkeypatch):
    monkeypatch.delenv("V2G_GATEWAY_URL", raising=False)
    monkeypatch.setenv("V2G_GATEWAY_PORT", "9100")
    settings = Settings.from_env()
    assert settings.gateway_port == 9100
    assert settings.gateway_url == "ws://127.0.0.1:9100/ocpp"


def test_gateway_url_defaults_to_the_default_port(monkeypatch):
    monkeypatch.delenv("V2G_GATEWAY_URL", raising=False)
    monkeypatch.delenv("V2G_GATEWAY_PORT", raising=False)
    assert Settings.from_env().gateway_url == "ws://127.0.0.1:9000/ocpp" == Settings().gateway_url


def test_a_set_gateway_url_wins_over_the_port(monkeypatch):
    monkeypatch.setenv("V2G_GATEWAY_PORT", "9100")
    monkeypatch.setenv("V2G_GATEWAY_URL", "wss://gateway.example:443/ocpp")
    assert Settings.from_env().gateway_url == "wss://gateway.example:443/ocpp"
