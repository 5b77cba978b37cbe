"""People: accounts, their roles and passwords, and the wall display's link tokens (admins only, audited).

The account rules are core.users'; this adds what an admin page and command line need around them:
a password change ends the account's other log-in sessions (core.auth.end_user_sessions: all of
them after an admin reset or when disabled, all but this browser's when users change their own).
"""

from __future__ import annotations

from sqlmodel import Session

from core import auth, users
from core.admin.common import require_admin
from core.errors import ValidationError

ROLES = users.ROLES


def add_user(*, session: Session, actor: str, username: str, password: str, role: str = "viewer") -> None:
    """A new account with this role."""
    require_admin(session, actor)
    users.create_user(session=session, actor=actor, username=username, password=password, role=role)


def set_role(*, session: Session, actor: str, username: str, role: str) -> None:
    """Give an account another role (an admin cannot demote themselves: someone must stay admin)."""
    require_admin(session, actor)
    if users.get_user(session, username) is None:
        raise ValidationError({"username": f"no user {username!r}"})
    if role not in ROLES:
        raise ValidationError({"role": f"one of {', '.join(ROLES)}, got {role!r}"})
    if actor == username and role != "admin":
        raise ValidationError({"role": "you cannot take the admin role from yourself"})
    users.set_role(session=session, actor=actor, username=username, role=role)


def reset_password(*, session: Session, actor: str, username: str, password: str) -> int:
    """An admin sets another account's password; every session of that account ends (returns how many)."""
    require_admin(session, actor)
    users.set_password(session=session, actor=actor, username=username, password=password)
    return auth.end_user_sessions(username, session=session)


def change_own_password(*, session: Session, username: str, old_password: str, new_password: str) -> int:
    """Users change their own password (the old one required); their other sessions end."""
    users.change_own_password(session=session, username=username, old_password=old_password, new_password=new_password)
    return auth.end_user_sessions(username, keep_current=True, session=session)


def set_disabled(*, session: Session, actor: str, username: str, disabled: bool = True) -> None:
    """Disable an account (its sessions end, it cannot log in) or enable it again."""
    require_admin(session, actor)
    users.set_disabled(session=session, actor=actor, username=username, disabled=disabled)
    if disabled:
        auth.end_user_sessions(username, session=session)


def list_users(*, session: Session) -> list[dict]:
    return users.list_users(session=session)


def create_wall_token(*, session: Session, actor: str, label: str) -> tuple[int, str]:
    """A read-only link token for /wall: (its id, the token, to be shown once)."""
    require_admin(session, actor)
    if not label or not label.strip():
        raise ValidationError({"label": "required (where the display hangs)"})
    return users.create_wall_token(session=session, actor=actor, label=label.strip())


def revoke_wall_token(*, session: Session, actor: str, token_id: int) -> None:
    require_admin(session, actor)
    users.revoke_wall_token(session=session, actor=actor, token_id=token_id)


def list_wall_tokens(*, session: Session) -> list[dict]:
    return users.list_wall_tokens(session=session)
