"""Accounts and the web gate: hashed passwords, roles, login backoff, logout, cookie flags, CSRF, the
wall token, and the save callback refused to viewers and anonymous requests, including when the Dash
callback request is posted by hand. Uses the session's demo database (tests/conftest.py) with users
of its own, and the real Flask server of app.py (test client, and one real HTTP server)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import requests
from sqlmodel import select
from werkzeug.serving import make_server

from core import models, users
from core.db import session_scope
from core.security import verify_password

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app_module():
    import app

    return app


@pytest.fixture(scope="module")
def accounts(demo_database):
    """viewer, operator and admin accounts (created once, directly: create_user is tested below)."""
    from core.security import hash_password

    with session_scope() as s:
        for name, role in (("vic", "viewer"), ("olga", "operator"), ("ada", "admin")):
            if users.get_user(s, name) is None:
                s.add(models.User(username=name, role=role, password_hash=hash_password(PASSWORD)))
    return {"viewer": "vic", "operator": "olga", "admin": "ada"}


def client_for(app_module, username: str | None):
    client = app_module.server.test_client()
    if username:
        r = client.post("/login", data={"username": username, "password": PASSWORD})
        assert r.status_code == 302, r.data
    return client


def csrf_of(client) -> str:
    cookie = client.get_cookie("_csrf_token")
    return cookie.value if cookie else ""


def floor_payload(vehicle: str, floor_pct) -> dict:
    """The request dash-renderer sends when Save is pressed on the floor form."""
    fields = ["vehicle", "floor"]
    output = (
        '..{"field":["ALL"],"form":["MATCH"],"type":"settings-field"}.invalid'
        '...{"field":["ALL"],"form":["MATCH"],"type":"settings-feedback"}.children'
        '...{"form":["MATCH"],"type":"settings-preview"}.children'
        '...{"form":["MATCH"],"type":"settings-status"}.children'
        '...{"form":["MATCH"],"type":"settings-confirm"}.displayed'
        '...{"form":["MATCH"],"type":"settings-confirm"}.message'
        '...{"form":["MATCH"],"type":"settings-last-audit"}.data..'
    )

    def one(type_, prop):
        return {"id": {"type": type_, "form": "floor"}, "property": prop}

    return {
        "output": output,
        "outputs": [
            [{"id": {"type": "settings-field", "form": "floor", "field": f}, "property": "invalid"} for f in fields],
            [{"id": {"type": "settings-feedback", "form": "floor", "field": f}, "property": "children"} for f in fields],
            one("settings-preview", "children"),
            one("settings-status", "children"),
            one("settings-confirm", "displayed"),
            one("settings-confirm", "message"),
            one("settings-last-audit", "data"),
        ],
        "inputs": [
            {**one("settings-preview-button", "n_clicks"), "value": None},
            {**one("settings-save-button", "n_clicks"), "value": 1},
            {**one("settings-confirm", "submit_n_clicks"), "value": None},
        ],
        "changedPropIds": ['{"form":"floor","type":"settings-save-button"}.n_clicks'],
        "state": [
            [
                {"id": {"type": "settings-field", "form": "floor", "field": "vehicle"}, "property": "value", "value": vehicle},
                {"id": {"type": "settings-field", "form": "floor", "field": "floor"}, "property": "value", "value": floor_pct},
            ],
            [],
        ],
    }


def vehicle_floor(vehicle_id: str) -> float | None:
    with session_scope() as s:
        return s.get(models.Vehicle, vehicle_id).soc_floor


def audit_count() -> int:
    with session_scope() as s:
        return len(s.exec(select(models.AuditEvent)).all())


# --- accounts -------------------------------------------------------------------------------------


def test_users_are_hashed_validated_and_admin_only(demo_database, accounts):
    with session_scope() as s:
        user = users.get_user(s, "vic")
        assert user.password_hash.startswith("scrypt$") and PASSWORD not in user.password_hash
        assert verify_password(PASSWORD, user.password_hash)
        assert users.authenticate(session=s, username="vic", password=PASSWORD).username == "vic"
        assert users.authenticate(session=s, username="vic", password="wrong") is None
        assert users.authenticate(session=s, username="nobody", password=PASSWORD) is None
        with pytest.raises(users.PermissionDenied):
            users.create_user(session=s, actor="olga", username="x1", password=PASSWORD, role="viewer")
        with pytest.raises(users.ValidationError) as err:
            users.create_user(session=s, actor="ada", username="a b", password="short", role="king")
        assert set(err.value.errors) == {"username", "password", "role"}
        assert users.ensure_admin(session=s, password="") is None  # accounts exist: nothing created
    assert users.has_role("admin", "operator") and not users.has_role("viewer", "operator") and not users.has_role(None, "viewer")


def test_ensure_admin_on_an_empty_database(empty_engine):
    with session_scope(empty_engine) as s:
        generated = users.ensure_admin(session=s, password="")
    assert generated and len(generated) >= 16
    with session_scope(empty_engine) as s:
        admin = users.get_user(s, "admin")
        assert admin.role == "admin" and verify_password(generated, admin.password_hash)
        assert users.ensure_admin(session=s, password="") is None


# --- the gate ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_and_refused_by_the_api(app_module, accounts):
    c = client_for(app_module, None)
    r = c.get("/settings")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/settings")
    assert c.get("/").status_code == 302
    assert c.get("/_dash-layout").status_code == 401
    assert c.get("/login").status_code == 200
    assert c.get("/assets/vendor/bootstrap-5.3.6.min.css").status_code == 200
    before, count = vehicle_floor("VAN-03"), audit_count()
    r = c.post("/_dash-update-component", json=floor_payload("VAN-03", 45))
    assert r.status_code in (401, 403)
    assert (vehicle_floor("VAN-03"), audit_count()) == (before, count)


def test_login_sets_strict_httponly_cookies_and_logout_ends_the_session(app_module, accounts):
    c = app_module.server.test_client()
    r = c.post("/login?next=/settings", data={"username": "vic", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/settings"
    cookies = r.headers.getlist("Set-Cookie")
    session_cookie = next(x for x in cookies if x.startswith("v2g_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    csrf_cookie = next(x for x in cookies if x.startswith("_csrf_token="))
    assert "SameSite=Strict" in csrf_cookie and "HttpOnly" not in csrf_cookie  # dash-renderer reads it
    assert c.get("/settings").status_code == 200
    # logout is a POST with the CSRF token; without it, refused
    assert c.post("/logout").status_code == 403
    assert c.get("/settings").status_code == 200
    r = c.post("/logout", data={"csrf_token": csrf_of(c)})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert c.get("/settings").status_code == 302
    assert c.get("/_dash-layout").status_code == 401


def test_open_redirect_is_not_followed(app_module, accounts):
    c = app_module.server.test_client()
    r = c.post("/login?next=//evil.example/x", data={"username": "vic", "password": PASSWORD})
    assert r.headers["Location"] == "/"


def test_failed_logins_are_slowed_down_per_user_and_address(app_module, accounts, clock):
    c = app_module.server.test_client()
    env = {"REMOTE_ADDR": "10.0.0.7"}
    for _ in range(3):  # three tries without waiting
        assert c.post("/login", data={"username": "olga", "password": "nope"}, environ_base=env).status_code == 401
    # after the 3rd failure the next attempt must wait 2 s, even with the right password
    r = c.post("/login", data={"username": "olga", "password": PASSWORD}, environ_base=env)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # another address is not slowed down by this one
    assert c.post("/login", data={"username": "olga", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 302
    clock.advance(seconds=1)
    assert c.post("/login", data={"username": "olga", "password": PASSWORD}, environ_base=env).status_code == 429
    clock.advance(seconds=1)
    assert c.post("/login", data={"username": "olga", "password": "nope"}, environ_base=env).status_code == 401
    clock.advance(seconds=3)  # 4th failure: now 4 s
    assert c.post("/login", data={"username": "olga", "password": PASSWORD}, environ_base=env).status_code == 429
    clock.advance(seconds=1)
    assert c.post("/login", data={"username": "olga", "password": PASSWORD}, environ_base=env).status_code == 302
    with session_scope() as s:  # a success clears the count
        assert users.login_wait(session=s, username="olga", address="10.0.0.7") == 0


def test_csrf_token_and_origin_are_required_for_callbacks(app_module, accounts):
    c = client_for(app_module, "olga")
    before, count = vehicle_floor("VAN-04"), audit_count()
    assert c.post("/_dash-update-component", json=floor_payload("VAN-04", 45)).status_code == 403  # no token
    r = c.post("/_dash-update-component", json=floor_payload("VAN-04", 45), headers={"X-CSRFToken": "forged"})
    assert r.status_code == 403
    r = c.post("/_dash-update-component", json=floor_payload("VAN-04", 45),
               headers={"X-CSRFToken": csrf_of(c), "Origin": "http://evil.example"})
    assert r.status_code == 403
    assert (vehicle_floor("VAN-04"), audit_count()) == (before, count)
    r = c.post("/_dash-update-component", json=floor_payload("VAN-04", 45),
               headers={"X-CSRFToken": csrf_of(c), "Origin": "http://localhost"})
    assert r.status_code == 200, r.data
    assert vehicle_floor("VAN-04") == 0.45 and audit_count() == count + 1
    with session_scope() as s:
        row = s.exec(select(models.AuditEvent).order_by(models.AuditEvent.id.desc())).first()
        assert (row.actor, row.action, row.target) == ("olga", "soc_floor.set", "vehicle:VAN-04")


def test_cross_site_login_post_is_refused(app_module, accounts):
    c = app_module.server.test_client()
    r = c.post("/login", data={"username": "vic", "password": PASSWORD}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_viewer_cannot_save_even_by_posting_the_callback(app_module, accounts):
    c = client_for(app_module, "vic")
    before, count = vehicle_floor("VAN-05"), audit_count()
    r = c.post("/_dash-update-component", json=floor_payload("VAN-05", 45), headers={"X-CSRFToken": csrf_of(c)})
    assert r.status_code == 403
    assert (vehicle_floor("VAN-05"), audit_count()) == (before, count)


def test_viewer_refused_over_real_http(app_module, accounts):
    """The same refusal through a real HTTP server and `requests` with the viewer's session cookie."""
    server = make_server("127.0.0.1", 0, app_module.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        http = requests.Session()
        r = http.post(f"{base}/login", data={"username": "vic", "password": PASSWORD}, allow_redirects=False)
        assert r.status_code == 302 and "v2g_session" in http.cookies
        before, count = vehicle_floor("VAN-06"), audit_count()
        r = http.post(f"{base}/_dash-update-component", data=json.dumps(floor_payload("VAN-06", 45)),
                      headers={"Content-Type": "application/json", "X-CSRFToken": http.cookies["_csrf_token"]})
        assert r.status_code == 403
        anonymous = requests.post(f"{base}/_dash-update-component", json=floor_payload("VAN-06", 45))
        assert anonymous.status_code == 401
        assert (vehicle_floor("VAN-06"), audit_count()) == (before, count)
        # the operator, same request: accepted (so the refusals above are about the role)
        op = requests.Session()
        op.post(f"{base}/login", data={"username": "olga", "password": PASSWORD}, allow_redirects=False)
        r = op.post(f"{base}/_dash-update-component", data=json.dumps(floor_payload("VAN-06", 45)),
                    headers={"Content-Type": "application/json", "X-CSRFToken": op.cookies["_csrf_token"]})
        assert r.status_code == 200 and vehicle_floor("VAN-06") == 0.45
    finally:
        server.shutdown()


def test_wall_token_gives_read_only_access_to_the_wall_until_revoked(app_module, accounts):
    with session_scope() as s:
        with pytest.raises(users.PermissionDenied):
            users.create_wall_token(session=s, actor="olga")
        token_id, token = users.create_wall_token(session=s, actor="ada", label="depot screen")
        stored = s.get(models.WallToken, token_id)
        assert token not in stored.token_hash
    c = app_module.server.test_client()
    assert c.get("/wall?token=wrong").status_code == 302  # to the login
    assert c.get(f"/wall?token={token}").status_code == 200
    assert c.get("/wall").status_code == 200  # remembered in the session
    assert c.get("/_dash-layout").status_code == 200
    assert c.get("/settings").status_code == 403  # only the wall
    # the page router may render /wall only
    body = {"output": "..._pages_content.children...", "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/settings"}]}
    r = c.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf_of(c)})
    assert r.status_code == 403
    # and it cannot save anything
    before = vehicle_floor("VAN-07")
    r = c.post("/_dash-update-component", json=floor_payload("VAN-07", 45), headers={"X-CSRFToken": csrf_of(c)})
    assert r.status_code == 403 and vehicle_floor("VAN-07") == before
    with session_scope() as s:
        users.revoke_wall_token(session=s, actor="ada", token_id=token_id)
    assert c.get("/wall").status_code == 302
    assert c.get(f"/wall?token={token}").status_code == 302


