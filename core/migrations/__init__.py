"""Schema migrations (Alembic): the environment (env.py, script.py.mako, versions/) and the runner
that `core.db.init_db` calls at every start. Add a revision with `python -m core.migrations autogenerate -m "..."`."""

import logging

# Alembic logs its set-up at INFO when imported and on every call, i.e. at every start of every
# process; the runner logs what changed. `python -m core.migrations` turns it back on.
logging.getLogger("alembic").setLevel(logging.WARNING)

from core.migrations.runner import (  # noqa: E402
    BASELINE,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)

__all__ = ["BASELINE", "alembic_config", "current_revision", "head_revision", "upgrade_database"]
