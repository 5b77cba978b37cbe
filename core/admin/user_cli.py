"""`python -m core.admin user add|role|passwd|disable|enable|list`."""

from __future__ import annotations

import getpass
import sys

from core.admin.cli import add_list_options, print_rows, run
from core.admin.people import ROLES, add_user, list_users, reset_password, set_disabled, set_role
from core.errors import ValidationError

NOUN = "user"


def register(subparsers) -> None:
    """Add the `user` noun to the admin command line."""
    noun = subparsers.add_parser(NOUN, help="accounts: add, role, passwd, disable, enable, list")
    verbs = noun.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="a new account (asks for its password)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="viewer")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=_add)
    role = verbs.add_parser("role", help="give an account another role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=_role)
    passwd = verbs.add_parser("passwd", help="set an account's password (asks twice); its sessions end")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd.set_defaults(handler=_passwd)
    for verb, disabled in (("disable", True), ("enable", False)):
        p = verbs.add_parser(verb, help="the account can no longer log in" if disabled else "it can log in again")
        p.add_argument("username")
        p.set_defaults(handler=_disable, disabled=disabled)
    show = verbs.add_parser("list", help="every account")
    add_list_options(show)
    show.set_defaults(handler=_list)


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise ValidationError({"password": "the two entries differ"})
    return password


def _add(args) -> int:
    def work(session, actor):
        add_user(session=session, actor=actor, username=args.username, password=_password(args), role=args.role)
        print(f"added {args.username} ({args.role})")

    return run(args, work)


def _role(args) -> int:
    def work(session, actor):
        set_role(session=session, actor=actor, username=args.username, role=args.role)
        print(f"{args.username} is now {args.role}")

    return run(args, work)


def _passwd(args) -> int:
    def work(session, actor):
        ended = reset_password(session=session, actor=actor, username=args.username, password=_password(args))
        print(f"password of {args.username} changed; {ended} session(s) ended")

    return run(args, work)


def _disable(args) -> int:
    def work(session, actor):
        set_disabled(session=session, actor=actor, username=args.username, disabled=args.disabled)
        print(f"{args.username} {'disabled' if args.disabled else 'enabled'}")

    return run(args, work)


def _list(args) -> int:
    def work(session, _actor):
        print_rows(list_users(session=session), ["username", "role", "created_at", "disabled"], as_json=args.json)

    return run(args, work)
