"""Fleet and site summaries as plain functions of data."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components import format as fmt


def site_limits_card(site, vehicle_count: int, charger_count: int, total_charge_kw: float):
    """The site's connection limits next to what the fleet could draw."""
    items = [
        ("Import limit", fmt.kw(site.import_limit_kw)),
        ("Export limit", fmt.kw(site.export_limit_kw)),
        ("Vehicles", str(vehicle_count)),
        ("Chargers", str(charger_count)),
        ("Fleet max charging", fmt.kw(total_charge_kw)),
        ("Time zone", site.timezone),
    ]
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col([html.Div(label, className="text-muted small"), html.Div(value, className="fs-5 fw-semibold")])
                    for label, value in items
                ]
            )
        ),
        className="mb-3",
    )


def v2g_text(possible: bool, blocked_reason: str | None) -> str:
    """The V2G cell: "yes" only where the planner may discharge the vehicle (core.rules.discharge), else why not."""
    return "yes" if possible else f"no — {blocked_reason or 'not possible'}"


def fleet_table(rows, table_id: str):
    """One row per vehicle: battery, floor, target, usual times, charger and whether it can discharge."""
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in (
                    "Vehicle", "Kind", "Battery", "SoC floor", "Target SoC", "Arrives", "Departs", "Charger", "V2G",
                )
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(r.name, title=r.vehicle_id),
                    html.Td(r.kind),
                    html.Td(fmt.kwh(r.battery_kwh)),
                    html.Td(fmt.soc(r.soc_floor)),
                    html.Td(fmt.soc(r.target_soc)),
                    html.Td(r.usual_arrival),
                    html.Td(r.usual_departure),
                    html.Td(f"{r.charger_id} (OCPP {r.charger_protocol})" if r.charger_id else "—"),
                    html.Td(v2g_text(r.v2g_possible, r.v2g_blocked_reason)),
                ]
            )
            for r in rows
        ]
    )
    return dbc.Table([header, body], id=table_id, striped=True, hover=True, size="sm", responsive=True)
