"""Site look-up and the re-plan request flag: which site a call is about, and asking for a new plan."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from core import models
from core.clock import now
from core.db import session_scope


class NoSiteError(LookupError):
    """The database holds no site yet (run `python app.py --reset-demo` or `make run`)."""


def first_site_id(*, session: Session) -> str:
    """The id of the first site (the console manages one site per installation for now)."""
    site_id = session.exec(select(models.Site.id).order_by(models.Site.id)).first()
    if site_id is None:
        raise NoSiteError("no site in the database: start with `make run` or `python app.py --reset-demo`")
    return site_id


def default_site_id(engine: Engine | None = None) -> str:
    """`first_site_id` in a session of its own, for pages and command lines that name no site."""
    with session_scope(engine) as session:
        return first_site_id(session=session)


def get_site(*, session: Session, site_id: str | None) -> models.Site:
    """The site `site_id`, or the first site when None; NoSiteError when there is none."""
    if site_id is None:
        site_id = first_site_id(session=session)
    site = session.get(models.Site, site_id)
    if site is None:
        raise NoSiteError(f"no site {site_id!r}")
    return site


def request_replan(*, session: Session, site_id: str) -> None:
    """Ask for a dispatch run as soon as the scheduler sees it (plug-in, plug-out, a setting, prices).

    Written inside the caller's transaction, so a change that rolls back leaves no request and a
    caller holding SQLite's write lock does not wait on a second session.
    """
    site = session.get(models.Site, site_id)
    if site is not None:
        site.replan_requested_at = now()


def replan_wanted(*, session: Session, site_id: str) -> bool:
    """True when a re-plan was requested after the last dispatch run started."""
    site = session.get(models.Site, site_id)
    if site is None or site.replan_requested_at is None:
        return False
    last = session.exec(
        select(func.max(models.DispatchRun.started_at)).where(models.DispatchRun.site_id == site_id)
    ).one()
    return last is None or site.replan_requested_at >= last
