"""Reading a site meter from MQTT (aiomqtt): one topic, or one per value, carrying JSON or plain numbers.

`listen()` runs until cancelled: it subscribes to every topic of the meter's points, turns each
message into kW at the point's path and hands it on; a lost broker is reported and reconnected to
(subscribing again, since subscriptions are lost with the connection).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiomqtt

from core.meters.spec import PayloadError, scaled, value_at

log = logging.getLogger(__name__)

RECONNECT_S = 1.0


class MqttReader:
    """An MQTT meter: `paths` {quantity: {topic, path, scale, sign}} at broker host:port."""

    def __init__(self, *, host: str, port: int, paths: dict, net_import_sign: str = "import_positive", name: str = ""):
        self.host, self.port = host, port
        self.paths = paths
        self.net_sign = -1.0 if net_import_sign == "export_positive" else 1.0
        self.name = name

    def values_of(self, topic: str, payload: bytes) -> dict[str, float]:
        """{quantity: kW} that one message carries (raises PayloadError for a payload that holds none)."""
        out = {}
        for quantity, point in self.paths.items():
            if point["topic"] == topic:
                value = scaled(value_at(payload, point["path"]), point)
                out[quantity] = value * self.net_sign if quantity == "net_import_kw" else value
        return out

    async def listen(self, on_values: Callable[[dict[str, float]], None], on_error: Callable[[str], None]) -> None:
        """Subscribe and hand every message's values to `on_values`; problems go to `on_error`."""
        topics = sorted({p["topic"] for p in self.paths.values()})
        while True:
            try:
                async with aiomqtt.Client(self.host, port=self.port, identifier=None) as client:
                    for topic in topics:
                        await client.subscribe(topic, qos=1)
                    async for message in client.messages:
                        try:
                            values = self.values_of(message.topic.value, message.payload)
                        except PayloadError as exc:
                            on_error(f"{message.topic.value}: {exc}")
                            continue
                        if values:
                            on_values(values)
            except aiomqtt.MqttError as exc:
                on_error(f"broker {self.host}:{self.port}: {exc}")
                await asyncio.sleep(RECONNECT_S)
