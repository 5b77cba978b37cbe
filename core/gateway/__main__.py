"""`python -m core.gateway`: run the gateway until SIGTERM/SIGINT; `add-charger` registers a charger.

    python -m core.gateway [--host H] [--port P] [--no-dispatch] [--stats-file F] [--log-level L]
    python -m core.gateway add-charger ID --password PW --protocol 1.6|2.0.1|2.1 \\
        --max-charge-kw X --max-discharge-kw Y [--site SITE] [--accepts-negative-limits] [--replace]

Settings come from the environment (core.config: DATABASE_URL, V2G_GATEWAY_HOST/PORT,
V2G_TLS_CERT_FILE/KEY_FILE, V2G_DEMO, ...); the options above override them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path

from core.config import get_settings
from core.db import get_engine, init_db

log = logging.getLogger("core.gateway")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", help="address to listen on (default: V2G_GATEWAY_HOST or 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: V2G_GATEWAY_PORT or 9000; 0 = any)"
    )
    parser.add_argument("--no-dispatch", action="store_true", help="run no dispatch jobs (the gateway alone)")
    parser.add_argument("--stats-file", type=Path, help="write handling-time statistics here on exit (JSON)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ... (default INFO)")
    commands = parser.add_subparsers(dest="command")
    add = commands.add_parser("add-charger", help="register a charger that may then connect")
    add.add_argument("charger_id", metavar="ID", help="its OCPP identity (the last part of its URL)")
    add.add_argument("--password", required=True, help="its Basic-auth password (8-40 characters)")
    add.add_argument("--protocol", required=True, choices=["1.6", "2.0.1", "2.1"], help="its OCPP version")
    add.add_argument("--max-charge-kw", required=True, type=float, help="maximum charge power, kW")
    add.add_argument(
        "--max-discharge-kw", required=True, type=float, help="maximum discharge power, kW (0: one-way)"
    )
    add.add_argument("--site", help="its site id (needed when the database holds more than one site)")
    add.add_argument("--efficiency", type=float, default=0.95, help="charger efficiency 0-1 (default 0.95)")
    add.add_argument(
        "--accepts-negative-limits",
        action="store_true",
        help="a 1.6/2.0.1 charger that discharges on a negative limit (vendor convention)",
    )
    add.add_argument("--replace", action="store_true", help="change an already registered charger")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on a clean stop)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # it logs every frame at INFO
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Running job ..." on every tick
    if args.command == "add-charger":
        return add_charger(args)
    return asyncio.run(serve_until_signalled(args))


def add_charger(args: argparse.Namespace) -> int:
    """Register (or with --replace, change) a charger through the admin service (core.admin.chargers)."""
    import getpass

    from core import models
    from core.admin.chargers import add_charger as admin_add_charger
    from core.admin.chargers import edit_charger, rotate_password
    from core.db import session_scope
    from core.errors import PermissionDenied, ValidationError
    from core.users import SYSTEM_ACTOR_PREFIX

    engine = init_db(get_engine(get_settings().database_url))
    actor = f"{SYSTEM_ACTOR_PREFIX}cli:{getpass.getuser()}"
    fields = {
        "protocol": args.protocol, "max_charge_kw": args.max_charge_kw, "max_discharge_kw": args.max_discharge_kw,
        "efficiency": args.efficiency, "accepts_negative_limits": args.accepts_negative_limits,
    }
    try:
        with session_scope(engine) as session:
            existing = session.get(models.Charger, args.charger_id)
            if existing is not None and args.replace:
                if args.site is not None:
                    fields["site_id"] = args.site
                charger = edit_charger(session=session, actor=actor, charger_id=args.charger_id, **fields)
                rotate_password(session=session, actor=actor, charger_id=args.charger_id, password=args.password)
            else:
                charger, _ = admin_add_charger(
                    session=session, actor=actor, charger_id=args.charger_id, site_id=args.site,
                    password=args.password, **fields,
                )
            summary = (
                f"registered {charger.id} at site {charger.site_id}: OCPP {charger.protocol}, "
                f"{charger.max_charge_kw:g} kW charge / {charger.max_discharge_kw:g} kW discharge"
            )
    except (ValidationError, PermissionDenied) as exc:
        errors = getattr(exc, "errors", {"error": str(exc)})
        for field, message in errors.items():
            hint = " (use --replace to change it)" if "already registered" in message else ""
            print(f"error: {field}: {message}{hint}", file=sys.stderr)
        return 2
    print(summary)
    return 0


async def serve_until_signalled(args: argparse.Namespace) -> int:
    from core.gateway.server import Gateway

    settings = get_settings()
    engine = init_db(get_engine(settings.database_url))
    if settings.demo:
        _seed_demo(settings, engine)
    gateway = Gateway(
        settings=settings, engine=engine, host=args.host, port=args.port, dispatch=not args.no_dispatch
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await gateway.start()
    print(f"gateway listening on {gateway.url}/<charge point id>", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await gateway.stop()
        if args.stats_file is not None:
            gateway.stats.dump(
                args.stats_file,
                extra={"writer": vars(gateway.writer.stats), "outbox_sent": gateway.outbox.sent},
            )
            log.info("statistics written to %s", args.stats_file)
    print(json.dumps({"handling_ms": gateway.stats.summary()["all"]}), flush=True)
    return 0


def _seed_demo(settings, engine) -> None:
    """Demo mode: load the demo site if the database has none (the web app may have done it already)."""
    from sqlalchemy.exc import IntegrityError

    from core.demo import seed_demo

    with contextlib.suppress(IntegrityError):  # the web process seeded it at the same moment
        seed_demo(demo_dir=settings.demo_dir, engine=engine)


if __name__ == "__main__":
    sys.exit(main())
