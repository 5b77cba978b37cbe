"""Figures as plain functions of data (pandas frames in UTC; shown in the site's time zone).

The live figures are built as plain plotly figure dicts: plotly's validating `go.Figure` took most of
a live update's server time, and Dash sends the same JSON either way.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

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


def _times(series, timezone: str) -> list[str]:
    """ISO local times (with offset) for the x axis."""
    return list(series.dt.tz_convert(timezone).dt.strftime("%Y-%m-%dT%H:%M:%S"))


def _values(series, scale: float = 1.0) -> list:
    return [None if v != v else round(float(v) * scale, 3) for v in series]  # NaN -> gap


def _line(x, y, name, colour, *, yaxis="y", dash=None, shape=None, width=2, stack=None):
    trace = {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "yaxis": yaxis,
             "line": {"color": colour, "width": width}}
    if dash:
        trace["line"]["dash"] = dash
    if shape:
        trace["line"]["shape"] = shape
    if stack:
        trace["stackgroup"] = stack
    return trace


def _two_strips(top_title: str, bottom_title: str, top_share: float, *, uirevision: str, height: int, dark: bool = False) -> dict:
    split = 1 - top_share
    return {
        "uirevision": uirevision,
        "height": height,
        "margin": {"l": 55, "r": 10, "t": 10, "b": 30},
        "legend": {"orientation": "h", "y": -0.12},
        "hovermode": "x unified",
        "template": {"layout": {"paper_bgcolor": "#000" if dark else "#fff", "plot_bgcolor": "#000" if dark else "#fff",
                                "font": {"color": "#fff" if dark else "#212529"}}},
        "xaxis": {"anchor": "y2", "domain": [0, 1], "gridcolor": "#e9ecef"},
        "yaxis": {"domain": [split + 0.04, 1], "title": {"text": top_title}, "gridcolor": "#e9ecef"},
        "yaxis2": {"domain": [0, split - 0.02], "title": {"text": bottom_title}, "gridcolor": "#e9ecef"},
        "shapes": [],
        "annotations": [],
    }


def _hline(layout: dict, y: float, colour: str, text: str, yref: str = "y") -> None:
    layout["shapes"].append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": yref, "y0": y, "y1": y,
                             "line": {"color": colour, "dash": "dash", "width": 1.5}})
    layout["annotations"].append({"xref": "paper", "x": 0, "xanchor": "left", "yref": yref, "y": y, "yanchor": "bottom",
                                  "text": text, "showarrow": False, "font": {"color": colour}})


def site_power_figure(history, plan, prices, *, import_limit_kw: float, timezone: str, currency: str,
                      now_local=None, uirevision: str = "site-power", dark: bool = False) -> dict:
    """Last 24 h of site power (stacked), the plan's next 24 h drawn dotted, the limit as a line,
    and prices on a second strip.

    `history`: time, building_load_kw, pv_kw, ev_charge_kw, ev_discharge_kw, net_import_kw.
    `plan`: time, ev_kw, net_import_kw (may be empty). `prices`: time, import_price, export_price.
    """
    net_colour = "#ffffff" if dark else COLOURS["net"]
    traces = []
    if len(history):
        x = _times(history["time"], timezone)
        traces += [
            _line(x, _values(history["building_load_kw"]), "Building", COLOURS["building"], stack="load", width=0.5),
            _line(x, _values(history["ev_charge_kw"]), "EV charging", COLOURS["ev_charge"], stack="load", width=0.5),
            _line(x, _values(history["pv_kw"], -1), "PV (supply)", COLOURS["pv"], stack="supply", width=0.5),
            _line(x, _values(history["ev_discharge_kw"], -1), "EV discharging (supply)", COLOURS["ev_discharge"], stack="supply", width=0.5),
            _line(x, _values(history["net_import_kw"]), "Net import", net_colour),
        ]
    if len(plan):
        x = _times(plan["time"], timezone)
        traces += [
            _line(x, _values(plan["net_import_kw"]), "Net import (plan)", net_colour, dash="dot"),
            _line(x, _values(plan["ev_kw"]), "EV power (plan)", COLOURS["ev_charge"], dash="dot"),
        ]
    if len(prices):
        x = _times(prices["time"], timezone)
        traces += [
            _line(x, _values(prices["import_price"]), f"Import price ({currency}/kWh)", COLOURS["import_price"], yaxis="y2", shape="hv"),
            _line(x, _values(prices["export_price"]), f"Export price ({currency}/kWh)", COLOURS["export_price"], yaxis="y2", shape="hv"),
        ]
    layout = _two_strips("kW", f"{currency}/kWh", 0.72, uirevision=uirevision, height=520, dark=dark)
    _hline(layout, import_limit_kw, COLOURS["limit"], f"import limit {import_limit_kw:.0f} kW")
    if now_local is not None:
        x_now = now_local.strftime("%Y-%m-%dT%H:%M:%S")
        layout["shapes"].append({"type": "line", "xref": "x", "x0": x_now, "x1": x_now, "yref": "paper", "y0": 0, "y1": 1,
                                 "line": {"color": "#adb5bd", "width": 1}})
        layout["annotations"].append({"xref": "x", "x": x_now, "yref": "paper", "y": 1, "text": "now", "showarrow": False})
    return {"data": traces, "layout": layout}


def vehicle_soc_figure(history, plan, *, soc_floor: float, target_soc: float, timezone: str, uirevision: str) -> dict:
    """A vehicle's SoC (%) over the last 24 h and planned next 24 h, with floor and target, and its power."""
    traces = []
    if len(history):
        x = _times(history["time"], timezone)
        traces += [
            _line(x, _values(history["soc"], 100), "SoC (measured)", "#0d6efd"),
            _line(x, _values(history["power_kw"]), "Power (measured)", "#0d6efd", yaxis="y2", shape="hv"),
        ]
    if len(plan):
        x = _times(plan["start"], timezone)
        traces += [
            _line(x, _values(plan["soc_end"], 100), "SoC (plan)", "#6f42c1", dash="dot"),
            _line(x, _values(plan["power_kw"]), "Power (plan)", "#6f42c1", yaxis="y2", dash="dot", shape="hv"),
        ]
    layout = _two_strips("SoC %", "kW", 0.6, uirevision=uirevision, height=460)
    layout["yaxis"]["range"] = [0, 100]
    _hline(layout, soc_floor * 100, "#dc3545", f"floor {soc_floor:.0%}")
    _hline(layout, target_soc * 100, "#198754", f"target {target_soc:.0%}")
    return {"data": traces, "layout": layout}


