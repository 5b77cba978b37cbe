"""Alembic's migration environment, run by every alembic command (core.migrations.runner builds the config).

No alembic.ini: the runner passes the connection in `config.attributes["connection"]` (the app, the
tests and `python -m core.migrations`), so Alembic never touches the app's logging or URL quoting.
"""

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate import rewriter
from alembic.operations import ops
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import core.models  # noqa: F401  (registers every table on SQLModel.metadata)
from core.models.base import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Write the model's own column types as plain SQLAlchemy types, so that a revision never imports
    the models (which keep changing after it was written)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


autogenerate_fixes = rewriter.Rewriter()


@autogenerate_fixes.rewrites(ops.AddColumnOp)
def fill_existing_rows(context, revision, op: ops.AddColumnOp):
    """A NOT NULL column added to a table that has rows needs a value for them: the model's own scalar
    default, as a server default (else the upgrade fails on the first table with a row)."""
    column = op.column
    default = column.default.arg if column.default is not None and column.default.is_scalar else None
    if column.nullable or column.server_default is not None or default is None:
        return op  # a callable default: write the server_default (or a data step) yourself
    column = column._copy()
    column.server_default = sa.DefaultClause(str(int(default)) if isinstance(default, bool) else str(default))
    return ops.AddColumnOp(op.table_name, column, schema=op.schema)


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies and moves the table
        render_item=render_item,
        process_revision_directives=autogenerate_fixes,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("--sql is not supported: batch mode on SQLite needs a live database connection")
connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run alembic through `python -m core.migrations` (it passes the database connection in)")
run(connection)
