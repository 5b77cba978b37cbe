"""`python -m core.migrations ...`: Alembic's command line without an alembic.ini.

    python -m core.migrations autogenerate -m "add tariff zones"   # a new revision: models vs head
    python -m core.migrations current | history | upgrade head | downgrade -1 | check

`autogenerate` compares the models with a scratch SQLite database upgraded to head (not with your
data), names the revision with the next number (0002, 0003, ...) and formats it with ruff; read it
before you commit it (a rename shows as drop + add; a new NOT NULL column gets the model's scalar
default as its server default, a callable default is yours to write).
Every other command runs on the configured database (DATABASE_URL, else data/v2g.db).
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import CommandLine
from sqlalchemy import create_engine, pool

from core.config import get_settings
from core.migrations.runner import HERE, _scripts, alembic_config


def autogenerate(message: str) -> Path:
    """Write the revision that brings the head schema to the models' schema; returns its file."""
    number = len(list(_scripts().walk_revisions())) + 1
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.db'}", poolclass=pool.NullPool)
        try:
            with engine.begin() as connection:
                config = alembic_config(connection)
                command.upgrade(config, "head")
                script = command.revision(config, message=message, autogenerate=True, rev_id=f"{number:04d}")
        finally:
            engine.dispose()
    path = Path(script.path)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "check", "-q", "--fix", str(path)], check=False)
    return path


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO)  # "Running upgrade 0001 -> 0002, ..."
    if argv[:1] == ["autogenerate"]:
        parser = argparse.ArgumentParser(prog="python -m core.migrations autogenerate")
        parser.add_argument("-m", "--message", required=True, help="what the revision changes")
        path = autogenerate(parser.parse_args(argv[1:]).message)
        print(f"Wrote {path.relative_to(HERE.parent.parent)}: read it before you commit it")
        return
    cli = CommandLine(prog="python -m core.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    engine = create_engine(get_settings().database_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config(connection)
            config.cmd_opts = options
            cli.run_cmd(config, options)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
