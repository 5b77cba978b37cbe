"""Every component id of the app, in one place, prefixed by where it lives."""

# Shell
SHELL_URL = "shell-url"
SHELL_SITE_NAME = "shell-site-name"
SHELL_LOCAL_TIME = "shell-local-time"
SHELL_CLOCK_TICK = "shell-clock-tick"
SHELL_NAVBAR = "shell-navbar"
SHELL_CONTAINER = "shell-container"
NAV_LINK_PREFIX = "nav-"

# Overview
OVERVIEW_TITLE = "overview-title"
OVERVIEW_LIMITS = "overview-limits"
OVERVIEW_FLEET_TABLE = "overview-fleet-table"


def nav_link_id(page_name: str) -> str:
    """The id of a page's navbar link, e.g. "nav-overview"."""
    return NAV_LINK_PREFIX + page_name.lower().replace(" ", "-")
OVERVIEW_INTERVAL = "overview-interval"
OVERVIEW_TICK = "overview-tick"
OVERVIEW_KPIS = "overview-kpis"
OVERVIEW_NET_IMPORT = "overview-net-import"
OVERVIEW_AT_RISK = "overview-at-risk"
OVERVIEW_DEPARTED = "overview-departed"
OVERVIEW_GRAPH = "overview-site-graph"
OVERVIEW_COST = "overview-cost"
OVERVIEW_COST_INTERVAL = "overview-cost-interval"
OVERVIEW_COST_TICK = "overview-cost-tick"
OVERVIEW_SITE_METER_NOTE = "overview-site-meter-note"

# Vehicles
VEHICLES_INTERVAL = "vehicles-interval"
VEHICLES_TICK = "vehicles-tick"
VEHICLES_TABLE = "vehicles-table"
VEHICLES_BODY = "vehicles-body"
VEHICLES_FILTER = "vehicles-filter"
VEHICLES_SORT = "vehicles-sort"
VEHICLES_PAGE = "vehicles-page"
VEHICLE_DETAIL_TITLE = "vehicle-detail-title"
VEHICLE_DETAIL_GRAPH = "vehicle-detail-graph"
VEHICLE_DETAIL_INFO = "vehicle-detail-info"
VEHICLE_DETAIL_SESSIONS = "vehicle-detail-sessions"
VEHICLE_DETAIL_DEPARTURES = "vehicle-detail-departures"
VEHICLE_DETAIL_INTERVAL = "vehicle-detail-interval"
VEHICLE_DETAIL_TICK = "vehicle-detail-tick"
VEHICLE_DETAIL_ID = "vehicle-detail-id"

# Chargers
CHARGERS_INTERVAL = "chargers-interval"
CHARGERS_TICK = "chargers-tick"
CHARGERS_BODY = "chargers-body"
CHARGERS_TABLE = "chargers-table"
CHARGERS_PAGE = "chargers-page"

# Plan
PLAN_INTERVAL = "plan-interval"
PLAN_TICK = "plan-tick"
PLAN_BODY = "plan-body"
PLAN_HEATMAP = "plan-heatmap"
PLAN_SHORTFALLS = "plan-shortfalls"
PLAN_META = "plan-meta"
PLAN_RUN = "plan-run"
PLAN_FORECAST_FIGURE = "plan-forecast-figure"
PLAN_FORECAST_NOTE = "plan-forecast-note"

# Wall display
WALL_INTERVAL = "wall-interval"
WALL_TICK = "wall-tick"
WALL_BODY = "wall-body"
WALL_CLOCK = "wall-clock"
WALL_STALE = "wall-stale"
WALL_LAST_OK = "wall-last-ok"
WALL_NET_IMPORT = "wall-net-import"
WALL_AT_RISK = "wall-at-risk"

# Grid
GRID_FIGURE = "grid-figure"
GRID_INTERVAL = "grid-interval"
GRID_TICK = "grid-tick"
GRID_DR_OPT_IN = "grid-dr-opt-in"
GRID_DR_MESSAGE = "grid-dr-message"
GRID_EVENTS_TABLE = "grid-events-table"
GRID_LIMITS_TABLE = "grid-limits-table"
GRID_TARIFF = "grid-tariff"
GRID_PRICE_FEED = "grid-price-feed"
GRID_UPLOAD = "grid-upload"
GRID_UPLOAD_KIND = "grid-upload-kind"
GRID_UPLOAD_TIMEZONE = "grid-upload-timezone"
GRID_UPLOAD_PREVIEW = "grid-upload-preview"
GRID_UPLOAD_SAVE = "grid-upload-save"
GRID_UPLOAD_MESSAGE = "grid-upload-message"
GRID_FORM_KIND = "grid-form-kind"
GRID_FORM_START = "grid-form-start"
GRID_FORM_END = "grid-form-end"
GRID_FORM_KW = "grid-form-kw"
GRID_FORM_REWARD = "grid-form-reward"
GRID_FORM_ADD = "grid-form-add"
GRID_FORM_MESSAGE = "grid-form-message"

# Reports
REPORTS_NAME = "reports-name"
REPORTS_DATES = "reports-dates"
REPORTS_PREVIEW = "reports-preview"
REPORTS_MESSAGE = "reports-message"
REPORTS_DOWNLOAD_BUTTON = "reports-download-button"
REPORTS_DOWNLOAD = "reports-download"

# Settings
SETTINGS_TITLE = "settings-title"
SETTINGS_ROLE_NOTE = "settings-role-note"
SETTINGS_TICK = "settings-tick"
SETTINGS_FIELD = "settings-field"  # inputs and selects (they have `invalid`)
SETTINGS_FIELD_LIST = "settings-field-list"  # checklists (no `invalid`; their FormFeedback still shows the message)
SETTINGS_FEEDBACK = "settings-feedback"
SETTINGS_PREVIEW_BUTTON = "settings-preview-button"
SETTINGS_SAVE_BUTTON = "settings-save-button"
SETTINGS_PREVIEW = "settings-preview"
SETTINGS_STATUS = "settings-status"
SETTINGS_CONFIRM = "settings-confirm"
SETTINGS_LAST_AUDIT = "settings-last-audit"
SETTINGS_IN_FORCE = "settings-in-force"

# Audit
AUDIT_TITLE = "audit-title"
AUDIT_ACTOR = "audit-actor"
AUDIT_ACTION = "audit-action"
AUDIT_DATES = "audit-dates"
AUDIT_TABLE = "audit-table"
AUDIT_COUNT = "audit-count"
AUDIT_EXPORT = "audit-export"
AUDIT_DOWNLOAD = "audit-download"
