"""Schema migrations (core/migrations): `init_db` upgrades a database in place and loses no row.

- A database made by the release before migrations (tests/data/previous_release.sqlite, see
  tests/data/README.md) is stamped as the baseline and upgraded, every row kept; a revision that
  rebuilds a table other tables refer to (SQLite's copy-and-move) keeps every row too.
- The revisions build the schema the models describe ("models match migrations").
- A second `init_db` changes nothing; two processes starting at once both come up.
- The same on a throwaway PostgreSQL cluster (tests/test_postgresql.py's fixture).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, select

from core import models
from core.db import init_db, make_engine, session_scope
from core.migrations import BASELINE, alembic_config, current_revision, head_revision, runner
from tests.conftest import T0
from tests.test_postgresql import postgres_url  # noqa: F401  (the throwaway cluster, a module fixture)

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS_RELEASE = ROOT / "tests" / "data" / "previous_release.sqlite"
pytestmark = pytest.mark.timeout(120)


def row_counts(path: Path) -> dict[str, int]:
    """Rows per table of a SQLite file, read with the standard library (no model involved)."""
    with closing(sqlite3.connect(path)) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables if t != "sqlite_sequence"}


def query(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def previous_release(tmp_path) -> Path:
    """A copy of the previous release's database (the file in tests/data is never written)."""
    path = tmp_path / "v2g.db"
    shutil.copy(PREVIOUS_RELEASE, path)
    return path


