"""The baseline of bench_gateway_scale.py: a central system of the bare `ocpp` library that stores nothing.

One `websockets` server, the library's ChargePoint of each version (1.6, 2.0.1, 2.1) with a
handler for every message the simulator sends, each answering at once; no authentication, no
database, no outbox. Schema validation inline, as the gateway does (`ASYNC_VALIDATION = False`:
the cheaper setting, so the baseline is not flattered). It prints one line "listening on <url>"
and serves until SIGTERM; then it writes {"calls": N} to --stats-file.

    python tests/benchmarks/bench_gateway_bare.py --port P [--stats-file F]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import signal
import sys
from pathlib import Path

import ocpp.messages
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Base16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action, RegistrationStatus
from ocpp.v21 import ChargePoint as Base21
from ocpp.v201 import ChargePoint as Base201
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.clock import now  # noqa: E402

CALLS = itertools.count()
TRANSACTION_IDS = itertools.count(1)
_ACCEPTED = {"status": "Accepted"}


def _now() -> str:
    # The bare peer answers Heartbeat/Boot with the console's clock, as the gateway does (core.clock).
    return now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Bare16(Base16):
    @on(Action.boot_notification)
    def boot(self, **_):
        next(CALLS)
        return result16.BootNotification(current_time=_now(), interval=300, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def heartbeat(self, **_):
        next(CALLS)
        return result16.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def status(self, **_):
        next(CALLS)
        return result16.StatusNotification()

    @on(Action.authorize)
    def authorize(self, **_):
        next(CALLS)
        return result16.Authorize(id_tag_info=_ACCEPTED)

    @on(Action.start_transaction)
    def start_transaction(self, **_):
        next(CALLS)
        return result16.StartTransaction(transaction_id=next(TRANSACTION_IDS), id_tag_info=_ACCEPTED)

    @on(Action.stop_transaction)
    def stop_transaction(self, **_):
        next(CALLS)
        return result16.StopTransaction()

    @on(Action.meter_values)
    def meter_values(self, **_):
        next(CALLS)
        return result16.MeterValues()


class _Bare2x:
    @on("BootNotification")
    def boot(self, **_):
        next(CALLS)
        return self._call_result.BootNotification(current_time=_now(), interval=300, status="Accepted")

    @on("Heartbeat")
    def heartbeat(self, **_):
        next(CALLS)
        return self._call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def status(self, **_):
        next(CALLS)
        return self._call_result.StatusNotification()

    @on("Authorize")
    def authorize(self, **_):
        next(CALLS)
        return self._call_result.Authorize(id_token_info=_ACCEPTED)

    @on("TransactionEvent")
    def transaction_event(self, id_token=None, **_):
        next(CALLS)
        if id_token:
            return self._call_result.TransactionEvent(id_token_info=_ACCEPTED)
        return self._call_result.TransactionEvent()

    @on("MeterValues")
    def meter_values(self, **_):
        next(CALLS)
        return self._call_result.MeterValues()

    @on("NotifyEVChargingNeeds")
    def needs(self, **_):
        next(CALLS)
        return self._call_result.NotifyEVChargingNeeds(status="Accepted")


class Bare201(_Bare2x, Base201):
    pass


class Bare21(_Bare2x, Base21):
    pass


CLASSES = {"ocpp1.6": Bare16, "ocpp2.0.1": Bare201, "ocpp2.1": Bare21}


async def on_connect(connection) -> None:
    charger_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
    if connection.subprotocol is None:
        await connection.close(1002, "no OCPP subprotocol")
        return
    with contextlib.suppress(ConnectionClosed):
        await CLASSES[connection.subprotocol](charger_id, connection).start()


async def main(port: int, stats_file: Path | None) -> None:
    ocpp.messages.ASYNC_VALIDATION = False
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with serve(on_connect, "127.0.0.1", port, subprotocols=list(CLASSES)) as server:
        print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ocpp", flush=True)
        await stop.wait()
    if stats_file is not None:
        stats_file.write_text(json.dumps({"calls": next(CALLS)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stats-file", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.port, args.stats_file))
