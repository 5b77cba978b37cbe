"""What the pages show: snapshots of the site and its fleet, read from the database.

Pages call these functions and hand the plain results to components; nothing here knows about Dash.
Each entry point opens its own transaction on `engine` (keyword-only; None: the configured database).

- site: SiteInfo, site_info, SiteSnapshot, site_snapshot (the live KPI cards)
- fleet: FleetRow, fleet, fleet_max_charge_kw, VehicleState, vehicle_states
- readings: Reading (a value with its age; stale by core.rules.staleness)
- plans: PlanSummary, latest_plan, plan_frame, plan_site_frame
- history: site_history_frame, vehicle_history_frame (the settled part cached per database)
- chargers: ChargerState, charger_states (and the "ignores its profile" check)
- grid: active_grid_events, price_frame, grid_events
- sessions: vehicle_sessions; money: today_cost_and_savings
- forecast: whether each plugged-in vehicle will leave with its target (VehicleState.at_risk & co.)
- departures: DepartureRow, vehicle_departures (how vehicles left; today's are on SiteSnapshot)
- forecast_actual: forecast_vs_actual (load and PV, forecast against measured, for the Plan page)
"""

from core.sites import NoSiteError, default_site_id
from core.telemetry.chargers import IGNORE_SAMPLES, ChargerState, charger_states
from core.telemetry.departures import DepartureRow, vehicle_departures
from core.telemetry.fleet import FleetRow, VehicleState, fleet, fleet_max_charge_kw, vehicle_states
from core.telemetry.forecast import clear_forecast_cache
from core.telemetry.forecast_actual import clear_forecast_actual_cache, forecast_vs_actual, mean_abs_error_kw
from core.telemetry.grid import active_grid_events, grid_events, price_frame
from core.telemetry.history import SITE_HISTORY_COLUMNS, clear_history_cache, site_history_frame, vehicle_history_frame
from core.telemetry.money import today_cost_and_savings
from core.telemetry.plans import PlanSummary, clear_plan_cache, latest_plan, plan_frame, plan_site_frame
from core.telemetry.readings import Reading
from core.telemetry.sessions import vehicle_sessions
from core.telemetry.site import SiteInfo, SiteSnapshot, site_info, site_snapshot


def clear_caches() -> None:
    """Forget every per-process cache of this package (tests, benchmarks)."""
    clear_history_cache()
    clear_plan_cache()
    clear_forecast_cache()
    clear_forecast_actual_cache()


__all__ = [
    "IGNORE_SAMPLES",
    "SITE_HISTORY_COLUMNS",
    "ChargerState",
    "DepartureRow",
    "FleetRow",
    "NoSiteError",
    "PlanSummary",
    "Reading",
    "SiteInfo",
    "SiteSnapshot",
    "VehicleState",
    "active_grid_events",
    "charger_states",
    "clear_caches",
    "default_site_id",
    "fleet",
    "forecast_vs_actual",
    "fleet_max_charge_kw",
    "grid_events",
    "latest_plan",
    "mean_abs_error_kw",
    "plan_frame",
    "plan_site_frame",
    "price_frame",
    "site_history_frame",
    "site_info",
    "site_snapshot",
    "today_cost_and_savings",
    "vehicle_departures",
    "vehicle_history_frame",
    "vehicle_sessions",
    "vehicle_states",
]
