"""A simulated SunSpec meter + inverter on Modbus TCP (pymodbus's own server), for a try-out.

    python -m core.meters.try_sunspec_server --port 5020 [--net-kw 40] [--pv-kw 12] [--swing-kw 20]

Serves unit 1: "SunS" at 40000, common model 1, meter model 203 (net import at the grid connection,
positive = import) and inverter model 103 (PV); the net import swings by --swing-kw around --net-kw
over --period-s seconds, so the console's readings visibly change. Prints the port it listens on
(--port 0: any free port), then serves until Ctrl-C. The tests start the same server in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from core.meters.sunspec import BASE_ADDRESSES, device_image, w_register

UNIT_ID = 1
HOLDING = 3  # Modbus function code of the holding registers


class SunSpecSimulator:
    """A running SunSpec device; `set_power` changes what it serves."""

    def __init__(self, server: ModbusTcpServer, addresses: dict[str, int], w_sf: int):
        self.server, self.addresses, self.w_sf = server, addresses, w_sf

    @property
    def port(self) -> int:
        return self.server.transport.sockets[0].getsockname()[1]

    async def set_power(self, *, net_import_kw: float | None = None, pv_kw: float | None = None) -> None:
        """Serve a new net import (meter model 203) and / or PV power (inverter model 103)."""
        for what, kw in (("meter", net_import_kw), ("inverter", pv_kw)):
            if kw is not None:
                await self.server.async_setValues(
                    UNIT_ID, HOLDING, self.addresses[what], [w_register(kw * 1000, self.w_sf)]
                )

    async def stop(self) -> None:
        await self.server.shutdown()


async def start_simulator(
    *, host: str = "127.0.0.1", port: int = 0, net_import_kw: float = 40.0, pv_kw: float | None = 12.0, w_sf: int = 2
) -> SunSpecSimulator:
    """Start serving (inside a running event loop); `pv_kw=None` serves no inverter model. Powers
    are served as W x 10^w_sf (w_sf 2: 100 W steps, up to 3.2 MW; 1: 10 W steps, up to 327 kW)."""
    pv_w = None if pv_kw is None else pv_kw * 1000
    registers, addresses = device_image(meter_w=net_import_kw * 1000, inverter_w=pv_w, w_sf=w_sf)
    device = SimDevice(id=UNIT_ID, simdata=[SimData(BASE_ADDRESSES[0], values=registers, datatype=DataType.REGISTERS)])
    server = ModbusTcpServer(device, address=(host, port))
    await server.serve_forever(background=True)
    return SunSpecSimulator(server, addresses, w_sf)


async def _serve(args: argparse.Namespace) -> None:
    sim = await start_simulator(host=args.host, port=args.port, net_import_kw=args.net_kw, pv_kw=args.pv_kw)
    print(sim.port, flush=True)
    print(f"SunSpec meter + inverter on {args.host}:{sim.port}, unit {UNIT_ID} (Ctrl-C stops)", flush=True)
    started = time.monotonic()
    try:
        while True:
            phase = 2 * math.pi * (time.monotonic() - started) / args.period_s
            await sim.set_power(net_import_kw=round(args.net_kw + args.swing_kw * math.sin(phase), 2))
            await asyncio.sleep(1.0)
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.meters.try_sunspec_server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5020, help="port (default 5020; 0: any free port)")
    parser.add_argument("--net-kw", type=float, default=40.0, help="mean net import, kW (default 40)")
    parser.add_argument("--pv-kw", type=float, default=12.0, help="PV power, kW (default 12)")
    parser.add_argument("--swing-kw", type=float, default=20.0, help="net import swing, kW (default 20)")
    parser.add_argument("--period-s", type=float, default=120.0, help="seconds per swing (default 120)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the normal way to stop it
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
