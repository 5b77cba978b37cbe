"""What makes a simulated station behave like a real one, beyond obeying OCPP: the options of the
demo and the soak benchmark. Tests that check exact powers leave them off (the defaults).

- `profile_delay_s`: a new charging profile takes effect this long after it was accepted (real
  stations take 1-10 s: the EV's own controller follows its charger with a lag).
- `ramp_kw_per_s`: power changes at most this fast (0: at once).
- `meter_noise`: reported power is off by up to this fraction (a meter's accuracy class).
- `taper`: the vehicle's charging power falls near full (core.rules.taper, CC/CV).
- `ignores_profile`: the station accepts every profile and then charges at full power anyway (the
  faulty charger the console must notice and the site meter's guard must hold).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Realism:
    profile_delay_s: float = 0.0
    ramp_kw_per_s: float = 0.0
    meter_noise: float = 0.0
    taper: bool = False
    ignores_profile: bool = False


# Stations that follow every profile at once and exactly (the tests' default).
IDEAL = Realism()
# What `python -m core.simulator` uses unless told otherwise.
DEMO_REALISM = Realism(profile_delay_s=3.0, ramp_kw_per_s=20.0, meter_noise=0.005, taper=True)
