"""End-to-end tests reuse the gateway tests' fixtures: a per-test SQLite copy of the demo site."""

from tests.gateway.conftest import engine, running_clock  # noqa: F401
