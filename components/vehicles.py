"""Vehicle rows, the SoC bar and the at-risk marker, as plain functions of data."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import format as fmt
from components.live import age_text


def soc_bar(soc: float | None, floor: float, target: float, *, stale: bool) -> html.Div:
    """SoC as a bar with the floor and target marked (and the value in text, for colour-blind readers)."""
    width = 0 if soc is None else max(0.0, min(1.0, soc)) * 100
    colour = "#6c757d" if stale else ("#dc3545" if soc is not None and soc < floor else "#0d6efd")
    return html.Div(
        [
            html.Div(className="soc-fill", style={"width": f"{width:.0f}%", "background": colour}),
            html.Div(className="soc-mark soc-floor", style={"left": f"{floor * 100:.0f}%"}, title=f"floor {fmt.soc(floor)}"),
            html.Div(className="soc-mark soc-target", style={"left": f"{target * 100:.0f}%"}, title=f"target {fmt.soc(target)}"),
            html.Span(fmt.soc(soc) + (" (stale)" if stale and soc is not None else ""), className="soc-label"),
        ],
        className="soc-bar",
    )


def risk_text(shortfall_kwh: float, cause: str) -> str:
    """What a vehicle at risk will miss and why: "−3.2 kWh, vehicle draws less than its setpoint"."""
    parts = ([f"−{shortfall_kwh:.1f} kWh"] if shortfall_kwh > 0 else []) + ([cause] if cause else [])
    return ", ".join(parts)


def status_badge(at_risk: bool, plugged: bool, shortfall_kwh: float = 0.0, cause: str = "") -> dbc.Badge:
    """On track / at risk (from the forecast of the live state) in words and an icon, never colour alone."""
    if not plugged:
        return dbc.Badge("– away", color="secondary", className="status-badge")
    if at_risk:
        why = risk_text(shortfall_kwh, cause)
        return dbc.Badge(f"✖ at risk: {why}" if why else "✖ at risk", color="danger", className="status-badge at-risk")
    return dbc.Badge("✔ on track", color="success", className="status-badge on-track")


def departure_result(met: bool, short_kwh: float | None) -> str:
    """How a vehicle left, in words and an icon: "✔ met", "✖ short −3.2 kWh"."""
    if met:
        return "✔ met"
    return "✖ short (SoC unknown)" if short_kwh is None else f"✖ short −{short_kwh:.1f} kWh"


def departures_table(rows, timezone: str, table_id: str):
    """A vehicle's recent departures: when it left (and was planned to), target, SoC, met or short and why."""
    from zoneinfo import ZoneInfo

    if not rows:
        return html.P("No departures recorded yet.", className="text-muted", id=table_id)
    tz = ZoneInfo(timezone)

    def when(at):
        return at.astimezone(tz).strftime("%a %d %b %H:%M") if at else "—"

    head = html.Thead(html.Tr([html.Th(h) for h in ("Left", "Planned", "Target", "SoC at departure", "Result", "Why")]))
    body = html.Tbody([
        html.Tr(
            [
                html.Td(when(r.departed_at)),
                html.Td(when(r.planned_departure_at)),
                html.Td(fmt.soc(r.target_soc)),
                html.Td(fmt.soc(r.soc_at_departure)),
                html.Td(departure_result(r.met, r.short_kwh)),
                html.Td(r.reason or "—"),
            ],
            className="" if r.met else "table-warning",
        )
        for r in rows
    ])
    return dbc.Table([head, body], id=table_id, size="sm", striped=True)


def power_text(power_kw: float | None) -> str:
    if power_kw is None:
        return "—"
    if power_kw < -0.05:
        return f"↑ discharging {fmt.kw(-power_kw)}"
    if power_kw > 0.05:
        return f"↓ charging {fmt.kw(power_kw)}"
    return "idle 0.0 kW"


def vehicle_rows(states, timezone: str) -> list[dict]:
    """Rows for the vehicles grid (plain values, sortable and filterable)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    rows = []
    for s in states:
        rows.append(
            {
                "vehicle": f"[{s.name}](/vehicles/{s.vehicle_id})",
                "vehicle_id": s.vehicle_id,
                "kind": s.kind,
                "soc_pct": None if s.soc.value is None else round(s.soc.value * 100, 1),
                "floor_pct": round(s.soc_floor * 100),
                "target_pct": round(s.target_soc * 100),
                "plugged": "plugged" if s.plugged else "away",
                "charger": s.charger_id or "—",
                "power": power_text(s.power_kw.value),
                "power_kw": s.power_kw.value,
                "departure": s.departure.astimezone(tz).strftime("%a %H:%M") if s.departure else "—",
                "status": ("at risk" if s.at_risk else "on track") if s.plugged else "away",
                "shortfall_kwh": round(s.shortfall_kwh, 1) if s.at_risk else 0.0,
                "soc_age": age_text(s.soc.age_s) + (" (stale)" if s.soc.stale and s.soc.value is not None else ""),
                "soc_source": s.soc_source,
            }
        )
    return rows


def vehicles_table(states, timezone: str, table_id: str) -> dbc.Table:
    """One row per vehicle: SoC bar with floor and target, plugged or away, power, departure, risk."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    head = html.Thead(html.Tr([html.Th(h) for h in ("Vehicle", "SoC (floor | target)", "Where", "Power now", "Departs", "Status", "SoC age")]))
    body = []
    for s in states:
        body.append(
            html.Tr(
                [
                    html.Td(dcc.Link(s.name, href=f"/vehicles/{s.vehicle_id}")),
                    html.Td(soc_bar(s.soc.value, s.soc_floor, s.target_soc, stale=s.soc.stale)),
                    html.Td(f"plugged · {s.charger_id}" if s.plugged else "away"),
                    html.Td(power_text(s.power_kw.value)),
                    html.Td(s.departure.astimezone(tz).strftime("%a %H:%M") if s.departure else "—"),
                    html.Td(status_badge(s.at_risk, s.plugged, s.shortfall_kwh, s.shortfall_cause)),
                    html.Td(age_text(s.soc.age_s) if s.plugged else "—", className="text-muted small"),
                ],
                id={"type": "vehicle-row", "vehicle": s.vehicle_id},
                className="table-danger" if s.at_risk else "",
            )
        )
    return dbc.Table([head, html.Tbody(body)], id=table_id, hover=True, size="sm", responsive=True, className="align-middle")
