"""Accounts, roles, password checks, login backoff and the wall display's read-only link tokens.

Roles are ordered: viewer (reads everything) < operator (changes operator settings) < admin (also
hard floor, accounts and wall tokens). Passwords are hashed with core.security (scrypt). Everything
here is plain service code (keyword-only, a session); the web wiring is in core/auth.py.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from core import models
from core.clock import now
from core.errors import PermissionDenied, ValidationError
from core.security import hash_password, verify_password

ROLES_RANK = {"viewer": 0, "operator": 1, "admin": 2}
ROLES = tuple(ROLES_RANK)
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
# Actors that are not accounts: the command line and the demo seed. No user name holds a ':', so
# no account can pass for one.
SYSTEM_ACTOR_PREFIX = "system:"
# Login backoff per username + address: after FREE_FAILURES failures in a row the next attempt must
# wait BASE_BACKOFF, and each further failure doubles the wait, up to MAX_BACKOFF.
FREE_FAILURES = 3
BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=5)
# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def has_role(role: str | None, needed: str) -> bool:
    """True when `role` is at least `needed` (viewer < operator < admin)."""
    return ROLES_RANK.get(role or "", -1) >= ROLES_RANK[needed]


def get_user(session: Session, username: str) -> models.User | None:
    return session.exec(select(models.User).where(models.User.username == username)).first()


def require_admin(session: Session, actor: str) -> None:
    """The one rule for admin-only changes: the actor must be an admin account (not disabled) or a
    system actor (the CLI, the demo seed); PermissionDenied otherwise."""
    if not actor or not str(actor).strip():
        raise ValidationError({"actor": "who makes the change is required"})
    if str(actor).startswith(SYSTEM_ACTOR_PREFIX):
        return
    user = get_user(session, actor)
    if user is None or user.disabled_at is not None or not has_role(user.role, "admin"):
        raise PermissionDenied(f"{actor!r} is not an admin: admins only")


def _audit(session: Session, actor: str, action: str, target: str, before: dict, after: dict) -> None:
    session.add(models.AuditEvent(time=now(), actor=actor, action=action, target=target, before=before, after=after))


def create_user(*, session: Session, actor: str, username: str, password: str, role: str = "viewer") -> models.User:
    """A new account (admins only, or "system" when the database has no user yet)."""
    if not (actor == "system" and session.exec(select(func.count()).select_from(models.User)).one() == 0):
        require_admin(session, actor)
    errors = {}
    if not isinstance(username, str) or not _USERNAME.match(username):
        errors["username"] = "2-64 letters, digits or . _ - @"
    elif get_user(session, username) is not None:
        errors["username"] = "is taken"
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"at least {MIN_PASSWORD_LENGTH} characters"
    if role not in ROLES:
        errors["role"] = f"one of {', '.join(ROLES)}"
    if errors:
        raise ValidationError(errors)
    user = models.User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    _audit(session, actor, "user.create", f"user:{username}", {}, {"role": role})
    session.flush()
    return user


def set_role(*, session: Session, actor: str, username: str, role: str) -> None:
    require_admin(session, actor)
    user = get_user(session, username)
    if user is None or role not in ROLES:
        raise ValidationError({"username" if user is None else "role": "unknown"})
    before = {"role": user.role}
    user.role = role
    _audit(session, actor, "user.role", f"user:{username}", before, {"role": role})


def set_password(*, session: Session, actor: str, username: str, password: str) -> None:
    """Admins set anyone's password; a user sets their own (change_own_password also asks for the old one)."""
    if actor != username:
        require_admin(session, actor)
    user = get_user(session, username)
    if user is None:
        raise ValidationError({"username": "unknown"})
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError({"password": f"at least {MIN_PASSWORD_LENGTH} characters"})
    user.password_hash = hash_password(password)
    _audit(session, actor, "user.password" if actor == username else "user.password_reset", f"user:{username}", {}, {})


