"""Helpers of the site meter tests."""

from __future__ import annotations

from sqlmodel import col, select

from core import models
from core.db import session_scope
from core.meters.config import add_meter

ACTOR = "system:test"
SITE_ID = "depot-ams"


def configure(engine, name: str = "grid", **fields) -> None:
    """A meter through the configuration service (as the command line adds it)."""
    with session_scope(engine) as session:
        add_meter(session=session, actor=ACTOR, name=name, site_id=SITE_ID, **fields)


def meter_samples(engine, since=None) -> list[models.SiteSample]:
    """The site's samples (from `since`), oldest first."""
    with session_scope(engine) as session:
        statement = select(models.SiteSample).where(models.SiteSample.site_id == SITE_ID)
        if since is not None:
            statement = statement.where(models.SiteSample.time >= since)
        return list(session.exec(statement.order_by(models.SiteSample.time, col(models.SiteSample.id))).all())
