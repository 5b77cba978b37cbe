"""Bring a database's schema to the newest revision (Alembic), at every start of every process.

Three cases, decided inside one lock so that the web process and the gateway can start together:
- an empty database: `create_all` and stamp it at head (Alembic's cookbook: fast, and what the
  tests make by the hundred);
- a database with an `alembic_version` table: `upgrade head`, logged at INFO (from -> to);
- a database with tables but no `alembic_version`: made by the release before migrations
  (`BASELINE`); stamped as that, then upgraded.

On SQLite the lock is the database's write lock (`BEGIN IMMEDIATE`; a second process waits for it
within the busy timeout, then finds the schema at head). Foreign keys are off while the schema
changes (batch mode copies and drops tables that others refer to) and checked before the commit.
On PostgreSQL it is a transaction-scoped advisory lock, and the DDL is transactional.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema of the last release before migrations (create_all made it)
PG_LOCK_KEY = 5632470002  # any constant shared by every process of the console


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, without an ini file; env.py runs its commands on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision in core/migrations/versions."""
    return _scripts().get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is stamped with (None: not stamped)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(engine: Engine) -> str:
    """Create or upgrade the schema of `engine`'s database to head; returns the revision it is at."""
    import core.models  # noqa: F401  (registers the tables on SQLModel.metadata)

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, before anything is read
        elif engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        try:
            upgraded = _bring_to_head(connection)
            # Only after an upgrade: the check reads every row that has a foreign key.
            if sqlite and upgraded and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                raise RuntimeError(f"the schema upgrade broke foreign keys (table, rowid, parent, fk): {broken}")
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return head_revision()


def _bring_to_head(connection: Connection) -> bool:
    """Create, stamp or upgrade (the caller holds the lock and the transaction); True if it upgraded."""
    head = head_revision()
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    if not tables:  # new, or downgraded to base
        SQLModel.metadata.create_all(connection)
        MigrationContext.configure(connection).stamp(_scripts(), "head")
        log.info("Database schema created at revision %s", head)
        return False
    before = current_revision(connection)
    if before is None:
        log.info("Database made before schema migrations: stamped as the baseline, revision %s", BASELINE)
        MigrationContext.configure(connection).stamp(_scripts(), BASELINE)
        before = BASELINE
    if before == head:
        return False
    if before not in {script.revision for script in _scripts().walk_revisions()}:
        raise RuntimeError(
            f"the database is at schema revision {before}, which this code does not know (the newest it knows is "
            f"{head}): a newer release made it. Run that release, or restore a backup made before it"
        )
    command.upgrade(alembic_config(connection), "head")
    log.info("Database schema upgraded from revision %s to %s", before, head)
    return True
