"""Figures as plain functions of data (pandas frames in UTC; shown in the site's time zone)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLOURS = {
    "building": "#6c757d",
    "pv": "#f0ad00",
    "ev_charge": "#0d6efd",
    "ev_discharge": "#20c997",
    "net": "#212529",
    "limit": "#dc3545",
    "import_price": "#6f42c1",
    "export_price": "#198754",
}


def _local(series, timezone: str):
    return series.dt.tz_convert(timezone)


def site_power_figure(history, plan, prices, *, import_limit_kw: float, timezone: str, currency: str,
                      now_local=None, uirevision: str = "site-power", dark: bool = False) -> go.Figure:
    """Last 24 h of site power (stacked), the plan's next 24 h drawn dotted, the limit as a line,
    and prices on a second strip.

    `history`: time, building_load_kw, pv_kw, ev_charge_kw, ev_discharge_kw, net_import_kw.
    `plan`: time, ev_kw, net_import_kw, building_load_kw, pv_kw (may be empty).
    `prices`: time, import_price, export_price, assumed (bool).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    if len(history):
        t = _local(history["time"], timezone)
        stacks = [
            ("Building", history["building_load_kw"], COLOURS["building"]),
            ("EV charging", history["ev_charge_kw"], COLOURS["ev_charge"]),
        ]
        for name, values, colour in stacks:
            fig.add_trace(go.Scatter(x=t, y=values, name=name, stackgroup="load", line={"width": 0.5, "color": colour}), 1, 1)
        for name, values, colour in (("PV", history["pv_kw"], COLOURS["pv"]), ("EV discharging", history["ev_discharge_kw"], COLOURS["ev_discharge"])):
            fig.add_trace(go.Scatter(x=t, y=-values, name=f"{name} (supply)", stackgroup="supply", line={"width": 0.5, "color": colour}), 1, 1)
        fig.add_trace(go.Scatter(x=t, y=history["net_import_kw"], name="Net import", line={"color": COLOURS["net"] if not dark else "#ffffff", "width": 2}), 1, 1)
    if len(plan):
        t = _local(plan["time"], timezone)
        fig.add_trace(go.Scatter(x=t, y=plan["net_import_kw"], name="Net import (plan)", line={"color": COLOURS["net"] if not dark else "#ffffff", "width": 2, "dash": "dot"}), 1, 1)
        fig.add_trace(go.Scatter(x=t, y=plan["ev_kw"], name="EV power (plan)", line={"color": COLOURS["ev_charge"], "width": 2, "dash": "dot"}), 1, 1)
    fig.add_hline(y=import_limit_kw, line={"color": COLOURS["limit"], "dash": "dash"}, annotation_text=f"import limit {import_limit_kw:.0f} kW", row=1, col=1)
    if now_local is not None:
        fig.add_vline(x=now_local, line={"color": "#adb5bd", "width": 1})
    if len(prices):
        t = _local(prices["time"], timezone)
        fig.add_trace(go.Scatter(x=t, y=prices["import_price"], name=f"Import price ({currency}/kWh)", line={"shape": "hv", "color": COLOURS["import_price"]}), 2, 1)
        fig.add_trace(go.Scatter(x=t, y=prices["export_price"], name=f"Export price ({currency}/kWh)", line={"shape": "hv", "color": COLOURS["export_price"]}), 2, 1)
    fig.update_yaxes(title_text="kW", row=1, col=1)
    fig.update_yaxes(title_text=f"{currency}/kWh", row=2, col=1)
    fig.update_layout(
        uirevision=uirevision,
        margin={"l": 50, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.12},
        hovermode="x unified",
        template="plotly_dark" if dark else "plotly_white",
        height=520,
    )
    return fig