def describe(diff) -> str:
    """One line per difference between the revisions' schema and the models'."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(describe(d) for d in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = (
            "in the models, no revision creates it" if kind == "add_table" else "in the revisions, not in the models"
        )
        return f"table {diff[1].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "in the models, no revision adds it" if kind == "add_column" else "in the revisions, not in the models"
        return f"column {diff[2]}.{diff[3].name}: {where}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = (
            "in the models, no revision creates it" if kind == "add_index" else "in the revisions, not in the models"
        )
        return f"index {index.name} on {index.table.name}({', '.join(c.name for c in index.columns)}): {where}"
    if kind.startswith("modify_"):
        return f"column {diff[2]}.{diff[3]}: {kind[7:]} differs (revisions {diff[5]!r}, models {diff[6]!r})"
    return f"{kind}: {diff[1]!r}"


def schema_drift(connection) -> list[str]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [describe(d) for d in compare_metadata(context, SQLModel.metadata)]


def assert_models_match_migrations(engine) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")  # every revision from nothing: not create_all
        drift = schema_drift(connection)
    assert drift == [], (
        "the models and core/migrations/versions disagree; add a revision "
        '(python -m core.migrations autogenerate -m "what changed"), read it, and run this again:\n  '
        + "\n  ".join(drift)
    )


# --- the previous release's database ------------------------------------------------------------


def test_previous_release_database_is_upgraded_in_place_without_losing_a_row(previous_release, caplog):
    before = row_counts(previous_release)
    assert "alembic_version" not in before and min(before.values()) > 0  # made before migrations; rows everywhere
    caplog.set_level(logging.INFO, logger="core.migrations")

    engine = init_db(make_engine(f"sqlite:///{previous_release}"))
    engine.dispose()

    after = row_counts(previous_release)
    assert {t: after.get(t) for t in before} == before
    assert query(previous_release, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert f"stamped as the baseline, revision {BASELINE}" in caplog.text
    if head_revision() != BASELINE:
        assert f"upgraded from revision {BASELINE} to {head_revision()}" in caplog.text
    assert query(previous_release, "SELECT name, battery_kwh FROM vehicle WHERE id = 'BUS-01'") == [("E-bus 1", 350.0)]
    assert query(previous_release, "SELECT username, role FROM user ORDER BY id") == [
        ("admin", "admin"),
        ("olga", "operator"),
    ]
    assert query(previous_release, "SELECT max(soc), count(*) FROM metersample WHERE charger_id = 'CP-BUS-01'") == [
        (0.51, 12)
    ]
    assert query(previous_release, "SELECT action FROM auditevent WHERE dispatch_run_id IS NOT NULL ORDER BY id") == [
        ("departure_schedule.set",),
        ("departure_override.set",),
        ("dispatch.manual",),
    ]


def test_the_console_reads_the_upgraded_database(previous_release):
    """What the pages and the planner rely on: the models read the upgraded rows, times come back aware."""
    engine = init_db(make_engine(f"sqlite:///{previous_release}"))
    try:
        with session_scope(engine) as s:
            bus = s.get(models.Vehicle, "BUS-01")
            latest = s.exec(select(models.MeterSample).order_by(models.MeterSample.time.desc())).first()
            run = s.exec(select(models.DispatchRun)).one()
            assert (bus.battery_kwh, bus.home_charger_id) == (350.0, "CP-BUS-01")
            assert latest.time == T0 - timedelta(minutes=5)
            assert (run.trigger, run.finished_at.tzinfo) == ("manual", UTC)
    except OperationalError as e:
        pytest.fail(f"the models read a column or table the revisions do not make ({e.orig}); add a revision")
    finally:
        engine.dispose()


def _with_revision(tmp_path, monkeypatch, body: str) -> str:
    """The migration environment copied to tmp_path plus one revision after head (the runner points at it)."""
    scripts = tmp_path / "migrations"
    shutil.copytree(runner.HERE, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = head_revision()
    revision = f"{int(head) + 1:04d}"
    (scripts / "versions" / f"{revision}_test.py").write_text(
        f"import sqlalchemy as sa\nfrom alembic import op\n\nrevision = {revision!r}\ndown_revision = {head!r}\n"
        f"branch_labels = depends_on = None\n\n\ndef upgrade():\n{body}\n"
    )
    monkeypatch.setattr(runner, "HERE", scripts)
    runner._scripts.cache_clear()
    return revision


@pytest.fixture
def fresh_scripts():
    yield
    runner._scripts.cache_clear()  # the next test reads core/migrations again


def test_a_revision_that_rebuilds_a_table_keeps_every_row_and_the_foreign_keys(
    previous_release, tmp_path, monkeypatch, caplog, fresh_scripts
):
    """SQLite cannot ALTER a column: batch mode copies `vehicle` (which plug sessions, setpoints, ...
    refer to) into a new table and drops the old one. Foreign keys are off meanwhile, checked after."""
    new = _with_revision(tmp_path, monkeypatch, """    with op.batch_alter_table("vehicle") as batch:
        batch.add_column(sa.Column("fleet_number", sa.String(), nullable=False, server_default="unknown"))
        batch.alter_column("name", existing_type=sa.String(), type_=sa.String(length=120))""")  # fmt: skip
    before = row_counts(previous_release)
    caplog.set_level(logging.INFO, logger="core.migrations")
    engine = make_engine(f"sqlite:///{previous_release}")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    init_db(engine)

    assert any("_alembic_tmp_vehicle" in s for s in statements)  # the table really was rebuilt
    assert f"upgraded from revision {BASELINE} to {new}" in caplog.text
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for the app's connections
        assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()
    after = row_counts(previous_release)
    assert {t: after[t] for t in before} == before
    assert query(previous_release, "SELECT DISTINCT fleet_number FROM vehicle") == [("unknown",)]
    assert query(
        previous_release, "SELECT count(*) FROM plugsession JOIN vehicle ON vehicle.id = plugsession.vehicle_id"
    ) == [(4,)]
    assert query(previous_release, "SELECT version_num FROM alembic_version") == [(new,)]


def test_a_failing_revision_changes_nothing(previous_release, tmp_path, monkeypatch, fresh_scripts):
    """An upgrade that fails half-way leaves the database as it was (one transaction), not half-built."""
    _with_revision(tmp_path, monkeypatch, """    op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")""")  # fmt: skip
    before = row_counts(previous_release)
    engine = make_engine(f"sqlite:///{previous_release}")
    with pytest.raises(Exception, match="no_such_table"):
        init_db(engine)
    engine.dispose()
    assert row_counts(previous_release) == before  # no scratch table, no alembic_version either


def test_a_database_from_a_newer_release_is_refused_untouched(empty_engine):
    """Code rolled back after an upgrade: a clear error, not a half-understood schema."""
    with empty_engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(RuntimeError, match="at schema revision 9999, which this code does not know"):
        init_db(empty_engine)
    with empty_engine.connect() as c:
        assert current_revision(c) == "9999"


# --- models match migrations ------------------------------------------------------------------


def test_the_revisions_build_the_schema_the_models_describe(tmp_path):
    assert_models_match_migrations(create_engine(f"sqlite:///{tmp_path / 'revisions.db'}"))


