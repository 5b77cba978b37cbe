"""The interop tests use the gateway tests' fixtures: a per-test SQLite file with the demo site."""

from tests.gateway.conftest import demo_template, engine, real_clock  # noqa: F401
