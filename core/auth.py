"""Log-in, roles and CSRF protection for the web process (Flask + Flask-Login; no Dash here).

Who may read what (decided for issue 6):
- Every page and every Dash endpoint needs a logged-in account (viewer or above). The only
  exceptions are the login form itself, static files (/assets, component bundles), and the wall
  display opened with a read-only link token (`/wall?token=...`, see core.users): that token gives
  the browser viewer access to /wall and the callbacks behind it, nothing else, until it is revoked.
  A site's live state (who is plugged in, when vehicles leave) is operational information, so it is
  not public.
- Reading is enough for a viewer; every callback that changes state calls `require_role("operator")`
  (or "admin") on the server. Hiding a button is only a courtesy.

CSRF (state-changing requests: Dash's `POST /_dash-update-component`, `POST /logout`):
- The session cookie is HttpOnly and SameSite=Strict, so a cross-site request never carries it.
- On top of that (older browsers, sibling subdomains, which SameSite counts as "same site"), a per-session
  synchronizer token must come back on every state-changing request: dash-renderer already sends the
  cookie `_csrf_token` as header `X-CSRFToken` on each callback request, so we set that cookie (readable
  by our own scripts, SameSite=Strict) and compare the header with the token kept in the signed session.
  Forms (logout) carry it as the field `csrf_token`. A foreign page can neither read the cookie nor set the header.
- A state-changing request whose Origin (or, lacking it, Referer) names another host is refused too.
- `POST /login` takes just `username` and `password` so scripts can log in; login CSRF is covered by the
  Origin check (browsers always send Origin on cross-site form posts) and by SameSite.

Sessions are kept server-side (table WebSession): the signed cookie carries a random session id,
and the user loader accepts the cookie only while that id's row is open and younger than
SESSION_LIFETIME. Logging out ends the row, so a copied cookie replayed afterwards is refused;
`end_user_sessions(username)` ends every session of an account (a password change, an admin
disabling it).

Repeated failed logins are slowed down per username + client address (core.users.login_wait): after
three failures in a row the next attempt must wait 2 s, and each further failure doubles that (4 s,
8 s, ... up to 5 min); an attempt inside the wait is refused with 429 without checking the password.
The count lives in the database, so it holds across web threads and workers; a success clears it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from datetime import timedelta
from urllib.parse import urlparse

from flask import Flask, abort, has_request_context, jsonify, redirect, render_template_string, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import update
from sqlmodel import Session, col, delete, select
from werkzeug.exceptions import Forbidden

from core import models, users
from core.clock import now
from core.config import get_settings
from core.db import session_scope

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
WALL_PATH = "/wall"
CSRF_COOKIE = "_csrf_token"  # the names dash-renderer uses
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
WALL_DASH_PATHS = ("/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/_dash-update-component")
PAGES_CONTENT_ID = "_pages_content"
SESSION_ID_KEY = "sid"  # the key of the server-side session id in Flask's signed session
SESSION_LIFETIME = timedelta(hours=12)  # a log-in ends by itself after this, used or not


class ConsoleUser(UserMixin):
    """The logged-in account as Flask-Login sees it (re-read from the database on every request,
    so a changed role, a disabled or deleted account takes effect at once)."""

    def __init__(self, user_id: int, username: str, role: str):
        self.id = str(user_id)
        self.username = username
        self.role = role


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _load_user(user_id: str) -> ConsoleUser | None:
    """The account of this request's session, only while its server-side session is open."""
    sid = session.get(SESSION_ID_KEY)
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        return None
    if not isinstance(sid, str) or not sid:
        return None
    with session_scope() as db:
        row = db.exec(
            select(models.User)
            .join(models.WebSession, col(models.WebSession.user_id) == col(models.User.id))
            .where(models.User.id == key)
            .where(models.WebSession.id_hash == _sid_hash(sid))
            .where(col(models.WebSession.username) == col(models.User.username))
            .where(col(models.User.disabled_at).is_(None))  # a disabled account is out at once
            .where(col(models.WebSession.ended_at).is_(None))
            .where(models.WebSession.created_at > now() - SESSION_LIFETIME)
        ).first()
        return ConsoleUser(row.id, row.username, row.role) if row else None


