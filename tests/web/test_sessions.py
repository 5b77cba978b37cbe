"""Log-in sessions end server-side: a copy of the session cookie taken before logout (or before the
password changed) is refused afterwards, over real HTTP, and a write sent with it changes nothing."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from sqlmodel import select
from werkzeug.serving import make_server

from core import auth, models
from core.db import session_scope
from core.security import hash_password
from tests.test_users_auth import PASSWORD, audit_count, floor_payload, vehicle_floor


@pytest.fixture(scope="module")
def base_url(demo_database):
    """The real web app behind a real HTTP server on a free port."""
    import app

    with session_scope() as s:
        for name in ("sam-op", "tess-op"):
            if s.exec(select(models.User).where(models.User.username == name)).first() is None:
                s.add(models.User(username=name, role="operator", password_hash=hash_password(PASSWORD)))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def log_in(base: str, username: str) -> requests.Session:
    http = requests.Session()
    r = http.post(f"{base}/login", data={"username": username, "password": PASSWORD}, allow_redirects=False)
    assert r.status_code == 302 and "v2g_session" in http.cookies
    return http


def replay(base: str, cookies: dict) -> requests.Session:
    """A fresh client that holds only a copy of the cookies (what an attacker who copied them has)."""
    thief = requests.Session()
    for name, value in cookies.items():
        thief.cookies.set(name, value)
    return thief


def save_floor(http: requests.Session, base: str, vehicle: str, floor_pct: float) -> requests.Response:
    return http.post(
        f"{base}/_dash-update-component",
        data=json.dumps(floor_payload(vehicle, floor_pct)),
        headers={"Content-Type": "application/json", "X-CSRFToken": http.cookies.get("_csrf_token", "")},
    )


def test_a_cookie_copied_before_logout_is_refused_after_it(base_url):
    http = log_in(base_url, "sam-op")
    copied = dict(http.cookies)
    assert (
        replay(base_url, copied).get(f"{base_url}/settings", allow_redirects=False).status_code == 200
    )  # the copy works...
    r = http.post(f"{base_url}/logout", data={"csrf_token": http.cookies["_csrf_token"]}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/login"

    thief = replay(base_url, copied)  # ...until the owner logs out
    r = thief.get(f"{base_url}/settings", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert thief.get(f"{base_url}/_dash-layout").status_code == 401
    before, count = vehicle_floor("VAN-07"), audit_count()
    r = save_floor(replay(base_url, copied), base_url, "VAN-07", 45)
    assert r.status_code == 401
    assert (vehicle_floor("VAN-07"), audit_count()) == (before, count)  # nothing was written
    with session_scope() as s:
        rows = s.exec(select(models.WebSession).where(models.WebSession.username == "sam-op")).all()
        assert rows and all(row.ended_at is not None for row in rows)


def test_end_user_sessions_logs_an_account_out_everywhere(base_url):
    laptop, phone = log_in(base_url, "tess-op"), log_in(base_url, "tess-op")
    other = log_in(base_url, "sam-op")
    assert save_floor(laptop, base_url, "VAN-08", 50).status_code == 200 and vehicle_floor("VAN-08") == 0.5

    assert auth.end_user_sessions("tess-op") == 2  # what a password change calls
    before, count = vehicle_floor("VAN-08"), audit_count()
    for browser in (laptop, phone):
        assert browser.get(f"{base_url}/settings", allow_redirects=False).status_code == 302
        assert save_floor(browser, base_url, "VAN-08", 45).status_code == 401
    assert (vehicle_floor("VAN-08"), audit_count()) == (before, count)
    assert other.get(f"{base_url}/settings", allow_redirects=False).status_code == 200  # another account: untouched
    assert log_in(base_url, "tess-op").get(f"{base_url}/settings", allow_redirects=False).status_code == 200


def test_keep_current_spares_only_the_browser_that_changed_the_password(base_url):
    import app

    this, elsewhere = log_in(base_url, "tess-op"), log_in(base_url, "tess-op")
    cookie = this.cookies["v2g_session"]
    with app.server.test_request_context("/", headers={"Cookie": f"v2g_session={cookie}"}):
        ended = auth.end_user_sessions("tess-op", keep_current=True)
    assert ended >= 1
    assert this.get(f"{base_url}/settings", allow_redirects=False).status_code == 200
    assert elsewhere.get(f"{base_url}/settings", allow_redirects=False).status_code == 302


def test_a_session_ends_by_itself_after_its_lifetime(base_url, clock):
    http = log_in(base_url, "sam-op")
    assert http.get(f"{base_url}/settings", allow_redirects=False).status_code == 200
    clock.advance(seconds=auth.SESSION_LIFETIME.total_seconds() + 1)
    assert http.get(f"{base_url}/settings", allow_redirects=False).status_code == 302


def test_a_cookie_without_a_server_side_session_is_refused(base_url):
    """A cookie signed with the app's key but naming no session (or an old cookie from before this
    change) does not log anyone in."""
    import app

    with session_scope() as s:
        user = s.exec(select(models.User).where(models.User.username == "sam-op")).first()
        user_id = str(user.id)
    serializer = app.server.session_interface.get_signing_serializer(app.server)
    forged = serializer.dumps({"_user_id": user_id, "_fresh": True, "csrf": "x"})
    thief = replay(base_url, {"v2g_session": forged})
    assert thief.get(f"{base_url}/settings", allow_redirects=False).status_code == 302


def test_a_disabled_account_is_logged_out_at_once(base_url):
    http = log_in(base_url, "sam-op")
    with session_scope() as s:
        s.exec(select(models.User).where(models.User.username == "sam-op")).one().disabled_at = utc_now()
    try:
        assert http.get(f"{base_url}/settings", allow_redirects=False).status_code == 302
    finally:
        with session_scope() as s:
            s.exec(select(models.User).where(models.User.username == "sam-op")).one().disabled_at = None


def utc_now():
    from core.clock import now

    return now()
