"""Every component id of the app, in one place, prefixed by where it lives."""

# Shell
SHELL_URL = "shell-url"
SHELL_SITE_NAME = "shell-site-name"
SHELL_LOCAL_TIME = "shell-local-time"
SHELL_CLOCK_TICK = "shell-clock-tick"
NAV_LINK_PREFIX = "nav-"

# Overview
OVERVIEW_TITLE = "overview-title"
OVERVIEW_LIMITS = "overview-limits"
OVERVIEW_FLEET_TABLE = "overview-fleet-table"


def nav_link_id(page_name: str) -> str:
    """The id of a page's navbar link, e.g. "nav-overview"."""
    return NAV_LINK_PREFIX + page_name.lower().replace(" ", "-")
