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
import threading
import time
from pathlib import Path

import dash
from dash import Dash

from components import ids
from components.shell import shell
from core import auth, web_headers
from core.config import PROJECT_ROOT, get_settings
from core.supervisor import Supervisor

ASSETS = PROJECT_ROOT / "assets"
# Served by the app itself: control rooms are often air-gapped, so nothing comes from a CDN.
STYLESHEETS = ["/assets/vendor/bootstrap-5.3.6.min.css"]
# A generated admin password is kept in this file (mode 0600) beside the SQLite database (else in
# data/), and shown again once start-up has settled.
ADMIN_PASSWORD_FILE = "initial-admin-password.txt"
STARTUP_SETTLE_S = 6.0  # after the gateway is up: the chargers connect (a burst of lines)


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
    return shell(nav_pages(), site_name, local_time, dash.page_container, role=auth.current_role())


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
web_headers.install(server, script_hashes=app.csp_hashes)  # CSP, HSTS, no-store: core/web_headers.py

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


def prepare_database(*, reset_demo: bool = False) -> str | None:
    """Create the tables, and seed the demo site when the database has none (or anew on reset).

    Returns the notice of a generated admin password to show once the console is up, if any."""
    from core.db import init_db
    from core.demo import seed_demo

    settings = get_settings()
    init_db()
    if (settings.demo or reset_demo) and seed_demo(demo_dir=settings.demo_dir, reset=reset_demo):
        print(f"Seeded the demo site from {settings.demo_dir}", flush=True)
    return _ensure_admin(settings)


def _ensure_admin(settings) -> str | None:
    """Create the `admin` account when there is none: V2G_ADMIN_PASSWORD, else a generated password.

    A generated password is written to `admin_password_path` (readable by this user only) and shown in a
    box once the console is up (`admin_password_notice`), so start-up lines never scroll it away.
    Returns the notice to show, or None.
    """
    from core.db import session_scope
    from core.users import ensure_admin

    with session_scope() as session:
        generated = ensure_admin(session=session, password=settings.admin_password)
    if not generated:
        return None
    path = admin_password_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(generated + "\n")
    os.chmod(path, 0o600)  # also when the file was there already
    return admin_password_notice(generated, path)


def admin_password_path(settings) -> Path:
    """Where a generated admin password is kept: beside the SQLite database file, else in data/."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    folder = Path(url.database).resolve().parent if on_disk else None
    return (folder or PROJECT_ROOT / "data") / ADMIN_PASSWORD_FILE


def admin_password_notice(password: str, path) -> str:
    """The box that shows the generated admin password after start-up."""
    lines = [
        "Created the account 'admin' with the password:",
        f"    {password}",
        f"It is also in {path} (readable by you only).",
        "Log in, change it, then delete that file.",
    ]
    width = max(len(line) for line in lines)
    bar = "+" + "-" * (width + 2) + "+"
    return "\n".join([bar, *(f"| {line.ljust(width)} |" for line in lines), bar])


def _show_when_settled(notice: str, settings, gateway: bool) -> None:
    """Print `notice` after the children's start-up lines: once the gateway accepts connections (up to
    a minute), then STARTUP_SETTLE_S more for the chargers' connection burst. From then on the
    children log only what changes, so the notice stays on screen."""
    import socket

    deadline = time.monotonic() + 60
    while gateway and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", settings.gateway_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    time.sleep(STARTUP_SETTLE_S)
    print(notice, flush=True)


def serve_options(settings) -> dict:
    """waitress's options: behind a reverse proxy (V2G_TRUSTED_PROXY, its address) the proxy's
    X-Forwarded-Proto/-For/-Host are believed, so a request that reached the proxy over HTTPS counts as
    secure (HSTS, core/web_headers.py) and the login backoff sees the client's address; from any other
    peer those headers are dropped."""
    options = {"host": settings.web_host, "port": settings.web_port, "threads": 8}
    if settings.trusted_proxy:
        options.update(
            trusted_proxy=settings.trusted_proxy,
            trusted_proxy_headers={"x-forwarded-proto", "x-forwarded-for", "x-forwarded-host"},
            clear_untrusted_proxy_headers=True,
        )
    return options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-gateway", action="store_true", help="do not start the OCPP gateway and scheduler")
    parser.add_argument("--no-simulator", action="store_true", help="do not start the simulated chargers")
    parser.add_argument("--reset-demo", action="store_true", help="reseed the demo site, then exit")
    args = parser.parse_args(argv)
    settings = get_settings()

    from core.demo import DemoDataError

    # Before the database is prepared, so that its schema upgrade (core.migrations, INFO) is logged.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        notice = prepare_database(reset_demo=args.reset_demo)
    except DemoDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.reset_demo:
        if notice:
            print(notice, flush=True)
        return 0

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
        from waitress import create_server

        web = create_server(server, **serve_options(settings))
        print(f"V2G Console at http://{settings.web_host}:{settings.web_port}", flush=True)
        if notice:
            print(
                f"Created the account 'admin': its password follows once start-up has settled "
                f"(and is in {admin_password_path(settings)}).",
                flush=True,
            )
            settled = threading.Thread(
                target=_show_when_settled, args=(notice, settings, not args.no_gateway), daemon=True
            )
            settled.start()
        web.run()
    finally:
        children.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
