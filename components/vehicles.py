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


def status_badge(at_risk: bool, plugged: bool, shortfall_kwh: float = 0.0, cause: str = "") -> dbc.Badge:
    """On track / at risk in words and an icon, never colour alone."""
    if not plugged:
        return dbc.Badge("– away", color="secondary", className="status-badge")
    if at_risk:
        why = f", {cause}" if cause else ""
        return dbc.Badge(f"✖ at risk: −{shortfall_kwh:.1f} kWh{why}", color="danger", className="status-badge at-risk")
    return dbc.Badge("✔ on track", color="success", className="status-badge on-track")


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
