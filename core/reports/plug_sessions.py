"""The sessions report (`sessions`): one row per plug-in.

From the charger's meter readings averaged per 15 minutes: charged and discharged kWh, their cost at
the import price and revenue at the export price, degradation cost = discharged kWh x the site's
degradation cost per kWh. The floor column counts minutes of discharging below the vehicle's SoC
floor (it should be 0).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pandas as pd

from core import signals
from core.clock import now
from core.reports.context import Context, price_lookup, session_rows, session_samples
from core.rules.discharge import effective_soc_floor
from core.rules.steps import HOURS_PER_STEP, STEP, floor_step


def sessions(ctx: Context) -> pd.DataFrame:
    """One row per plug-in that started in the range: energy, SoC, target met, money."""
    c = ctx.cur
    prices: dict[datetime, signals.PriceStep] = {}
    rows = []
    for plug, vehicle, _charger in session_rows(ctx):
        samples = session_samples(ctx, plug)
        buckets: dict[datetime, list[float]] = defaultdict(list)
        for s in samples:
            if s.power_kw is not None:
                buckets[floor_step(s.time)].append(s.power_kw)
        missing = [t for t in buckets if t not in prices]
        if missing:
            prices.update(price_lookup(ctx, min(missing), int((max(missing) - min(missing)) / STEP) + 1))
        charged = discharged = cost = revenue = 0.0
        for t, powers in buckets.items():
            charge_kwh = sum(max(0.0, p) for p in powers) / len(powers) * HOURS_PER_STEP
            discharge_kwh = sum(max(0.0, -p) for p in powers) / len(powers) * HOURS_PER_STEP
            charged += charge_kwh
            discharged += discharge_kwh
            cost += charge_kwh * prices[t].import_price_per_kwh
            revenue += discharge_kwh * prices[t].export_price_per_kwh
        socs = [s for s in samples if s.soc is not None]
        soc_start = plug.soc_start if plug.soc_start is not None else (socs[0].soc if socs else None)
        soc_end = plug.soc_end if plug.soc_end is not None else (socs[-1].soc if socs else None)
        target = vehicle.target_soc if vehicle else None
        met, shortfall = "", None
        if plug.ended_at is not None and target is not None and soc_end is not None:
            short = max(0.0, target - soc_end)
            met = "yes" if short < 0.005 else "no"
            shortfall = round(short * vehicle.battery_kwh, 3) if met == "no" else 0.0
        below = 0.0
        if vehicle is not None:
            floor = effective_soc_floor(vehicle, ctx.site)
            end = plug.ended_at or now()
            for k, s in enumerate(samples):
                if s.soc is not None and s.soc < floor - 1e-9 and (s.power_kw or 0.0) < 0:
                    following = samples[k + 1].time if k + 1 < len(samples) else end
                    below += (following - s.time).total_seconds() / 60
        rows.append(
            {
                "session_id": plug.id,
                "vehicle": vehicle.name if vehicle else "",
                "vehicle_id": plug.vehicle_id or "",
                "charger_id": plug.charger_id,
                "arrival": ctx.iso(plug.started_at),
                "departure": ctx.iso(plug.ended_at),
                "energy_charged_kwh": round(charged, 3),
                "energy_discharged_kwh": round(discharged, 3),
                "soc_arrival_pct": None if soc_start is None else round(soc_start * 100, 1),
                "soc_departure_pct": None if soc_end is None else round(soc_end * 100, 1),
                "target_soc_pct": None if target is None else round(target * 100, 1),
                "target_met": met,
                "shortfall_kwh": shortfall,
                "minutes_discharging_below_floor": round(below, 1),
                f"energy_cost_{c}": round(cost, 4),
                f"v2g_revenue_{c}": round(revenue, 4),
                f"degradation_cost_{c}": round(discharged * ctx.site.degradation_cost_per_kwh, 4),
            }
        )
    columns = [
        "session_id", "vehicle", "vehicle_id", "charger_id", "arrival", "departure", "energy_charged_kwh",
        "energy_discharged_kwh", "soc_arrival_pct", "soc_departure_pct", "target_soc_pct", "target_met",
        "shortfall_kwh", "minutes_discharging_below_floor", f"energy_cost_{c}", f"v2g_revenue_{c}",
        f"degradation_cost_{c}",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