def plan_heatmap(frame, *, timezone: str, uirevision: str = "plan") -> dict:
    """Charge (+) and discharge (−) per vehicle and step, one row per vehicle."""
    traces = []
    rows = frame["vehicle_id"].nunique() if len(frame) else 0
    if len(frame):
        pivot = frame.pivot(index="vehicle_id", columns="start", values="power_kw")
        x = [t.tz_convert(timezone).strftime("%Y-%m-%dT%H:%M:%S") for t in pivot.columns]
        limit = max(1.0, float(abs(pivot.values).max()))
        traces.append({
            "type": "heatmap", "z": pivot.values.round(2).tolist(), "x": x, "y": list(pivot.index), "zmid": 0,
            "zmin": -limit, "zmax": limit, "colorscale": [[0, "#20c997"], [0.5, "#f8f9fa"], [1, "#0d6efd"]],
            "colorbar": {"title": {"text": "kW<br>+ charge<br>− discharge"}},
            "hovertemplate": "%{y} %{x|%H:%M}: %{z:.1f} kW<extra></extra>",
        })
    layout = {"uirevision": uirevision, "margin": {"l": 80, "r": 10, "t": 10, "b": 30}, "height": max(300, 22 * rows + 80)}
    return {"data": traces, "layout": layout}


def grid_timeline_figure(prices, events, *, timezone: str, currency: str, uirevision: str = "grid") -> dict:
    """Prices and grid events (shaded, labelled) on one time axis."""
    traces = []
    if len(prices):
        x = _times(prices["time"], timezone)
        traces += [
            _line(x, _values(prices["import_price"]), f"Import ({currency}/kWh)", COLOURS["import_price"], shape="hv"),
            _line(x, _values(prices["export_price"]), f"Export ({currency}/kWh)", COLOURS["export_price"], shape="hv"),
        ]
    tz = ZoneInfo(timezone)
    shapes, annotations = [], []
    for e in events:
        x0 = e["start"].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")
        x1 = e["end"].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")
        cap = e["kind"] == "import_cap"
        shapes.append({"type": "rect", "xref": "x", "x0": x0, "x1": x1, "yref": "paper", "y0": 0, "y1": 1, "line": {"width": 0},
                       "fillcolor": "rgba(220,53,69,0.15)" if cap else "rgba(32,201,151,0.2)"})
        annotations.append({"xref": "x", "x": x0, "yref": "paper", "y": 1, "xanchor": "left", "showarrow": False,
                            "text": f"{'import cap' if cap else 'export request'} {e['kw']:.0f} kW"})
    layout = {"uirevision": uirevision, "margin": {"l": 55, "r": 10, "t": 20, "b": 30}, "height": 380,
              "yaxis": {"title": {"text": f"{currency}/kWh"}}, "legend": {"orientation": "h", "y": -0.15},
              "shapes": shapes, "annotations": annotations}
    return {"data": traces, "layout": layout}
