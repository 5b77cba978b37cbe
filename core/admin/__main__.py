"""`python -m core.admin NOUN VERB ...`: set up sites, chargers, vehicles and people from the command line,
through the same services as the pages under /admin (README, "Admin").

    python -m core.admin site add --id depot-2 --name "North depot" --timezone Europe/Berlin \\
        --import-limit-kw 250 --export-limit-kw 100
    python -m core.admin charger add CP-21 --site depot-2 --protocol 2.0.1 --max-charge-kw 22
    python -m core.admin vehicle import fleet.csv --site depot-2
    python -m core.admin user add alice --role operator

Each noun is a module `core/admin/<noun>_cli.py` with `register(subparsers)`, listed in NOUNS; one
that is not installed is left out. Changes are made as --actor (an admin account) or, without it,
as the command line itself (`system:cli:<login>` in the audit log: it holds the database anyway).
Bad input prints every faulty field and saves nothing (exit status 2).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# The nouns, in the order `--help` lists them. A helper adds one by creating its module.
NOUNS = ("site", "charger", "vehicle", "user", "meter")


def noun_modules() -> list:
    """The CLI module of every noun in NOUNS that exists (core.admin.<noun>_cli)."""
    found = []
    for noun in NOUNS:
        name = f"core.admin.{noun}_cli"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--actor", help="the admin account making the change (default: the command line)")
    nouns = parser.add_subparsers(dest="noun", required=True)
    for module in noun_modules():
        module.register(nouns)
    return parser


def main(argv: list[str] | None = None, *, engine=None) -> int:
    """Run one admin command; returns the exit status (2: refused, nothing saved)."""
    from core.db import get_engine, init_db

    args = build_parser().parse_args(argv)
    args.engine = engine if engine is not None else init_db(get_engine())
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
