"""`python -m core.admin site add|edit|list`."""

from __future__ import annotations

from pathlib import Path

from core.admin.cli import add_list_options, print_rows, run
from core.admin.sites import add_site, edit_site, list_sites
from core.errors import ValidationError

NOUN = "site"


def _site_options(parser, *, adding: bool) -> None:
    parser.add_argument("--name", required=adding, help="what operators call it")
    parser.add_argument("--timezone", help="IANA time zone, e.g. Europe/Berlin (default Europe/Amsterdam)")
    parser.add_argument("--latitude", help="degrees north (-90..90)")
    parser.add_argument("--longitude", help="degrees east (-180..180)")
    parser.add_argument("--import-limit-kw", required=adding, help="grid connection import limit, kW")
    parser.add_argument("--export-limit-kw", required=adding, help="grid connection export limit, kW")
    parser.add_argument("--pv-peak-kwp", help="PV peak power, kWp (default 0: no PV)")
    parser.add_argument("--currency", help="ISO 4217 code (default EUR)")
    parser.add_argument("--tariff", type=Path, help="time-of-use tariff, a JSON file (see README, Tariffs)")


def register(subparsers) -> None:
    """Add the `site` noun to the admin command line."""
    noun = subparsers.add_parser(NOUN, help="sites: add, edit, list")
    verbs = noun.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="a new site")
    add.add_argument("--id", required=True, dest="site_id", help="its id, e.g. depot-2")
    _site_options(add, adding=True)
    add.set_defaults(handler=_add)
    edit = verbs.add_parser("edit", help="change fields of a site (only those given)")
    edit.add_argument("site_id", metavar="ID")
    _site_options(edit, adding=False)
    edit.set_defaults(handler=_edit)
    show = verbs.add_parser("list", help="every site")
    add_list_options(show)
    show.set_defaults(handler=_list)


FIELDS = ("name", "timezone", "latitude", "longitude", "import_limit_kw", "export_limit_kw", "pv_peak_kwp", "currency")


def _given(args) -> dict:
    return {k: getattr(args, k) for k in FIELDS if getattr(args, k) is not None}


def _tariff_text(args) -> str | None:
    if args.tariff is None:
        return None
    try:
        return args.tariff.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError({"tariff": f"cannot read {args.tariff}: {exc.strerror}"}) from None


def _add(args) -> int:
    def work(session, actor):
        site = add_site(session=session, actor=actor, site_id=args.site_id, tariff=_tariff_text(args), **_given(args))
        print(
            f"added site {site.id} ({site.name}, {site.timezone}): import {site.import_limit_kw:g} kW, "
            f"export {site.export_limit_kw:g} kW"
        )

    return run(args, work)


def _edit(args) -> int:
    def work(session, actor):
        site = edit_site(session=session, actor=actor, site_id=args.site_id, tariff=_tariff_text(args), **_given(args))
        print(f"changed site {site.id}")

    return run(args, work)


def _list(args) -> int:
    def work(session, _actor):
        print_rows(list_sites(session=session), ["id", *FIELDS, "chargers", "vehicles", "tariff"], as_json=args.json)

    return run(args, work)
