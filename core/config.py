"""The one Settings object, read from the environment.

Every process (web, gateway, simulator) calls `get_settings()`; nothing else reads `os.environ`
for configuration. Each variable and its default is listed in the README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEMO_DIR = DATA_DIR / "demo"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


# The gateway never plans more often than this in real seconds, whatever the clock speed (a demo at
# 60x would otherwise plan every real second); V2G_MIN_REAL_DISPATCH_INTERVAL_S changes it (the soak
# benchmark runs at 600x and plans every real second).
MIN_REAL_DISPATCH_INTERVAL_S = 5.0

# The ENTSO-E Transparency Platform's REST API (V2G_ENTSOE_URL changes it).
ENTSOE_URL = "https://web-api.tp.entsoe.eu/api"


@dataclass(frozen=True)
class Settings:
    """Configuration of one V2G Console installation (see README, "Configuration")."""

    database_url: str = f"sqlite:///{DATA_DIR / 'v2g.db'}"
    web_host: str = "127.0.0.1"
    web_port: int = 8050
    gateway_host: str = "0.0.0.0"
    gateway_port: int = 9000
    gateway_url: str = "ws://127.0.0.1:9000/ocpp"
    tls_cert_file: str = ""
    tls_key_file: str = ""
    trusted_proxy: str = ""  # the reverse proxy whose X-Forwarded-Proto/-For/-Host the web app believes
    openadr_vtn_url: str = ""
    openadr_ven_name: str = "v2g-console"
    demo: bool = True
    demo_dir: Path = DEMO_DIR
    clock_speed: float = 1.0
    clock_start: str = ""
    clock_anchor_epoch: float = 0.0
    poll_interval_s: float = 5.0
    meter_interval_s: float = 10.0
    dispatch_interval_s: float = 60.0
    dispatch_time_limit_s: float = 10.0
    departure_buffer_min: float = 15.0
    min_real_dispatch_interval_s: float = MIN_REAL_DISPATCH_INTERVAL_S
    secret_key: str = field(default="", repr=False)
    admin_password: str = field(default="", repr=False)
    # Day-ahead prices from the ENTSO-E Transparency Platform (core.signals.day_ahead): the API token
    # (never stored in the database or the audit log) and the API's address (a test points it at a local server).
    entsoe_token: str = field(default="", repr=False)
    entsoe_url: str = ENTSOE_URL

    @property
    def dispatch_interval_on_clock_s(self) -> float:
        """How often dispatch really runs, in the console's (possibly sped-up) seconds."""
        floor_s = min(self.dispatch_interval_s, self.min_real_dispatch_interval_s)
        real_s = max(floor_s, self.dispatch_interval_s / self.clock_speed)
        return real_s * self.clock_speed

    @classmethod
    def from_env(cls) -> Settings:
        """Build the settings from `V2G_*` variables and `DATABASE_URL`, with the defaults above."""
        env = os.environ.get
        gateway_port = int(_env_float("V2G_GATEWAY_PORT", cls.gateway_port))
        return cls(
            database_url=env("DATABASE_URL") or cls.database_url,
            web_host=env("V2G_WEB_HOST") or cls.web_host,
            web_port=int(_env_float("V2G_WEB_PORT", cls.web_port)),
            gateway_host=env("V2G_GATEWAY_HOST") or cls.gateway_host,
            gateway_port=gateway_port,
            # Unless set, the simulator follows the gateway's port (it connects over loopback).
            gateway_url=env("V2G_GATEWAY_URL") or f"ws://127.0.0.1:{gateway_port}/ocpp",
            tls_cert_file=env("V2G_TLS_CERT_FILE") or "",
            tls_key_file=env("V2G_TLS_KEY_FILE") or "",
            trusted_proxy=env("V2G_TRUSTED_PROXY") or "",
            openadr_vtn_url=env("V2G_OPENADR_VTN_URL") or "",
            openadr_ven_name=env("V2G_OPENADR_VEN_NAME") or cls.openadr_ven_name,
            demo=_env_bool("V2G_DEMO", cls.demo),
            demo_dir=Path(env("V2G_DEMO_DIR") or cls.demo_dir),
            clock_speed=_env_float("V2G_CLOCK_SPEED", cls.clock_speed),
            clock_start=env("V2G_CLOCK_START") or "",
            clock_anchor_epoch=_env_float("V2G_CLOCK_ANCHOR_EPOCH", 0.0),
            poll_interval_s=_env_float("V2G_POLL_INTERVAL_S", cls.poll_interval_s),
            meter_interval_s=_env_float("V2G_METER_INTERVAL_S", cls.meter_interval_s),
            dispatch_interval_s=_env_float("V2G_DISPATCH_INTERVAL_S", cls.dispatch_interval_s),
            dispatch_time_limit_s=_env_float("V2G_DISPATCH_TIME_LIMIT_S", cls.dispatch_time_limit_s),
            departure_buffer_min=_env_float("V2G_DEPARTURE_BUFFER_MIN", cls.departure_buffer_min),
            min_real_dispatch_interval_s=_env_float(
                "V2G_MIN_REAL_DISPATCH_INTERVAL_S", cls.min_real_dispatch_interval_s
            ),
            secret_key=env("V2G_SECRET_KEY") or "",
            admin_password=env("V2G_ADMIN_PASSWORD") or "",
            entsoe_token=env("V2G_ENTSOE_TOKEN") or "",
            entsoe_url=env("V2G_ENTSOE_URL") or ENTSOE_URL,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings.from_env()
