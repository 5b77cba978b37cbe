"""Live dispatch: build the dispatch problem from the database, plan, store, fill the outbox.

Stateless per cycle (like evcc's control loop): every run re-reads the state the database holds,
plans the next 24 hours in 15-minute steps with `core.dispatch`, stores the run and its setpoints,
and writes one charging-profile command for each charger whose plan changed. The gateway's
scheduler calls `run_dispatch` every minute and at once when `replan_wanted` says so. The LP is
solved with no database session open (see `core.planning.run`).

- `state`: the live state (plugs, SoC and its age, departures and overrides in force, V2G windows).
- `forecast`: load / PV forecast, prices, grid signals, the tariff and the month's demand peak.
- `problem`: `build_problem` -> `Problem` (the `v2g-scenario/1` document and its `PlannedVehicle`s).
- `schedules`: setpoint schedules: compress, read at an instant, changed enough to send.
- `store`: the run, its setpoints, the outbox commands and the audit links, in the caller's transaction.
- `run`: `run_dispatch`, `request_replan`, `replan_wanted`.
- `preview`: `preview_change`, what a change would do to the plan, kept nowhere.
"""

from core.planning.forecast import FORECAST_WEEKS, MonthPeak, load_pv_forecast, month_peak, price_forecast
from core.planning.preview import PlanPreview, Preview, preview_change
from core.planning.problem import PlannedVehicle, Problem, build_problem
from core.planning.run import replan_wanted, request_replan, run_dispatch
from core.planning.schedules import CHANGE_THRESHOLD_KW, compress, plan_changed, schedule_power_at
from core.planning.store import KEEP_SETPOINTS, RESEND_STATUSES
from core.rules.steps import HORIZON_STEPS, STEP_MINUTES

__all__ = [
    "CHANGE_THRESHOLD_KW",
    "FORECAST_WEEKS",
    "HORIZON_STEPS",
    "KEEP_SETPOINTS",
    "RESEND_STATUSES",
    "STEP_MINUTES",
    "MonthPeak",
    "PlanPreview",
    "PlannedVehicle",
    "Preview",
    "Problem",
    "build_problem",
    "compress",
    "load_pv_forecast",
    "month_peak",
    "plan_changed",
    "preview_change",
    "price_forecast",
    "replan_wanted",
    "request_replan",
    "run_dispatch",
    "schedule_power_at",
]
