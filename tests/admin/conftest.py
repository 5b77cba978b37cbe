import pytest

from tests.admin.support import ADMIN, add_account


@pytest.fixture
def admin_engine(demo_engine):
    """The demo database with an admin account (ADMIN) and an operator ("ops")."""
    add_account(demo_engine, ADMIN, "admin")
    add_account(demo_engine, "ops", "operator")
    return demo_engine


@pytest.fixture
def fresh_engine(empty_engine):
    """An empty database (a fresh install with V2G_DEMO=0) with one admin account."""
    add_account(empty_engine, ADMIN, "admin")
    return empty_engine
