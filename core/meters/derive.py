"""A site sample from what the meters measured and what the chargers draw (pure).

The balance at the grid connection: net import = building load - PV + EV power (EV power signed,
+ charging). Whatever the meters do not give is derived from it, the measured values kept as they are:

- net import + PV:          building = net import - EV power + PV
- net import + building:    PV = building + EV power - net import
- net import alone:         PV = 0 and building = net import - EV power (the building load is then
                            the building net of any PV behind the meter)
- building (+ PV), no net:  net import = building - PV + EV power
- all three:                kept as measured
- PV alone:                 no sample (nothing says what the site takes from the grid)

A derived building load below zero (the charger readings and the meter are read at slightly
different instants) is kept at zero in the sample; the measured net import is never changed, because
the site-limit guard acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.meters.spec import BUILDING, NET_IMPORT, PV


@dataclass(frozen=True)
class SiteFlows:
    """One site sample's powers, kW."""

    net_import_kw: float
    building_load_kw: float
    pv_kw: float


def site_flows(values: dict[str, float], *, ev_kw: float) -> SiteFlows | None:
    """The site's flows from the measured `values` ({quantity: kW}) and the chargers' EV power."""
    net, building, pv = values.get(NET_IMPORT), values.get(BUILDING), values.get(PV)
    if net is None and building is None:
        return None
    if net is None:
        pv = pv or 0.0
        net = building - pv + ev_kw
    elif building is None:
        pv = pv or 0.0
        building = net - ev_kw + pv
    elif pv is None:
        pv = max(0.0, building + ev_kw - net)
    return SiteFlows(net_import_kw=round(net, 4), building_load_kw=round(max(0.0, building), 4), pv_kw=round(pv, 4))
