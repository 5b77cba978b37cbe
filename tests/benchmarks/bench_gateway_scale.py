"""Benchmark: one gateway against the bare `ocpp` library at 1,000 and 2,000 chargers (issue 15),
and a good charger's heartbeat during attacks (issue 14, `--hardening`).

Scale (default): for each size and each server, that server runs in its own process
(`python -m core.gateway --no-dispatch` over a fresh SQLite file, or bench_gateway_bare.py: the
library's ChargePoints answering at once, storing nothing) and this process is the fleet of
simulated chargers (a third each 1.6, 2.0.1, 2.1, vehicles plugged in, a meter reading every
`--meter-interval` s). After a ramp and a settling interval, a window of `--seconds`:

* CPU per message: the server process's CPU time (all threads: user + system) in the window over
  the CALLs the chargers had answered in it; the gateway's goal is <= 1.5x the bare library's;
* p50/p99 round trip as the chargers see it, and the server's event-loop lag (gateway: its stats);
* then a restart: SIGTERM, a new process on the same port (same database), and the wall time and
  the new process's CPU-seconds until every charger is connected and booted again (start-up CPU
  shown apart). Goal: 2,000 in under 30 s. The gateway runs with V2G_SECRET_KEY set, as in
  production (remembered credentials are stored: no scrypt after the restart); `--no-secret-key`
  shows the cost without (one scrypt per charger). The chargers back off 0.5 s doubling to 5 s (real
  stations wait longer: OCPP RetryBackOffWaitMinimum), so the figure is the server's, not theirs.

`V2G_GATEWAY_GC=default` in the environment runs the gateway with the interpreter's own garbage
collection settings (see core/gateway/server.py GC_THRESHOLDS): compare the loop lag's max.

Hardening (`--hardening`): one gateway, `--background` chargers at work, one good 1.6 charger
sending a Heartbeat every 50 ms; phases of `--phase-seconds` each: quiet, a burst of 500
wrong-password handshakes (and the good charger reconnecting meanwhile), oversized frames (1009),
frames nested 100,000 deep, 5,000-character message ids, binary frames (1003). Reported per
phase: the good charger's heartbeat round trip p50/p99/max, the gateway's memory, what the
attackers got.

The machine's other load shows in every figure: compare servers within one run, on a quiet machine.

    python tests/benchmarks/bench_gateway_scale.py [--chargers 1000 2000] [--servers gateway bare]
        [--seconds 30] [--ramp-seconds 30] [--meter-interval 10]
    python tests/benchmarks/bench_gateway_scale.py --hardening [--background 100] [--phase-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gateway import PASSWORD, PROTOCOLS, build_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    kind: str, port: int, database: Path | None, stats_file: Path, secret_key: str = ""
) -> tuple[subprocess.Popen, str]:
    """The server process and its base URL, once it listens."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "V2G_SECRET_KEY": secret_key}
    if kind == "gateway":
        env.update(DATABASE_URL=f"sqlite:///{database}", V2G_DEMO="0", V2G_METER_INTERVAL_S="10")
        env.update(V2G_CLOCK_SPEED="1", V2G_CLOCK_START="")
        command = [sys.executable, "-m", "core.gateway", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--no-dispatch", "--stats-file", str(stats_file), "--log-level", "ERROR"]
    else:
        command = [sys.executable, str(Path(__file__).with_name("bench_gateway_bare.py")), "--port", str(port)]
        command += ["--stats-file", str(stats_file)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        raise SystemExit(f"{kind} did not start: {line!r}")
    return process, line.split(" on ", 1)[1].split("/<", 1)[0].strip()


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def fleet(n: int, url: str, meter_interval_s: float):
    from core.simulator.chargepoint import SimCharger, SimulatedChargePoint
    from core.simulator.vehicle import SimVehicle

    charge_points = []
    for i in range(n):
        charger_id = f"BENCH-{i:04d}"
        vehicle = SimVehicle(
            id=f"BV-{i:04d}", id_tag=f"BENCH-TAG-{i:04d}", kind="van", battery_kwh=350.0,
            max_charge_kw=22.0, max_discharge_kw=22.0, target_soc=0.9, arrival_soc=0.4,
            usual_arrival="00:00", usual_departure="23:59", timezone="UTC",
        )  # fmt: skip
        charger = SimCharger(
            id=charger_id, protocol=PROTOCOLS[i % 3], password=PASSWORD, max_charge_kw=22.0, max_discharge_kw=22.0
        )
        charge_points.append(
            SimulatedChargePoint(
                charger=charger, vehicle=vehicle, url=f"{url}/{charger_id}", meter_interval_s=meter_interval_s,
                presence="plugged", response_timeout_s=30.0, backoff_min_s=0.5, backoff_max_s=5.0,
            )
        )  # fmt: skip
    return charge_points


async def all_ready(charge_points, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(cp.ready.is_set() for cp in charge_points):
            return True
        await asyncio.sleep(0.1)
    return False


def loop_lag(stats_file: Path, start: float, end: float) -> dict | None:
    if not stats_file.exists():
        return None
    lags = sorted(lag for at, lag in json.loads(stats_file.read_text()).get("loop_lags", []) if start <= at <= end)
    return {"p99_ms": _ms(_percentile(lags, 0.99)), "max_ms": _ms(lags[-1] if lags else None)}


async def scale_run(kind: str, n: int, args) -> dict:
    from core.gateway.stats import LatencyStats

    folder = Path(tempfile.mkdtemp(prefix=f"bench-scale-{kind}-{n}-"))
    database = folder / "bench.db" if kind == "gateway" else None
    if database is not None:
        await asyncio.to_thread(build_database, database, n)
    port = free_port()
    first_stats, second_stats = folder / "stats-1.json", folder / "stats-2.json"
    secret_key = "" if args.no_secret_key else "bench-secret-key-0123456789abcdef"
    process, url = start_server(kind, port, database, first_stats, secret_key)
    server = psutil.Process(process.pid)
    charge_points = fleet(n, url, args.meter_interval)
    own_loop = LatencyStats()
    lag_watch = asyncio.create_task(own_loop.watch_loop())
    for cp in charge_points:
        await cp.start()
        await asyncio.sleep(args.ramp_seconds / n)
    connected = await all_ready(charge_points, 300)
    await asyncio.sleep(args.meter_interval)

    cpu_before, trips_before, window_start = (
        cpu_seconds(server),
        [len(cp.round_trips_s) for cp in charge_points],
        time.time(),
    )
    await asyncio.sleep(args.seconds)
    cpu_window, window_end = cpu_seconds(server) - cpu_before, time.time()
    trips = sorted(t for cp, k in zip(charge_points, trips_before, strict=True) for t in cp.round_trips_s[k:])
    rss_mb = server.memory_info().rss / 2**20
    generator_lag = own_loop.summary(since=window_start)["event_loop_lag"]

    # The restart: every charger loses its connection, backs off, and comes back to a new process.
    await asyncio.to_thread(stop_server, process)
    process, _ = await asyncio.to_thread(start_server, kind, port, database, second_stats, secret_key)
    listening_at = time.monotonic()
    server = psutil.Process(process.pid)
    startup_cpu = cpu_seconds(server)
    reconnected = await all_ready(charge_points, 300)
    reconnect_wall = time.monotonic() - listening_at
    reconnect_cpu = cpu_seconds(server) - startup_cpu
    refused = sum(cp.refused_status is not None for cp in charge_points)

    await asyncio.gather(*(cp.stop() for cp in charge_points))
    lag_watch.cancel()
    await asyncio.to_thread(stop_server, process)
    writer = json.loads(first_stats.read_text()).get("writer") if first_stats.exists() else None
    return {
        "server": kind,
        "gc": os.environ.get("V2G_GATEWAY_GC", "tuned") if kind == "gateway" else None,
        "chargers": n,
        "all_connected": connected,
        "window_s": round(window_end - window_start, 1),
        "messages_in_window": len(trips),
        "messages_per_s": round(len(trips) / (window_end - window_start), 1),
        "cpu_ms_per_message": round(1000 * cpu_window / max(1, len(trips)), 3),
        "cpu_percent_of_one_core": round(100 * cpu_window / (window_end - window_start), 1),
        "round_trip_ms": {"p50": _ms(_percentile(trips, 0.5)), "p99": _ms(_percentile(trips, 0.99))},
        "server_loop_lag_ms (gateway only)": loop_lag(first_stats, window_start, window_end),
        "load_generator_loop_lag_ms": generator_lag,
        "server_rss_mb": round(rss_mb, 1),
        "writer (gateway, first process)": writer,
        "reconnect_after_restart": {
            "all_reconnected": reconnected,
            "wall_s": round(reconnect_wall, 1),
            "cpu_s": round(reconnect_cpu, 2),
            "startup_cpu_s (before listening)": round(startup_cpu, 2),
            "chargers_last_refused_with_http_status": refused,
        },
    }


# --- hardening ------------------------------------------------------------------------------------


def _auth(charger_id: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{charger_id}:{password}".encode()).decode()}


async def _open(url: str, charger_id: str, password: str = PASSWORD):
    from websockets.asyncio.client import connect

    protocol = PROTOCOLS[int(charger_id.rsplit("-", 1)[1]) % 3]
    return await connect(
        f"{url}/{charger_id}", subprotocols=[f"ocpp{protocol}"], additional_headers=_auth(charger_id, password),
        max_size=None, open_timeout=30,
    )  # fmt: skip


async def _answers(ws) -> list:
    """Read frames, answer the gateway's CALLs, return the answers to ours."""
    message = json.loads(await ws.recv())
    while message[0] == 2:
        await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
        message = json.loads(await ws.recv())
    return message


async def good_charger(url: str, samples: list, phase: list) -> None:
    """BENCH-0000 (1.6): a Heartbeat every 50 ms, its round trip recorded under the current phase."""
    ws = await _open(url, "BENCH-0000")
    number = 0
    while True:
        number += 1
        sent = time.perf_counter()
        await ws.send(json.dumps([2, f"hb{number}", "Heartbeat", {}]))
        while True:
            message = json.loads(await ws.recv())
            if message[0] == 2:
                await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
            elif message[1] == f"hb{number}":
                break
        samples.append((phase[0], time.perf_counter() - sent))
        await asyncio.sleep(0.05)


async def _handshake_status(url: str, charger_id: str, password: str) -> int | str:
    from websockets.exceptions import InvalidStatus

    try:
        ws = await _open(url, charger_id, password)
        await ws.close()
        return 101
    except InvalidStatus as exc:
        return exc.response.status_code
    except Exception as exc:
        return type(exc).__name__


async def _repeat(duration_s: float, attack) -> dict:
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        outcome = str(await attack())
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _frame_attack(url: str, charger_id: str, frame):
    async def attack():
        from websockets.exceptions import ConnectionClosed

        ws = await _open(url, charger_id)
        try:
            await ws.send(frame)
            answer = await asyncio.wait_for(_answers(ws), 10)
            await ws.close()
            return f"CallError {answer[2]}" if answer[0] == 4 else f"answer {answer[0]}"
        except ConnectionClosed:
            return f"closed {ws.close_code}"

    return attack


async def hardening_run(args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-hardening-"))
    database = folder / "bench.db"
    await asyncio.to_thread(build_database, database, args.background + 10)
    process, url = start_server("gateway", free_port(), database, folder / "stats.json")
    server = psutil.Process(process.pid)
    background = fleet(args.background + 10, url, args.meter_interval)[10:]  # BENCH-0000..9 are ours
    for cp in background:
        await cp.start()
        await asyncio.sleep(0.02)
    await all_ready(background, 120)
    samples: list[tuple[str, float]] = []
    phase = ["quiet"]
    good = asyncio.create_task(good_charger(url, samples, phase))
    report: dict = {}
    long_id = json.dumps([2, "i" * 5000, "Heartbeat", {}])

    async def burst():
        rss_before = server.memory_info().rss
        statuses = asyncio.gather(*(_handshake_status(url, "BENCH-0001", f"wrong-{k:04d}-pw") for k in range(500)))
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        good_reconnect = await _handshake_status(url, "BENCH-0000", PASSWORD)
        reconnect_s = time.perf_counter() - started
        outcomes = await statuses
        counts = {str(s): outcomes.count(s) for s in set(outcomes)}
        return {
            "handshakes": counts,
            "good_charger_reconnect": {"status": good_reconnect, "seconds": round(reconnect_s, 3)},
            "gateway_rss_growth_mb": round((server.memory_info().rss - rss_before) / 2**20, 1),
        }

    attacks = [
        ("quiet", None),
        ("500 wrong-password handshakes", burst),
        ("oversized frames (300 kB)", _frame_attack(url, "BENCH-0002", "x" * 300_000)),
        ("frames nested 100,000 deep", _frame_attack(url, "BENCH-0003", "[" * 100_000)),
        ("5,000-character message ids", _frame_attack(url, "BENCH-0004", long_id)),
        ("binary frames", _frame_attack(url, "BENCH-0005", json.dumps([2, "b", "Heartbeat", {}]).encode())),
    ]
    for name, attack in attacks:
        phase[0] = name
        started = time.monotonic()
        if attack is None:
            await asyncio.sleep(args.phase_seconds)
            outcome = None
        elif attack is burst:
            outcome = await burst()
            await asyncio.sleep(max(0.0, args.phase_seconds - (time.monotonic() - started)))
        else:
            outcome = await _repeat(args.phase_seconds, attack)
        rtts = sorted(rtt for p, rtt in samples if p == name)
        report[name] = {
            "good_heartbeat_rtt_ms": {
                "count": len(rtts),
                "p50": _ms(_percentile(rtts, 0.5)),
                "p99": _ms(_percentile(rtts, 0.99)),
                "max": _ms(rtts[-1] if rtts else None),
            },
            "attack_outcomes": outcome,
            "gateway_rss_mb": round(server.memory_info().rss / 2**20, 1),
        }
    good.cancel()
    await asyncio.gather(good, return_exceptions=True)
    await asyncio.gather(*(cp.stop() for cp in background))
    stop_server(process)
    return {"background_chargers": args.background, "phases": report}


def _percentile(values: list[float], q: float) -> float | None:
    from core.gateway.stats import percentile

    return percentile(values, q)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--servers", nargs="+", default=["bare", "gateway"], choices=["bare", "gateway"])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the measurement window")
    parser.add_argument("--ramp-seconds", type=float, default=30.0)
    parser.add_argument("--meter-interval", type=float, default=10.0)
    parser.add_argument(
        "--no-secret-key",
        action="store_true",
        help="gateway without V2G_SECRET_KEY: remembered credentials die with the process (scrypt again after a restart)",
    )
    parser.add_argument("--hardening", action="store_true", help="the attacks benchmark instead")
    parser.add_argument("--background", type=int, default=100, help="(hardening) chargers at work meanwhile")
    parser.add_argument("--phase-seconds", type=float, default=5.0, help="(hardening) length of each attack")
    args = parser.parse_args()

    import logging

    import ocpp.messages

    logging.basicConfig(level=logging.ERROR)
    ocpp.messages.ASYNC_VALIDATION = False  # the load generator validates inline too
    if args.hardening:
        print(json.dumps(asyncio.run(hardening_run(args)), indent=2), flush=True)
        return 0
    results = []
    for n in args.chargers:
        for kind in args.servers:
            result = asyncio.run(scale_run(kind, n, args))
            print(json.dumps(result, indent=2), flush=True)
            results.append(result)
    for n in args.chargers:
        by_kind = {r["server"]: r for r in results if r["chargers"] == n}
        if {"bare", "gateway"} <= by_kind.keys():
            ratio = by_kind["gateway"]["cpu_ms_per_message"] / max(1e-9, by_kind["bare"]["cpu_ms_per_message"])
            reconnect = by_kind["gateway"]["reconnect_after_restart"]["wall_s"]
            print(
                f"{n} chargers: gateway CPU per message {ratio:.2f}x the bare library's (goal <= 1.5x); "
                f"reconnect after restart {reconnect} s (goal for 2,000: < 30 s)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
