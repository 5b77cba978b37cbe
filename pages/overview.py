"""Overview: the site's limits and its fleet."""

import dash
from dash import html

from components import ids
from components.fleet import fleet_table, site_limits_card
from core import telemetry

dash.register_page(__name__, path="/", name="Overview", order=0)


def layout(**_query):
    site = telemetry.site_info()
    rows = telemetry.fleet(site.id)
    chargers = {r.charger_id for r in rows if r.charger_id}
    return html.Div(
        [
            html.H2(site.name, id=ids.OVERVIEW_TITLE),
            html.Div(
                site_limits_card(site, len(rows), len(chargers), telemetry.fleet_max_charge_kw(site.id)),
                id=ids.OVERVIEW_LIMITS,
            ),
            html.H4("Fleet"),
            fleet_table(rows, ids.OVERVIEW_FLEET_TABLE),
        ]
    )
