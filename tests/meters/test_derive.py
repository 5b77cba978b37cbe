"""What a site sample holds when a meter gives only some of the quantities (core.meters.derive)."""

from __future__ import annotations

import pytest

from core.meters.derive import SiteFlows, site_flows


@pytest.mark.parametrize(
    ("measured", "ev_kw", "expected"),
    [
        ({"net_import_kw": 100.0, "pv_kw": 20.0}, 30.0, SiteFlows(100.0, 90.0, 20.0)),  # building = net - EV + PV
        ({"net_import_kw": 100.0}, 30.0, SiteFlows(100.0, 70.0, 0.0)),  # no PV known: building net of PV
        (
            {"net_import_kw": 100.0, "building_load_kw": 80.0},
            30.0,
            SiteFlows(100.0, 80.0, 10.0),
        ),  # PV = building + EV - net
        ({"building_load_kw": 80.0, "pv_kw": 10.0}, 30.0, SiteFlows(100.0, 80.0, 10.0)),  # net = building - PV + EV
        (
            {"net_import_kw": 5.0, "building_load_kw": 60.0, "pv_kw": 1.0},
            30.0,
            SiteFlows(5.0, 60.0, 1.0),
        ),  # as measured
        ({"net_import_kw": -50.0}, 30.0, SiteFlows(-50.0, 0.0, 0.0)),  # never a negative building; net kept
    ],
)
def test_what_is_missing_is_derived_from_the_balance(measured, ev_kw, expected):
    assert site_flows(measured, ev_kw=ev_kw) == expected


def test_pv_alone_says_nothing_about_the_grid_connection():
    assert site_flows({"pv_kw": 12.0}, ev_kw=0.0) is None