def test_login_wait_grows_and_caps(clock):
    """Backoff arithmetic: 3 failures -> wait 2 s, 4 -> 4 s, 5 -> 8 s, ..., capped at 300 s."""
    t0 = clock.now()
    with session_scope() as s:
        for _ in range(2):
            users.record_login_failure(session=s, username="zed", address="1.2.3.4")
        assert users.login_wait(session=s, username="zed", address="1.2.3.4") == 0
        users.record_login_failure(session=s, username="zed", address="1.2.3.4")
        assert users.login_wait(session=s, username="zed", address="1.2.3.4") == 2
        users.record_login_failure(session=s, username="zed", address="1.2.3.4")
        assert users.login_wait(session=s, username="zed", address="1.2.3.4") == 4
        for _ in range(20):
            users.record_login_failure(session=s, username="zed", address="1.2.3.4")
        assert users.login_wait(session=s, username="zed", address="1.2.3.4") == 300
        assert users.login_wait(session=s, username="zed", address="1.2.3.4", at=t0 + timedelta(seconds=301)) == 0


def test_users_command_line(empty_engine, capsys, monkeypatch):
    import io

    with session_scope(empty_engine) as s:
        users.ensure_admin(session=s, password="admin-password-1")
    monkeypatch.setattr("sys.stdin", io.StringIO("operator-pass-9\n"))
    assert users.main(["create", "olive", "--role", "operator", "--password-stdin", "--actor", "admin"], engine=empty_engine) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert users.main(["create", "shorty", "--password-stdin", "--actor", "admin"], engine=empty_engine) == 2  # password too short
    assert users.main(["wall-token", "--actor", "olive"], engine=empty_engine) == 2  # not an admin
    assert users.main(["wall-token", "--label", "screen", "--actor", "admin"], engine=empty_engine) == 0
    token = capsys.readouterr().out.split("token=")[1].strip()
    with session_scope(empty_engine) as s:
        assert users.get_user(s, "olive").role == "operator" and users.get_user(s, "shorty") is None
        assert users.check_wall_token(session=s, token=token) is not None
    assert users.main(["revoke-wall-token", "1", "--actor", "admin"], engine=empty_engine) == 0
    with session_scope(empty_engine) as s:
        assert users.check_wall_token(session=s, token=token) is None
