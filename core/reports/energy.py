"""The site energy report (per 15 minutes) and the savings report (per day, against uncontrolled charging).

- Site energy: the site meter's readings averaged per 15-minute interval; energy = mean kW x 0.25 h.
  Net import and export come from the interval's mean net power. Cost = import kWh x import price -
  export kWh x export price, with the price dispatch used (`price_source` says when it was assumed).
- Savings: per day, the actual cost against an uncontrolled counterfactual in which every session
  charges at full power from arrival until it has taken the energy to its target (same building and
  PV), and the highest 15-minute net import both ways.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import pandas as pd

from core.clock import now
from core.reports.context import Context, intervals, session_rows, session_samples
from core.rules.steps import HOURS_PER_STEP, STEP, floor_step


def site_energy(ctx: Context) -> pd.DataFrame:
    """One row per 15-minute interval with readings: energy per flow, prices and cost."""
    c = ctx.cur
    rows = [
        {
            "interval_start": ctx.iso(iv.start),
            "building_load_kwh": round(iv.building_kw * HOURS_PER_STEP, 3),
            "pv_kwh": round(iv.pv_kw * HOURS_PER_STEP, 3),
            "ev_charge_kwh": round(iv.ev_charge_kw * HOURS_PER_STEP, 3),
            "ev_discharge_kwh": round(iv.ev_discharge_kw * HOURS_PER_STEP, 3),
            "net_import_kwh": round(iv.import_kwh, 3),
            "net_export_kwh": round(iv.export_kwh, 3),
            f"import_price_{c}_per_kwh": round(iv.import_price, 5),
            f"export_price_{c}_per_kwh": round(iv.export_price, 5),
            "price_source": iv.price_source,
            f"cost_{c}": round(iv.cost(), 4),
        }
        for iv in intervals(ctx)
    ]
    columns = [
        "interval_start", "building_load_kwh", "pv_kwh", "ev_charge_kwh", "ev_discharge_kwh", "net_import_kwh",
        "net_export_kwh", f"import_price_{c}_per_kwh", f"export_price_{c}_per_kwh", "price_source", f"cost_{c}",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def uncontrolled_ev_kw(ctx: Context) -> dict[datetime, float]:
    """The counterfactual: each session at full power from arrival until its energy to target is in.

    Energy to target = (target SoC - arrival SoC) x battery kWh; full power = the lower of the
    charger's and the vehicle's maximum; the last interval takes only what is left.
    """
    ev: dict[datetime, float] = defaultdict(float)
    for plug, vehicle, charger in session_rows(ctx):
        if vehicle is None:
            continue
        samples = [s for s in session_samples(ctx, plug) if s.soc is not None]
        soc_start = plug.soc_start if plug.soc_start is not None else (samples[0].soc if samples else None)
        if soc_start is None:
            continue
        need = max(0.0, vehicle.target_soc - soc_start) * vehicle.battery_kwh
        full_kw = min(charger.max_charge_kw, vehicle.max_charge_kw)
        end = plug.ended_at or now()
        t = plug.started_at
        while need > 1e-9 and t < end and full_kw > 0:
            step_end = min(floor_step(t) + STEP, end)
            kwh = min(need, full_kw * (step_end - t).total_seconds() / 3600)
            ev[floor_step(t)] += kwh / HOURS_PER_STEP  # as the interval's mean kW
            need -= kwh
            t = step_end
    return ev


def savings(ctx: Context) -> pd.DataFrame:
    """One row per local day: actual and uncontrolled cost, the saving, and both peak imports."""
    c = ctx.cur
    counterfactual = uncontrolled_ev_kw(ctx)
    days: dict[date, dict[str, float]] = {}
    for iv in intervals(ctx):
        day = days.setdefault(iv.start.astimezone(ctx.tz).date(), defaultdict(float))
        uncontrolled_net = iv.net_kw - iv.ev_kw + counterfactual.get(iv.start, 0.0)
        day["actual"] += iv.cost()
        day["uncontrolled"] += iv.cost(uncontrolled_net)
        day["actual_peak"] = max(day["actual_peak"], iv.net_kw)
        day["uncontrolled_peak"] = max(day["uncontrolled_peak"], uncontrolled_net)
    rows = [
        {
            "date": d.isoformat(),
            f"actual_cost_{c}": round(v["actual"], 4),
            f"uncontrolled_cost_{c}": round(v["uncontrolled"], 4),
            f"savings_{c}": round(v["uncontrolled"] - v["actual"], 4),
            "actual_peak_import_kw": round(v["actual_peak"], 3),
            "uncontrolled_peak_import_kw": round(v["uncontrolled_peak"], 3),
        }
        for d, v in sorted(days.items())
    ]
    columns = [
        "date", f"actual_cost_{c}", f"uncontrolled_cost_{c}", f"savings_{c}", "actual_peak_import_kw",
        "uncontrolled_peak_import_kw",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