def vehicle_soc_figure(history, plan, *, soc_floor: float, target_soc: float, timezone: str, uirevision: str) -> go.Figure:
    """A vehicle's SoC (%) over the last 24 h and planned next 24 h, with floor and target, and its power."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    if len(history):
        t = _local(history["time"], timezone)
        fig.add_trace(go.Scatter(x=t, y=history["soc"] * 100, name="SoC (measured)", line={"color": "#0d6efd"}), 1, 1)
        fig.add_trace(go.Scatter(x=t, y=history["power_kw"], name="Power (measured)", line={"shape": "hv", "color": "#0d6efd"}), 2, 1)
    if len(plan):
        t = _local(plan["start"], timezone)
        fig.add_trace(go.Scatter(x=t, y=plan["soc_end"] * 100, name="SoC (plan)", line={"dash": "dot", "color": "#6f42c1"}), 1, 1)
        fig.add_trace(go.Scatter(x=t, y=plan["power_kw"], name="Power (plan)", line={"shape": "hv", "dash": "dot", "color": "#6f42c1"}), 2, 1)
    fig.add_hline(y=soc_floor * 100, line={"color": "#dc3545", "dash": "dash"}, annotation_text=f"floor {soc_floor:.0%}", row=1, col=1)
    fig.add_hline(y=target_soc * 100, line={"color": "#198754", "dash": "dash"}, annotation_text=f"target {target_soc:.0%}", row=1, col=1)
    fig.update_yaxes(title_text="SoC %", range=[0, 100], row=1, col=1)
    fig.update_yaxes(title_text="kW", row=2, col=1)
    fig.update_layout(uirevision=uirevision, margin={"l": 50, "r": 10, "t": 10, "b": 30}, template="plotly_white", height=460,
                      legend={"orientation": "h", "y": -0.15})
    return fig


def plan_heatmap(frame, *, timezone: str, uirevision: str = "plan") -> go.Figure:
    """Charge (+) and discharge (−) per vehicle and step, one row per vehicle."""
    fig = go.Figure()
    if len(frame):
        pivot = frame.pivot(index="vehicle_id", columns="start", values="power_kw")
        x = [t.tz_convert(timezone) for t in pivot.columns]
        limit = max(1.0, float(abs(pivot.values).max()))
        fig.add_trace(
            go.Heatmap(
                z=pivot.values, x=x, y=list(pivot.index), zmid=0, zmin=-limit, zmax=limit,
                colorscale=[[0, "#20c997"], [0.5, "#f8f9fa"], [1, "#0d6efd"]],
                colorbar={"title": "kW<br>+ charge<br>− discharge"},
                hovertemplate="%{y} %{x|%H:%M}: %{z:.1f} kW<extra></extra>",
            )
        )
    fig.update_layout(uirevision=uirevision, margin={"l": 80, "r": 10, "t": 10, "b": 30}, template="plotly_white",
                      height=max(300, 22 * frame["vehicle_id"].nunique() + 80 if len(frame) else 300))
    return fig


def grid_timeline_figure(prices, events, *, timezone: str, currency: str, uirevision: str = "grid") -> go.Figure:
    """Prices and grid events on one time axis."""
    fig = go.Figure()
    if len(prices):
        t = _local(prices["time"], timezone)
        fig.add_trace(go.Scatter(x=t, y=prices["import_price"], name=f"Import ({currency}/kWh)", line={"shape": "hv", "color": COLOURS["import_price"]}))
        fig.add_trace(go.Scatter(x=t, y=prices["export_price"], name=f"Export ({currency}/kWh)", line={"shape": "hv", "color": COLOURS["export_price"]}))
    for e in events:
        colour = "rgba(220,53,69,0.15)" if e["kind"] == "import_cap" else "rgba(32,201,151,0.2)"
        label = f"import cap {e['kw']:.0f} kW" if e["kind"] == "import_cap" else f"export request {e['kw']:.0f} kW"
        fig.add_vrect(x0=e["start"].astimezone(_tz(timezone)), x1=e["end"].astimezone(_tz(timezone)), fillcolor=colour, line_width=0,
                      annotation_text=label, annotation_position="top left")
    fig.update_layout(uirevision=uirevision, margin={"l": 50, "r": 10, "t": 20, "b": 30}, template="plotly_white", height=380,
                      yaxis_title=f"{currency}/kWh", legend={"orientation": "h", "y": -0.15})
    return fig


def _tz(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