def change_own_password(*, session: Session, username: str, old_password: str, new_password: str) -> None:
    """A user changes their own password: the old one must match, the new one differ from it."""
    user = get_user(session, username)
    if user is None or user.disabled_at is not None:
        raise ValidationError({"username": "unknown"})
    if not verify_password(old_password or "", user.password_hash):
        raise ValidationError({"old_password": "does not match your current password"})
    if new_password == old_password:
        raise ValidationError({"new_password": "must differ from the current password"})
    if not isinstance(new_password, str) or len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationError({"new_password": f"at least {MIN_PASSWORD_LENGTH} characters"})
    set_password(session=session, actor=username, username=username, password=new_password)


def set_disabled(*, session: Session, actor: str, username: str, disabled: bool = True) -> None:
    """Disable an account (it can no longer log in) or enable it again; admins only, never yourself."""
    require_admin(session, actor)
    user = get_user(session, username)
    if user is None:
        raise ValidationError({"username": f"no user {username!r}"})
    if actor == username:
        raise ValidationError({"username": "you cannot disable your own account"})
    before = {"disabled": user.disabled_at is not None}
    user.disabled_at = now() if disabled else None
    _audit(
        session,
        actor,
        "user.disable" if disabled else "user.enable",
        f"user:{username}",
        before,
        {"disabled": disabled},
    )


def list_users(*, session: Session) -> list[dict]:
    """Every account: user name, role, created, disabled (no hashes)."""
    rows = session.exec(select(models.User).order_by(models.User.username)).all()
    return [
        {"username": u.username, "role": u.role, "created_at": u.created_at, "disabled": u.disabled_at is not None}
        for u in rows
    ]


def authenticate(*, session: Session, username: str, password: str) -> models.User | None:
    """The user when the password matches; None otherwise (in about the same time either way)."""
    user = get_user(session, username or "")
    if user is None or user.disabled_at is not None:
        verify_password(password or "", _DUMMY_HASH)
        return None
    return user if verify_password(password or "", user.password_hash) else None


def ensure_admin(*, session: Session, password: str = "") -> str | None:
    """Create the `admin` account when there is no account at all.

    Uses `password` (V2G_ADMIN_PASSWORD) when given, else a generated one, which is returned so the
    caller can print it once. Returns None when accounts exist already or the given password was used.
    """
    if session.exec(select(func.count()).select_from(models.User)).one():
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(15)
    create_user(session=session, actor="system", username="admin", password=password, role="admin")
    return generated


# --- login backoff -----------------------------------------------------------------------------


def _attempt_key(username: str, address: str) -> str:
    return f"{(username or '').lower()[:64]}|{address or '-'}"


def login_wait(*, session: Session, username: str, address: str, at: datetime | None = None) -> float:
    """Seconds until this username may try again from this address (0: now)."""
    row = session.get(models.LoginFailure, _attempt_key(username, address))
    if row is None or row.failures < FREE_FAILURES:
        return 0.0
    backoff = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (row.failures - FREE_FAILURES))
    wait = (row.last_failure_at + backoff - (at or now())).total_seconds()
    return max(0.0, wait)


def record_login_failure(*, session: Session, username: str, address: str) -> None:
    key = _attempt_key(username, address)
    row = session.get(models.LoginFailure, key)
    if row is None:
        row = models.LoginFailure(key=key, failures=0)
        session.add(row)
    row.failures += 1
    row.last_failure_at = now()


def clear_login_failures(*, session: Session, username: str, address: str) -> None:
    row = session.get(models.LoginFailure, _attempt_key(username, address))
    if row is not None:
        session.delete(row)


# --- wall display link tokens -------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_wall_token(*, session: Session, actor: str, label: str = "wall display") -> tuple[int, str]:
    """A new read-only link token for /wall (admins only): (its id, the token, shown once)."""
    require_admin(session, actor)
    token = secrets.token_urlsafe(24)
    row = models.WallToken(token_hash=_token_hash(token), label=label[:100], created_by=actor)
    session.add(row)
    session.flush()
    _audit(session, actor, "wall_token.create", f"wall_token:{row.id}", {}, {"label": row.label})
    return row.id, token


