"""The site's own meters: net import at the grid connection, building load and PV.

- config.py: add / edit / remove / list (validated, audited, admins only): the command line and the
  Meters admin page call it.
- spec.py, sunspec.py, derive.py: pure: what a configuration may say, the SunSpec layout, the
  balance that derives what a meter does not give.
- modbus_reader.py (pymodbus: SunSpec discovery or a register map), mqtt_reader.py (aiomqtt), and
  the OCPP main meter (connector / EVSE 0, fed by the gateway's MeterValues handlers).
- runner.py: the gateway's task that reads them all; the gateway's site meter turns its readings
  into site samples.
- status.py: whether a site's meter is stale (the planner's worst case, the overview's warning).
- try_sunspec_server.py: a SunSpec meter + inverter simulator for a try-out.

The readers are imported only by the gateway (they need pymodbus / aiomqtt); this package's
`__init__` re-exports the configuration service and the status.
"""

from core.db import run_in_transaction
from core.meters.config import add_meter, edit_meter, get_meter, list_meters, meter_dict, remove_meter
from core.meters.status import NOT_CONFIGURED, SiteMeterStatus, meter_rows, site_meter_status

__all__ = [
    "add_meter",
    "edit_meter",
    "get_meter",
    "list_meters",
    "meter_dict",
    "meter_rows",
    "run_in_transaction",
    "remove_meter",
    "NOT_CONFIGURED",
    "SiteMeterStatus",
    "site_meter_status",
]
