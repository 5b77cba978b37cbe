"""What the pages show: snapshots of the site and its fleet, read from the database.

Pages call these functions and hand the plain results to components; nothing here knows about Dash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.clock import now
from core.db import session_scope


class NoSiteError(LookupError):
    """The database holds no site yet (run `python app.py --reset-demo` or `make run`)."""


@dataclass(frozen=True)
class SiteInfo:
    id: str
    name: str
    timezone: str
    currency: str
    import_limit_kw: float
    export_limit_kw: float
    default_soc_floor: float
    hard_soc_floor: float
    local_time: datetime


@dataclass(frozen=True)
class FleetRow:
    vehicle_id: str
    name: str
    kind: str
    battery_kwh: float
    soc_floor: float
    target_soc: float
    usual_arrival: str
    usual_departure: str
    charger_id: str | None
    charger_protocol: str | None
    bidirectional: bool
    v2g_allowed: bool


def default_site_id(engine: Engine | None = None) -> str:
    """The id of the first site (the console manages one site per installation for now)."""
    with session_scope(engine) as session:
        site_id = session.exec(select(models.Site.id).order_by(models.Site.id)).first()
    if site_id is None:
        raise NoSiteError("no site in the database: start with `make run` or `python app.py --reset-demo`")
    return site_id


def site_info(site_id: str | None = None, engine: Engine | None = None) -> SiteInfo:
    """The site's name, limits and the current local time in its time zone."""
    site_id = site_id or default_site_id(engine)
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None:
            raise NoSiteError(f"no site {site_id!r}")
        return SiteInfo(
            id=site.id,
            name=site.name,
            timezone=site.timezone,
            currency=site.currency,
            import_limit_kw=site.import_limit_kw,
            export_limit_kw=site.export_limit_kw,
            default_soc_floor=site.default_soc_floor,
            hard_soc_floor=site.hard_soc_floor,
            local_time=now().astimezone(ZoneInfo(site.timezone)),
        )


def fleet(site_id: str | None = None, engine: Engine | None = None) -> list[FleetRow]:
    """One row per vehicle of the site, with its effective floor and home charger."""
    site_id = site_id or default_site_id(engine)
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        chargers = {c.id: c for c in session.exec(select(models.Charger).where(models.Charger.site_id == site_id))}
        vehicles = session.exec(
            select(models.Vehicle).where(models.Vehicle.site_id == site_id).order_by(models.Vehicle.id)
        ).all()
        rows = []
        for v in vehicles:
            charger = chargers.get(v.home_charger_id or "")
            rows.append(
                FleetRow(
                    vehicle_id=v.id,
                    name=v.name,
                    kind=v.kind,
                    battery_kwh=v.battery_kwh,
                    soc_floor=v.soc_floor if v.soc_floor is not None else site.default_soc_floor,
                    target_soc=v.target_soc,
                    usual_arrival=v.usual_arrival,
                    usual_departure=v.usual_departure,
                    charger_id=charger.id if charger else None,
                    charger_protocol=charger.protocol if charger else None,
                    bidirectional=bool(charger and charger.bidirectional and v.max_discharge_kw > 0),
                    v2g_allowed=v.v2g_allowed,
                )
            )
    return rows


def fleet_max_charge_kw(site_id: str, engine: Engine | None = None) -> float:
    """What every charger of the site together could draw at full power."""
    with session_scope(engine) as session:
        powers = session.exec(select(models.Charger.max_charge_kw).where(models.Charger.site_id == site_id)).all()
    return float(sum(powers))
