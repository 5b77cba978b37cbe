"""The site-limit guard: what to do, on a single meter reading, when the site nears its connection limit.

Plans keep the import and export limits on 15-minute steps; a fuse trips on a reading. So on every
site reading the gateway checks net import against the limit minus a headroom, and where it is over,
lowers the largest contributors at once, without waiting for the next plan:
- import over the guard line: the chargers charging hardest are cut, largest first, down to 0 if need be;
- export over the guard line: the chargers discharging hardest discharge less, largest first, down to 0.
Pure: readings and limits in, new power caps out.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADROOM_FRACTION = 0.02  # act this far below the limit, so a reading over the limit itself is rare
MIN_HEADROOM_KW = 1.0


def headroom_kw(limit_kw: float) -> float:
    """How far below a limit the guard acts."""
    return max(MIN_HEADROOM_KW, HEADROOM_FRACTION * limit_kw)


@dataclass(frozen=True)
class GuardDecision:
    """What one reading calls for. `direction` is "import" or "export" (None: nothing to do);
    `over_line_kw` how far the reading is beyond the guard line, `over_limit_kw` beyond the limit
    itself (<= 0 when the limit held); `caps_kw` the new power of each charger to lower (signed: + charge)."""

    direction: str | None
    over_line_kw: float
    over_limit_kw: float
    caps_kw: dict[str, float]


def guard_decision(
    net_import_kw: float, *, import_limit_kw: float, export_limit_kw: float, charger_powers_kw: dict[str, float]
) -> GuardDecision:
    """The guard's answer to one site reading (see the module docstring)."""
    over_import = net_import_kw - import_limit_kw
    over_export = -net_import_kw - export_limit_kw
    if over_import + headroom_kw(import_limit_kw) > 0:
        direction, over_limit, sign = "import", over_import, 1.0
        over_line = over_import + headroom_kw(import_limit_kw)
    elif over_export + headroom_kw(export_limit_kw) > 0:
        direction, over_limit, sign = "export", over_export, -1.0
        over_line = over_export + headroom_kw(export_limit_kw)
    else:
        return GuardDecision(None, 0.0, max(over_import, over_export), {})
    # Import: charging (sign +) adds to it; export: discharging (sign -) adds to it.
    contributors = sorted(
        ((cid, sign * kw) for cid, kw in charger_powers_kw.items() if sign * kw > 0), key=lambda c: -c[1]
    )
    caps, left = {}, over_line
    for charger_id, contribution_kw in contributors:
        if left <= 0:
            break
        cut = min(contribution_kw, left)
        caps[charger_id] = round(sign * (contribution_kw - cut), 3)
        left -= cut
    return GuardDecision(direction, over_line, over_limit, caps)