def revoke_wall_token(*, session: Session, actor: str, token_id: int) -> None:
    require_admin(session, actor)
    row = session.get(models.WallToken, token_id)
    if row is None or row.revoked_at is not None:
        raise ValidationError({"token": "unknown or already revoked"})
    row.revoked_at = now()
    _audit(session, actor, "wall_token.revoke", f"wall_token:{row.id}", {"label": row.label}, {})


def list_wall_tokens(*, session: Session) -> list[dict]:
    """Every wall token: id, label, who made it and when, revoked when (never the token itself)."""
    rows = session.exec(select(models.WallToken).order_by(models.WallToken.id)).all()
    return [
        {
            "id": r.id,
            "label": r.label,
            "created_by": r.created_by,
            "created_at": r.created_at,
            "revoked_at": r.revoked_at,
        }
        for r in rows
    ]


def check_wall_token(*, session: Session, token: str | None) -> int | None:
    """The id of the valid (not revoked) wall token `token`, else None."""
    if not token or len(token) > 200:
        return None
    row = session.exec(
        select(models.WallToken)
        .where(models.WallToken.token_hash == _token_hash(token))
        .where(col(models.WallToken.revoked_at).is_(None))
    ).first()
    return row.id if row else None


def wall_token_valid(*, session: Session, token_id: int | None) -> bool:
    row = session.get(models.WallToken, token_id) if token_id is not None else None
    return row is not None and row.revoked_at is None


# --- command line: `python -m core.users ...` -----------------------------------------------------


def main(argv: list[str] | None = None, *, engine=None) -> int:
    """Accounts and wall tokens from the command line (the actor must be an admin account).

    python -m core.users create NAME --role operator --actor admin     (asks for the password)
    python -m core.users set-role NAME viewer --actor admin
    python -m core.users wall-token --label "depot screen" --actor admin
    python -m core.users revoke-wall-token ID --actor admin
    python -m core.users passwd NAME [--actor admin]   (your own, or as an admin anyone's; asks)
    """
    import argparse
    import getpass
    import sys

    from core.db import session_scope

    parser = argparse.ArgumentParser(
        prog="python -m core.users", description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("create")
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, default="viewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p = sub.add_parser("set-role")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES)
    p = sub.add_parser("wall-token")
    p.add_argument("--label", default="wall display")
    p = sub.add_parser("revoke-wall-token")
    p.add_argument("token_id", type=int)
    for p in sub.choices.values():
        p.add_argument("--actor", required=True)
    p = sub.add_parser("passwd", help="set a password (asks for it twice)")
    p.add_argument("username")
    p.add_argument("--actor", help="the admin resetting it (default: the command line, which holds the database)")
    p.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    args = parser.parse_args(argv)
    try:
        with session_scope(engine) as session:
            if args.command == "create":
                password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
                create_user(
                    session=session, actor=args.actor, username=args.username, password=password, role=args.role
                )
                print(f"created {args.username} ({args.role})")
            elif args.command == "set-role":
                set_role(session=session, actor=args.actor, username=args.username, role=args.role)
                print(f"{args.username} is now {args.role}")
            elif args.command == "wall-token":
                token_id, token = create_wall_token(session=session, actor=args.actor, label=args.label)
                print(f"wall token #{token_id} (shown once): /wall?token={token}")
            elif args.command == "passwd":
                if args.password_stdin:
                    password = sys.stdin.readline().rstrip("\n")
                else:
                    password = getpass.getpass("New password: ")
                    if getpass.getpass("Again: ") != password:
                        raise ValidationError({"password": "the two entries differ"})
                actor = args.actor or f"{SYSTEM_ACTOR_PREFIX}cli:{getpass.getuser()}"
                set_password(session=session, actor=actor, username=args.username, password=password)
                print(f"password of {args.username} changed")
            else:
                revoke_wall_token(session=session, actor=args.actor, token_id=args.token_id)
                print(f"wall token #{args.token_id} revoked")
    except (ValidationError, PermissionDenied) as exc:
        print(f"error: {exc}; nothing was saved", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main())
