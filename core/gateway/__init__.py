"""The gateway process (`python -m core.gateway`): OCPP central system, outbox sender, site meter, scheduler.

The only package that imports ocpp, websockets or apscheduler (ARCHITECTURE.md). Importing this
package itself imports nothing of them, so that `core.gateway.profiles` (pure) can be used by
`core/planning.py`; everything else here is started from `core.gateway.__main__` or from tests.
"""
