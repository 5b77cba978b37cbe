"""Database engine and the one session helper.

SQLite under `data/` by default, in WAL mode with a busy timeout so that the gateway's writer and
the web process's readers do not lock each other out; `DATABASE_URL` selects another database,
PostgreSQL included (`postgresql+psycopg://user:pw@host/db`). `init_db` creates or upgrades the
schema through the Alembic revisions in core/migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from core.migrations import upgrade_database

SQLITE_BUSY_TIMEOUT_S = 30

_engines: dict[str, Engine] = {}


def _set_sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    """A new engine for `database_url`, with the SQLite settings applied where it is SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(database_url: str | None = None) -> Engine:
    """The shared engine for `database_url` (the settings' database when None)."""
    if database_url is None:
        from core.config import get_settings

        database_url = get_settings().database_url
    if database_url not in _engines:
        _engines[database_url] = make_engine(database_url)
    return _engines[database_url]


def init_db(engine: Engine | None = None) -> Engine:
    """Bring the database's schema to the newest revision and return the engine: an empty database
    gets every table, an older one is upgraded in place (core.migrations.runner). Safe to call at
    every start of every process, also when two start at once."""
    engine = engine or get_engine()
    upgrade_database(engine)
    return engine


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back on any error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def run_in_transaction(fn, /, *args, engine: Engine | None = None, **kwargs):
    """`fn(*args, session=..., **kwargs)` in one transaction of its own: committed when it returns,
    rolled back when it raises. For pages and command lines, which hold no session themselves."""
    with session_scope(engine) as session:
        return fn(*args, session=session, **kwargs)