def test_the_baseline_is_the_schema_of_the_previous_release(previous_release):
    """Stamping an old database as BASELINE is only right if the baseline revision builds what it has."""
    engine = create_engine(f"sqlite:///{previous_release.parent / 'baseline.db'}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
    engine.dispose()
    old, new = sqlite3.connect(previous_release), sqlite3.connect(previous_release.parent / "baseline.db")

    def columns(db) -> dict[str, list[tuple]]:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: db.execute(f'PRAGMA table_info("{t}")').fetchall()
            for t in tables
            if t not in ("alembic_version", "sqlite_sequence")
        }

    def indexes(db) -> set[tuple]:
        return set(db.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))

    assert columns(new) == columns(old)
    assert indexes(new) == indexes(old)
    old.close()
    new.close()


# --- at every start ---------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["empty", "previous release"])
def test_a_second_init_db_changes_nothing(start, tmp_path, previous_release):
    path = previous_release if start == "previous release" else tmp_path / "empty.db"
    engine = init_db(make_engine(f"sqlite:///{path}"))
    rows = row_counts(path)
    writes: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda *a: writes.append(a[2]) if not a[2].lstrip().upper().startswith(("SELECT", "PRAGMA")) else None,
    )

    init_db(engine)

    assert [w for w in writes if not w.startswith("BEGIN")] == []
    with engine.connect() as c:
        assert current_revision(c) == head_revision()
    engine.dispose()
    assert row_counts(path) == rows


def test_an_empty_database_gets_every_table_of_the_models(empty_engine):
    assert set(inspect(empty_engine).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    with empty_engine.connect() as c:
        assert current_revision(c) == head_revision()


START = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(message)s")
from core.db import init_db, make_engine
init_db(make_engine(f"sqlite:///{sys.argv[1]}"))
"""


@pytest.mark.parametrize("start", ["empty", "previous release"])
def test_two_processes_starting_at_once_both_come_up(start, tmp_path, previous_release):
    """The web process and the gateway each run init_db at start; on SQLite the second waits for the
    first's write lock, then finds the schema at head."""
    path = previous_release if start == "previous release" else tmp_path / "empty.db"
    rows = row_counts(path) if path.exists() else {}
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START, str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in starts]
    assert [p.returncode for p in starts] == [0, 0], outputs
    done = "Database schema created" if start == "empty" else "stamped as the baseline"
    assert sum(out.count(done) for out in outputs) == 1, outputs  # one did the work, the other found it done
    assert query(path, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert {t: n for t, n in row_counts(path).items() if t in rows} == rows


# --- PostgreSQL -------------------------------------------------------------------------------


def _database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def test_postgresql_previous_release_upgraded_by_two_starters_at_once(postgres_url):  # noqa: F811
    """A PostgreSQL database as the previous release left it (the baseline's tables, no alembic_version,
    rows in them), brought to head by two starters at once (an advisory lock keeps them in turn)."""
    url = _database(postgres_url, "previous_release")
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            command.upgrade(alembic_config(c), BASELINE)
            c.execute(text("DROP TABLE alembic_version"))
            c.execute(text("INSERT INTO site (id, name, timezone, currency, import_limit_kw, export_limit_kw, default_soc_floor, hard_soc_floor, degradation_cost_per_kwh, dispatch_interval_s, demand_response_opt_in, month_peak_import_kw) VALUES ('s1', 'Depot', 'Europe/Amsterdam', 'EUR', 400, 250, 0.3, 0.2, 0.04, 60, true, 0)"))  # fmt: skip
            c.execute(text("INSERT INTO auditevent (time, actor, action, target, before, after) VALUES (now(), 'olga', 'site.update', 's1', '{}', '{\"import_limit_kw\": 400}')"))  # fmt: skip
        errors: list[BaseException] = []

        def start() -> None:
            other = make_engine(url)
            try:
                init_db(other)
            except BaseException as e:  # reported by the assertion below
                errors.append(e)
            finally:
                other.dispose()

        threads = [threading.Thread(target=start) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        with engine.connect() as c:
            assert current_revision(c) == head_revision()
            assert c.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert c.execute(text("SELECT name FROM site")).all() == [("Depot",)]
            assert c.execute(text("SELECT after FROM auditevent")).scalar() == {"import_limit_kw": 400}
    finally:
        engine.dispose()


def test_postgresql_revisions_build_the_schema_the_models_describe(postgres_url):  # noqa: F811
    engine = create_engine(_database(postgres_url, "revisions"))
    try:
        assert_models_match_migrations(engine)
    finally:
        engine.dispose()
