"""Site-wide settings: grid connection limits, battery degradation cost, the dispatch interval, and
whether the site takes part in the utility's demand-response (OpenADR) export requests."""

from __future__ import annotations

from sqlmodel import Session, select

from core import models
from core.clock import now
from core.controls.changes import record_change
from core.controls.validation import FieldErrors, positive_number, require_actor, site_or_error

DISPATCH_INTERVAL_RANGE_S = (10.0, 3600.0)
SITE_SETTING_KEYS = ("import_limit_kw", "export_limit_kw", "degradation_cost_per_kwh", "dispatch_interval_s")


def set_site_settings(
    *,
    session: Session,
    actor: str,
    import_limit_kw: float,
    export_limit_kw: float,
    degradation_cost_per_kwh: float,
    dispatch_interval_s: float,
    site_id: str | None = None,
) -> models.AuditEvent:
    """Grid connection limits, battery degradation cost and dispatch interval.

    Rules: limits more than 0 kW; degradation cost 0 or more; dispatch interval 10-3600 s.
    """
    require_actor(actor)
    site = site_or_error(session, site_id)
    errors = FieldErrors()
    imp = positive_number(errors, "import_limit_kw", import_limit_kw)
    exp = positive_number(errors, "export_limit_kw", export_limit_kw)
    deg = positive_number(errors, "degradation_cost_per_kwh", degradation_cost_per_kwh, allow_zero=True)
    interval = positive_number(errors, "dispatch_interval_s", dispatch_interval_s)
    low, high = DISPATCH_INTERVAL_RANGE_S
    if interval is not None and not low <= interval <= high:
        errors.add("dispatch_interval_s", f"between {low:.0f} and {high:.0f} s")
    errors.raise_if_any()
    before = {k: getattr(site, k) for k in SITE_SETTING_KEYS}
    site.import_limit_kw, site.export_limit_kw = imp, exp
    site.degradation_cost_per_kwh, site.dispatch_interval_s = deg, interval
    return record_change(
        session=session, actor=actor, action="site_settings.set", target=f"site:{site.id}",
        before=before, after={k: getattr(site, k) for k in SITE_SETTING_KEYS}, site_id=site.id,
    )


def current_site_settings(*, session: Session, site_id: str | None = None) -> dict:
    """The site's id and its current values of SITE_SETTING_KEYS (the command line changes only some)."""
    site = site_or_error(session, site_id)
    return {"site_id": site.id, **{k: getattr(site, k) for k in SITE_SETTING_KEYS}}


def set_demand_response_opt_in(*, session: Session, actor: str, opt_in: bool, site_id: str | None = None) -> models.AuditEvent:
    """Whether the site takes part in the utility's demand-response export requests (OpenADR).

    The VEN answers the next events optIn or optOut as this says; export requests from OpenADR that
    have not ended yet follow the setting at once, so the next dispatch run plans (or stops planning)
    for them.
    """
    require_actor(actor)
    site = site_or_error(session, site_id)
    before = {"demand_response_opt_in": site.demand_response_opt_in}
    site.demand_response_opt_in = bool(opt_in)
    for signal in session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site.id)
        .where(models.GridSignal.source == "openadr")
        .where(models.GridSignal.kind == "export_request")
        .where(models.GridSignal.end > now())
    ):
        signal.opted_in = bool(opt_in)
    return record_change(
        session=session, actor=actor, action="demand_response.set", target=f"site:{site.id}",
        before=before, after={"demand_response_opt_in": site.demand_response_opt_in}, site_id=site.id,
    )
