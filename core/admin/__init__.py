"""The admin area's services: sites, chargers, vehicles (and their CSV import), recognising unknown
plug-ins, and people. Every change is checked field by field (nothing saved on any error), made by an
admin (or a system actor: the command line, the demo seed) and audited. The pages under /admin and
`python -m core.admin` both call these."""

from core.admin.chargers import add_charger, edit_charger, list_chargers, retire_charger, rotate_password
from core.admin.common import DEMO_ACTOR, require_admin
from core.admin.people import (
    add_user,
    change_own_password,
    create_wall_token,
    list_users,
    list_wall_tokens,
    reset_password,
    revoke_wall_token,
    set_disabled,
    set_role,
)
from core.admin.recognition import UnknownPlugin, assign_vehicle, unknown_plugins
from core.admin.sites import add_site, edit_site, list_sites
from core.admin.vehicle_csv import CSV_COLUMNS, import_vehicles
from core.admin.vehicles import add_vehicle, edit_vehicle, list_vehicles, retire_vehicle, vehicle_for_token

__all__ = [
    "CSV_COLUMNS",
    "DEMO_ACTOR",
    "UnknownPlugin",
    "add_charger",
    "add_site",
    "add_user",
    "add_vehicle",
    "assign_vehicle",
    "change_own_password",
    "create_wall_token",
    "edit_charger",
    "edit_site",
    "edit_vehicle",
    "import_vehicles",
    "list_chargers",
    "list_sites",
    "list_users",
    "list_vehicles",
    "list_wall_tokens",
    "require_admin",
    "reset_password",
    "retire_charger",
    "retire_vehicle",
    "revoke_wall_token",
    "rotate_password",
    "set_disabled",
    "set_role",
    "unknown_plugins",
    "vehicle_for_token",
]
