"""The common end of every operator setting: one audit row and a re-plan request, in the caller's
transaction, so the change, its audit row and the request commit together or not at all (a preview
rolls all three back)."""

from __future__ import annotations

from sqlmodel import Session

from core import models
from core.audit import write_audit
from core.sites import request_replan


def record_change(
    *, session: Session, actor: str, action: str, target: str, before: dict, after: dict, site_id: str
) -> models.AuditEvent:
    """Write the audit row of a change made in `session` and ask for a re-plan of `site_id`."""
    event = write_audit(session=session, actor=actor, action=action, target=target, before=before, after=after)
    request_replan(session=session, site_id=site_id)
    session.flush()
    return event
