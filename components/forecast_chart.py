"""Forecast against actual: building load and PV, the forecast as a dashed line over the measured one."""

from __future__ import annotations

from components.charts import COLOURS, _line, _times, _two_strips, _values


def forecast_actual_figure(frame, *, timezone: str, now_local=None, uirevision: str = "plan-forecast") -> dict:
    """Two strips on one time axis: building load (top) and PV (bottom), each forecast (dashed) and
    measured (solid). `frame`: time (UTC), load_forecast_kw, load_actual_kw, pv_forecast_kw, pv_actual_kw."""
    traces = []
    if len(frame):
        x = _times(frame["time"], timezone)
        traces += [
            _line(x, _values(frame["load_forecast_kw"]), "Building load (forecast)", COLOURS["building"], dash="dash"),
            _line(x, _values(frame["load_actual_kw"]), "Building load (measured)", COLOURS["net"]),
            _line(x, _values(frame["pv_forecast_kw"]), "PV (forecast)", COLOURS["pv"], yaxis="y2", dash="dash"),
            _line(x, _values(frame["pv_actual_kw"]), "PV (measured)", "#b35c00", yaxis="y2"),
        ]
    layout = _two_strips("Building kW", "PV kW", 0.5, uirevision=uirevision, height=440)
    if now_local is not None:
        x_now = now_local.strftime("%Y-%m-%dT%H:%M:%S")
        layout["shapes"].append({"type": "line", "xref": "x", "x0": x_now, "x1": x_now, "yref": "paper", "y0": 0,
                                 "y1": 1, "line": {"color": "#adb5bd", "width": 1}})  # fmt: skip
        layout["annotations"].append(
            {"xref": "x", "x": x_now, "yref": "paper", "y": 1, "text": "now", "showarrow": False}
        )
    return {"data": traces, "layout": layout}