def _start_session(db: Session, user: models.User) -> str:
    """A new server-side session for `user`; returns its id (for the signed cookie). Housekeeping:
    rows that ended or expired more than a day ago are dropped."""
    stale = now() - SESSION_LIFETIME - timedelta(days=1)
    db.exec(delete(models.WebSession).where(models.WebSession.created_at < stale))
    sid = secrets.token_urlsafe(32)
    db.add(models.WebSession(id_hash=_sid_hash(sid), user_id=user.id, username=user.username, created_at=now()))
    return sid


def end_current_session() -> None:
    """End this request's server-side session (logout)."""
    sid = session.get(SESSION_ID_KEY)
    if isinstance(sid, str) and sid:
        with session_scope() as db:
            db.exec(
                update(models.WebSession)
                .where(models.WebSession.id_hash == _sid_hash(sid))
                .where(col(models.WebSession.ended_at).is_(None))
                .values(ended_at=now())
            )


def end_user_sessions(username: str, *, keep_current: bool = False, session: Session | None = None) -> int:
    """End every open log-in session of account `username`; returns how many were ended.

    Call it when the password changes (with `keep_current=True` when users change their own, so they
    stay logged in on this browser and nowhere else), or when an account is disabled or deleted.
    `session`: the caller's transaction (the password change's), else one of its own.
    """
    keep = None
    if keep_current and has_request_context():
        sid = _flask_session().get(SESSION_ID_KEY)
        keep = _sid_hash(sid) if isinstance(sid, str) and sid else None
    statement = (
        update(models.WebSession)
        .where(models.WebSession.username == username)
        .where(col(models.WebSession.ended_at).is_(None))
        .values(ended_at=now())
    )
    if keep is not None:
        statement = statement.where(models.WebSession.id_hash != keep)
    if session is not None:
        return session.exec(statement).rowcount
    with session_scope() as db:
        return db.exec(statement).rowcount


def _flask_session():
    return session


def install(server: Flask) -> LoginManager:
    """Wire log-in, the access gate and CSRF checks into the web app's Flask server."""
    settings = get_settings()
    if settings.secret_key:
        server.secret_key = settings.secret_key
    else:
        # Sessions then end when the process restarts, and several web workers would not share them.
        server.secret_key = secrets.token_hex(32)
        print("warning: V2G_SECRET_KEY is not set; using a random key (sessions end on restart)", file=sys.stderr)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=bool(settings.tls_cert_file),
        SESSION_COOKIE_NAME="v2g_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    manager = LoginManager()
    manager.init_app(server)
    manager.session_protection = "basic"
    manager.user_loader(_load_user)
    server.add_url_rule(LOGIN_PATH, "v2g_login", _login_view, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "v2g_logout", _logout_view, methods=["GET", "POST"])
    server.before_request(_gate)
    server.after_request(_after)
    return manager


# --- role checks used inside callbacks -----------------------------------------------------------


def require_role(role: str) -> str:
    """The username of the logged-in account when it has at least `role`; else 403 (werkzeug Forbidden).

    Call it first thing in every callback that changes state.
    """
    user = current_user
    if not getattr(user, "is_authenticated", False) or not users.has_role(getattr(user, "role", None), role):
        raise Forbidden(f"the {role} role is needed for this")
    return user.username


def current_role() -> str | None:
    """The logged-in account's role, None for anonymous (and the wall display)."""
    user = current_user
    return user.role if getattr(user, "is_authenticated", False) else None


def current_username() -> str | None:
    user = current_user
    return user.username if getattr(user, "is_authenticated", False) else None


# --- the gate ------------------------------------------------------------------------------------


