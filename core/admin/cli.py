"""What the admin command line's nouns share: who the actor is, one transaction per command, and
errors printed the same way (field by field, "nothing was saved", exit status 2)."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from core.users import SYSTEM_ACTOR_PREFIX


def actor_of(args) -> str:
    """The --actor given (an admin account), else the command line itself: it holds the database already."""
    return args.actor or f"{SYSTEM_ACTOR_PREFIX}cli:{getpass.getuser()}"


def run(args, work: Callable[[Session, str], int | None]) -> int:
    """Run `work(session, actor)` in one transaction; a ValidationError rolls everything back."""
    try:
        with session_scope(args.engine) as session:
            status = work(session, actor_of(args))
    except ValidationError as exc:
        for field, message in exc.errors.items():
            print(f"error: {field}: {message}", file=sys.stderr)
        print("nothing was saved", file=sys.stderr)
        return 2
    except PermissionDenied as exc:
        print(f"error: {exc}; nothing was saved", file=sys.stderr)
        return 2
    return status or 0


def print_rows(rows: list[dict], columns: list[str], *, as_json: bool = False) -> None:
    """A list as aligned text columns, or as JSON lines with --json."""
    if as_json:
        for row in rows:
            print(json.dumps({c: _plain(row.get(c)) for c in columns}))
        return
    cells = [[_text(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _text(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def add_list_options(parser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
