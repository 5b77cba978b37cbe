"""Reading a site meter over Modbus TCP (pymodbus): SunSpec devices, found by model discovery, or a
generic register map for meters that are not SunSpec.

One reader per configured meter; `read()` gives {quantity: kW} or raises MeterReadError. A failed
read drops the connection, so the next one connects (and, for SunSpec, discovers) afresh.
"""

from __future__ import annotations

import logging

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from core.meters import sunspec
from core.meters.spec import NET_IMPORT, PV, scaled

log = logging.getLogger(__name__)

_DATATYPES = {
    "int16": AsyncModbusTcpClient.DATATYPE.INT16,
    "uint16": AsyncModbusTcpClient.DATATYPE.UINT16,
    "int32": AsyncModbusTcpClient.DATATYPE.INT32,
    "uint32": AsyncModbusTcpClient.DATATYPE.UINT32,
    "float32": AsyncModbusTcpClient.DATATYPE.FLOAT32,
}
_COUNTS = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}


class MeterReadError(Exception):
    """A meter did not answer, or answered something that is not a reading."""


class ModbusReader:
    """A Modbus TCP meter: `sunspec` discovery, or the generic `registers` map."""

    def __init__(
        self, *, host: str, port: int, unit_id: int, sunspec_device: bool, registers: dict, quantities: list[str],
        net_import_sign: str = "import_positive", timeout_s: float = 2.0,
    ):  # fmt: skip
        self.host, self.port, self.unit_id = host, port, unit_id
        self.sunspec_device = sunspec_device
        self.registers = registers
        self.quantities = list(quantities)
        self.net_sign = -1.0 if net_import_sign == "export_positive" else 1.0
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None
        self._models: dict[int, int] | None = None  # SunSpec model id -> address of its ID register

    async def read(self) -> dict[str, float]:
        """The meter's quantities now, kW."""
        try:
            client = await self._connected()
            if self.sunspec_device:
                values = await self._read_sunspec(client)
            else:
                values = {q: await self._read_point(client, point) for q, point in self.registers.items()}
        except (ModbusException, OSError, MeterReadError) as exc:
            self.close()
            if isinstance(exc, MeterReadError):
                raise
            first_line = (str(exc).splitlines() or [""])[0][:160]  # pymodbus appends its packet trace
            raise MeterReadError(f"{self.host}:{self.port}: {type(exc).__name__}: {first_line}") from exc
        if NET_IMPORT in values:
            values[NET_IMPORT] *= self.net_sign
        return values

    def close(self) -> None:
        """Drop the connection (the next read connects again)."""
        if self._client is not None:
            self._client.close()
        self._client, self._models = None, None

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        # reconnect_delay=0: no reconnecting in the background; the next poll connects again.
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0)
        if not await client.connect():
            client.close()
            raise MeterReadError(f"no answer from {self.host}:{self.port}")
        self._client = client
        return client

    async def _registers(self, client, address: int, count: int, table: str = "holding") -> list[int]:
        read = client.read_input_registers if table == "input" else client.read_holding_registers
        answer = await read(address, count=count, device_id=self.unit_id)
        if answer.isError():
            raise MeterReadError(f"registers {address}-{address + count - 1}: {answer}")
        return list(answer.registers)

    async def _read_point(self, client, point: dict) -> float:
        regs = await self._registers(client, point["address"], _COUNTS[point["type"]], point.get("table", "holding"))
        raw = AsyncModbusTcpClient.convert_from_registers(
            regs, _DATATYPES[point["type"]], word_order=point.get("word_order", "big")
        )
        return scaled(raw, point)

    # -- SunSpec --

    async def discover(self, client) -> dict[int, int]:
        """SunSpec model id -> address of its ID register (the first of each id)."""
        for base in sunspec.BASE_ADDRESSES:
            try:
                marker = await self._registers(client, base, 2)
            except MeterReadError:
                continue
            if tuple(marker) != sunspec.SUNS:
                continue
            models, address = {}, base + 2
            for _ in range(sunspec.MAX_MODELS):
                model_id, length = await self._registers(client, address, 2)
                if model_id == sunspec.END_ID:
                    break
                models.setdefault(model_id, address)
                address += 2 + length
            log.info("SunSpec device at %s:%d: models %s", self.host, self.port, sorted(models))
            return models
        raise MeterReadError(f"no SunSpec device at {self.host}:{self.port} (no 'SunS' at 40000, 0 or 50000)")

    async def _read_sunspec(self, client) -> dict[str, float]:
        if self._models is None:
            self._models = await self.discover(client)
        values = {}
        for quantity, family, what in ((NET_IMPORT, sunspec.METER_MODELS, "meter model (201-204)"),
                                       (PV, sunspec.INVERTER_MODELS, "inverter model (101-103)")):  # fmt: skip
            if quantity not in self.quantities:
                continue
            model_id = next((m for m in family if m in self._models), None)
            if model_id is None:
                raise MeterReadError(f"the SunSpec device has no {what} for {quantity}")
            w_offset, sf_offset = sunspec.power_points(model_id)
            start = self._models[model_id] + w_offset
            regs = await self._registers(client, start, sf_offset - w_offset + 1)
            w = sunspec.watts(regs[0], regs[-1])
            if w is None:
                raise MeterReadError(f"SunSpec model {model_id}: W not implemented")
            values[quantity] = w / 1000.0
        return values