def _same_origin() -> bool:
    """False when the request says it comes from a page of another host."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source != "null"
    return urlparse(source).netloc == request.host


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return bool(expected) and hmac.compare_digest(str(given), str(expected))


def _new_csrf() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def _wall_session() -> bool:
    """True when this browser holds a valid wall token (given now as ?token= on /wall, or earlier)."""
    if request.path == WALL_PATH and request.args.get("token"):
        with session_scope() as db:
            token_id = users.check_wall_token(session=db, token=request.args.get("token"))
        if token_id is None:
            session.pop("wall_token_id", None)
            return False
        session["wall_token_id"] = token_id
        session.setdefault("csrf", secrets.token_urlsafe(32))
        return True
    token_id = session.get("wall_token_id")
    if token_id is None:
        return False
    with session_scope() as db:
        if users.wall_token_valid(session=db, token_id=token_id):
            return True
    session.pop("wall_token_id", None)  # revoked
    return False


def _wall_request_allowed() -> bool:
    path = request.path
    if path == WALL_PATH or path.startswith(WALL_PATH + "/"):
        return True
    if path not in WALL_DASH_PATHS:
        return False
    if path == "/_dash-update-component":
        # The page router may render /wall only.
        body = request.get_json(silent=True) or {}
        if PAGES_CONTENT_ID in str(body.get("output", "")):
            paths = [i.get("value") for i in body.get("inputs", []) if i.get("property") == "pathname"]
            return all(p == WALL_PATH for p in paths)
    return True


def _refuse(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _gate():
    path = request.path
    if path.startswith(PUBLIC_PREFIXES) or path == LOGIN_PATH:
        if path == LOGIN_PATH and request.method not in SAFE_METHODS and not _same_origin():
            abort(403, "cross-site login refused")
        return None
    state_changing = request.method not in SAFE_METHODS
    if state_changing and not _same_origin():
        return _refuse(403, "cross-site request refused")
    if getattr(current_user, "is_authenticated", False):
        if state_changing and not _csrf_ok():
            return _refuse(403, "missing or wrong CSRF token")
        return None
    if path == LOGOUT_PATH:
        return redirect(LOGIN_PATH)
    if _wall_session():
        if state_changing and not _csrf_ok():
            return _refuse(403, "missing or wrong CSRF token")
        if _wall_request_allowed():
            return None
        return _refuse(403, "the wall token opens the wall display only")
    if state_changing or path.startswith("/_dash") or path.startswith("/_"):
        return _refuse(401, "log in first")
    target = request.full_path if request.query_string else path
    return redirect(f"{LOGIN_PATH}?next={target}")


def _after(response):
    token = session.get("csrf")
    if token and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, samesite="Strict", httponly=False, secure=bool(get_settings().tls_cert_file), path="/"
        )
    elif not token and request.cookies.get(CSRF_COOKIE):
        response.delete_cookie(CSRF_COOKIE, path="/")
    return response  # the security headers: core.web_headers


# --- log-in and log-out --------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · V2G Console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/vendor/bootstrap-5.3.6.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 24rem; margin-top: 10vh">
<h1 class="h4 mb-3">V2G Console</h1>
{% if error %}<div class="alert alert-danger" id="login-error" role="alert">{{ error }}</div>{% endif %}
{% if logout %}
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<p>Logged in as <strong>{{ username }}</strong>.</p>
<button class="btn btn-secondary w-100" id="logout-submit" type="submit">Log out</button></form>
{% else %}
<form method="post" action="/login?next={{ next_path|urlencode }}">
<div class="mb-3"><label class="form-label" for="login-username">User name</label>
<input class="form-control" id="login-username" name="username" autocomplete="username" required autofocus></div>
<div class="mb-3"><label class="form-label" for="login-password">Password</label>
<input class="form-control" id="login-password" name="password" type="password" autocomplete="current-password" required></div>
<button class="btn btn-primary w-100" id="login-submit" type="submit">Log in</button></form>
{% endif %}
</main></body></html>"""


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_view():
    next_path = _safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template_string(_PAGE, title="Log in", error=None, logout=False, next_path=next_path)
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    address = request.remote_addr or "-"
    with session_scope() as db:
        wait = users.login_wait(session=db, username=username, address=address)
        if wait > 0:
            html = render_template_string(
                _PAGE,
                title="Log in",
                logout=False,
                next_path=next_path,
                error=f"Too many failed attempts. Try again in {int(wait) + 1} s.",
            )
            return html, 429, {"Retry-After": str(int(wait) + 1)}
        user = users.authenticate(session=db, username=username, password=password)
        if user is None:
            users.record_login_failure(session=db, username=username, address=address)
            html = render_template_string(
                _PAGE, title="Log in", logout=False, next_path=next_path, error="Wrong user name or password."
            )
            return html, 401
        users.clear_login_failures(session=db, username=username, address=address)
        console_user = ConsoleUser(user.id, user.username, user.role)
        sid = _start_session(db, user)
    session.clear()  # nothing from before the log-in survives it (no session fixation)
    session[SESSION_ID_KEY] = sid
    login_user(console_user)
    _new_csrf()
    return redirect(next_path)


def _logout_view():
    if request.method == "GET":
        return render_template_string(
            _PAGE, title="Log out", error=None, logout=True, csrf=session.get("csrf", ""), username=current_username()
        )
    end_current_session()  # server-side: a copy of this cookie no longer logs anyone in
    logout_user()
    session.clear()
    return redirect(LOGIN_PATH)
