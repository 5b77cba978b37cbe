"""The interop tests use the gateway tests' fixtures: a per-test SQLite file with the demo site."""

from tests.gateway.conftest import engine, running_clock  # noqa: F401
