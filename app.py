"""V2G Console: the web app, and the one command that runs the whole console.

`python app.py` creates and seeds the database if it is empty, starts the OCPP gateway (with the
dispatch scheduler) and, in demo mode, the charger simulator as child processes, then serves the
console at http://127.0.0.1:8050 until interrupted. A child that dies is restarted with back-off (1 s
doubling to 60 s) and logged; the children stop when the app exits.
`--no-gateway` and `--no-simulator` leave those out; `--reset-demo` reseeds the demo site and exits.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import time

import dash
from dash import Dash

from components import ids
from components.shell import shell
from core import auth
from core.config import PROJECT_ROOT, get_settings
from core.supervisor import Supervisor

ASSETS = PROJECT_ROOT / "assets"
# Served by the app itself: control rooms are often air-gapped, so nothing comes from a CDN.
STYLESHEETS = ["/assets/vendor/bootstrap-5.3.6.min.css"]


def nav_pages() -> list[dict]:
    """Registered pages that belong in the navbar (the wall display opts out with nav=False)."""
    return [p for p in dash.page_registry.values() if p.get("nav", True)]


def serve_layout():
    """The shell around the current page, built on every page load so it shows fresh data."""
    from components.format import local_clock
    from core import telemetry

    try:
        site = telemetry.site_info()
        site_name, local_time = site.name, local_clock(site.local_time)
    except telemetry.NoSiteError:
        site_name, local_time = "no site yet", ""
    return shell(nav_pages(), site_name, local_time, dash.page_container)


def create_app() -> Dash:
    """The Dash app with every page under `pages/` registered."""
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PROJECT_ROOT / "pages"),
        assets_folder=str(ASSETS),
        assets_ignore=r"^bootstrap-.*\.css$",  # linked explicitly (STYLESHEETS) so it loads before our own CSS
        external_stylesheets=STYLESHEETS,
        serve_locally=True,
        suppress_callback_exceptions=True,
        title="V2G Console",
        update_title=None,
    )
    app.layout = serve_layout
    return app


app = create_app()
server = app.server
auth.install(server)  # log-in, roles, CSRF: core/auth.py

# The wall display shows without the navbar.
dash.clientside_callback(
    """
    function(pathname) {
        const bare = (pathname || "").startsWith("/wall");
        return [bare ? {"display": "none"} : {}, bare ? "p-0" : ""];
    }
    """,
    dash.Output(ids.SHELL_NAVBAR, "style"),
    dash.Output(ids.SHELL_CONTAINER, "className"),
    dash.Input(ids.SHELL_URL, "pathname"),
)


def _children(args, settings) -> Supervisor:
    """The gateway and (in demo mode) the simulator, restarted with back-off when one dies (core/supervisor.py)."""
    env = dict(os.environ)
    # Children share the web process's clock (see core/clock.py); a restarted child keeps the same anchor.
    env.setdefault("V2G_CLOCK_ANCHOR_EPOCH", str(time.time()))
    os.environ["V2G_CLOCK_ANCHOR_EPOCH"] = env["V2G_CLOCK_ANCHOR_EPOCH"]
    commands = {}
    if not args.no_gateway:
        commands["gateway"] = [sys.executable, "-m", "core.gateway"]
    if settings.demo and not args.no_simulator:
        commands["simulator"] = [sys.executable, "-m", "core.simulator"]
    return Supervisor(commands, cwd=PROJECT_ROOT, env=env)


def prepare_database(*, reset_demo: bool = False) -> None:
    """Create the tables, and seed the demo site when the database has none (or anew on reset)."""
    from core.db import init_db
    from core.demo import seed_demo

    settings = get_settings()
    init_db()
    if (settings.demo or reset_demo) and seed_demo(demo_dir=settings.demo_dir, reset=reset_demo):
        print(f"Seeded the demo site from {settings.demo_dir}", flush=True)
    _ensure_admin(settings)


def _ensure_admin(settings) -> None:
    """Create the `admin` account when there is none: V2G_ADMIN_PASSWORD, else a generated password printed once."""
    from core.db import session_scope
    from core.users import ensure_admin

    with session_scope() as session:
        generated = ensure_admin(session=session, password=settings.admin_password)
    if generated:
        print(f"Created the account 'admin' with password {generated} (shown once; change it)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-gateway", action="store_true", help="do not start the OCPP gateway and scheduler")
    parser.add_argument("--no-simulator", action="store_true", help="do not start the simulated chargers")
    parser.add_argument("--reset-demo", action="store_true", help="reseed the demo site, then exit")
    args = parser.parse_args(argv)
    settings = get_settings()

    from core.demo import DemoDataError

    try:
        prepare_database(reset_demo=args.reset_demo)
    except DemoDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.reset_demo:
        return 0

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SIGTERM, SIGINT (Ctrl-C; set here, as a shell starting us in the background ignores it) and SIGHUP
    # (the terminal closed) end the app through the `finally` below, which stops the children: they run
    # in their own sessions (core/supervisor.py), so no signal for the terminal reaches them.
    for signum in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, lambda *_: sys.exit(0))
    children = _children(args, settings)
    # Everything imported so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise cost a live update 100 ms now and then (make bench).
    gc.freeze()
    try:
        children.start()
        from waitress import serve

        print(f"V2G Console at http://{settings.web_host}:{settings.web_port}", flush=True)
        serve(server, host=settings.web_host, port=settings.web_port, threads=8)
    finally:
        children.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
