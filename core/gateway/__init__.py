"""The gateway process (`python -m core.gateway`): OCPP central system, outbox sender, site meter, scheduler.

The only package that imports ocpp, websockets or apscheduler (ARCHITECTURE.md). The payloads it
sends are built by `core.charging_profiles` (pure), which the planner uses to fill the outbox;
everything here is started from `core.gateway.__main__` or from tests.
"""
