"""People: accounts added, roles changed, passwords reset or changed (sessions end), disabled; wall tokens."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core import models, users
from core.admin import (
    add_user,
    change_own_password,
    create_wall_token,
    list_users,
    list_wall_tokens,
    reset_password,
    revoke_wall_token,
    set_disabled,
    set_role,
)
from core.clock import now
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from tests.admin.support import ADMIN, table_counts


def open_session(engine, username: str, sid: str) -> None:
    with session_scope(engine) as s:
        user = users.get_user(s, username)
        s.add(models.WebSession(id_hash=sid, user_id=user.id, username=username, created_at=now()))


def open_sessions(engine, username: str) -> list[str]:
    with session_scope(engine) as s:
        rows = s.exec(select(models.WebSession).where(models.WebSession.username == username)).all()
        return sorted(r.id_hash for r in rows if r.ended_at is None)


def login_works(engine, username: str, password: str) -> bool:
    with session_scope(engine) as s:
        return users.authenticate(session=s, username=username, password=password) is not None


def test_add_user_then_role_then_admin_reset_ends_their_sessions(admin_engine, clock):
    with session_scope(admin_engine) as s:
        add_user(session=s, actor=ADMIN, username="alice", password="alice-first-pw", role="viewer")
    with session_scope(admin_engine) as s:
        set_role(session=s, actor=ADMIN, username="alice", role="operator")
    open_session(admin_engine, "alice", "a1")
    open_session(admin_engine, "alice", "a2")
    with session_scope(admin_engine) as s:
        assert reset_password(session=s, actor=ADMIN, username="alice", password="alice-second-pw") == 2
    assert open_sessions(admin_engine, "alice") == []
    assert login_works(admin_engine, "alice", "alice-second-pw") and not login_works(
        admin_engine, "alice", "alice-first-pw"
    )
    with session_scope(admin_engine) as s:
        assert {"username": "alice", "role": "operator"}.items() <= next(
            u for u in list_users(session=s) if u["username"] == "alice"
        ).items()
        actions = [a.action for a in s.exec(select(models.AuditEvent)).all()]
        assert actions[-3:] == ["user.create", "user.role", "user.password_reset"]


def test_changing_your_own_password_needs_the_old_one(admin_engine, clock):
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        change_own_password(session=s, username="ops", old_password="wrong-password", new_password="ops-new-password")
    assert "old_password" in refused.value.errors
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        change_own_password(session=s, username="ops", old_password="ops-password", new_password="short")
    assert "new_password" in refused.value.errors
    assert table_counts(admin_engine) == before
    with session_scope(admin_engine) as s:
        change_own_password(session=s, username="ops", old_password="ops-password", new_password="ops-new-password")
    assert login_works(admin_engine, "ops", "ops-new-password")


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(admin_engine, clock):
    open_session(admin_engine, "ops", "o1")
    with session_scope(admin_engine) as s:
        set_disabled(session=s, actor=ADMIN, username="ops")
    assert open_sessions(admin_engine, "ops") == [] and not login_works(admin_engine, "ops", "ops-password")
    with session_scope(admin_engine) as s:
        set_disabled(session=s, actor=ADMIN, username="ops", disabled=False)
    assert login_works(admin_engine, "ops", "ops-password")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: add_user(session=s, actor=ADMIN, username="x", password="long-enough-pw"), "username"),
        (lambda s: add_user(session=s, actor=ADMIN, username="ops", password="long-enough-pw"), "username"),
        (lambda s: add_user(session=s, actor=ADMIN, username="bob", password="short"), "password"),
        (lambda s: add_user(session=s, actor=ADMIN, username="bob", password="long-enough-pw", role="god"), "role"),
        (lambda s: set_role(session=s, actor=ADMIN, username="ghost", role="viewer"), "username"),
        (lambda s: set_role(session=s, actor=ADMIN, username=ADMIN, role="viewer"), "role"),
        (lambda s: set_disabled(session=s, actor=ADMIN, username=ADMIN), "username"),
        (lambda s: reset_password(session=s, actor=ADMIN, username="ops", password="short"), "password"),
        (lambda s: create_wall_token(session=s, actor=ADMIN, label=" "), "label"),
    ],
)
def test_bad_input_is_named_and_nothing_is_saved(admin_engine, call, field):
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError) as refused, session_scope(admin_engine) as s:
        call(s)
    assert field in refused.value.errors, refused.value.errors
    assert table_counts(admin_engine) == before


def test_only_admins_manage_people(admin_engine):
    before = table_counts(admin_engine)
    with pytest.raises(PermissionDenied), session_scope(admin_engine) as s:
        add_user(session=s, actor="ops", username="mallory", password="long-enough-pw", role="admin")
    with pytest.raises(PermissionDenied), session_scope(admin_engine) as s:
        reset_password(session=s, actor="ops", username=ADMIN, password="long-enough-pw")
    assert table_counts(admin_engine) == before


def test_wall_tokens_are_created_listed_and_revoked(admin_engine):
    with session_scope(admin_engine) as s:
        token_id, token = create_wall_token(session=s, actor=ADMIN, label="depot screen")
    with session_scope(admin_engine) as s:
        assert users.check_wall_token(session=s, token=token) == token_id
        (row,) = list_wall_tokens(session=s)
        assert (row["label"], row["created_by"], row["revoked_at"]) == (
            "depot screen",
            ADMIN,
            None,
        ) and token not in str(row)
        revoke_wall_token(session=s, actor=ADMIN, token_id=token_id)
    with session_scope(admin_engine) as s:
        assert users.check_wall_token(session=s, token=token) is None
