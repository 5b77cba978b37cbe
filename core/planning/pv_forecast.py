"""PV output ahead from the sky: pvlib's clear-sky irradiance at the site's location turned into AC power
PVWatts-style for the site's peak power (kWp), scaled by how the site's PV did against clear sky lately.

The scale is the measured PV energy of the last RECENT_DAYS days over the clear-sky energy of the same
quarters (daylight only), clipped to [0, MAX_SCALE]: persistent cloud, shading and soiling lower it;
without enough measured daylight it is 1 (clear sky). Panels are taken to face the equator at
TILT_DEG; air at 20 °C, wind 1 m/s. A site without latitude, longitude and kWp gets its PV
forecast from its meter history instead (core.planning.load_forecast).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

from core import models
from core.planning.load_forecast import SiteHistory
from core.rules.steps import STEP, step_times

TILT_DEG = 30.0
DC_AC_RATIO = 1.1  # inverter sized at kWp / 1.1: it clips a bright noon
GAMMA_PDC = -0.004  # power loss per °C of cell temperature above 25 °C
MAX_SCALE = 1.2
# Quarters count as daylight for the scale when clear sky gives at least this share of kWp ...
DAYLIGHT_SHARE = 0.05
# ... and the scale needs this many of them measured (two hours).
MIN_DAYLIGHT_QUARTERS = 8


def has_pv_location(site: models.Site) -> bool:
    """Whether the site has what a clear-sky PV forecast needs: latitude, longitude and kWp."""
    return site.latitude is not None and site.longitude is not None and (site.pv_peak_kwp or 0.0) > 0


def clear_sky_pv_kw(times: list[datetime], *, latitude: float, longitude: float, kwp: float) -> list[float]:
    """Clear-sky AC power (kW) of `kwp` of panels, averaged over the 15-minute step starting at each time."""
    import pandas as pd
    from pandas.errors import Pandas4Warning
    from pvlib import inverter, irradiance, pvsystem, temperature  # pvlib (scipy, h5py) only where used
    from pvlib.location import Location

    if not times:
        return []
    site = Location(latitude, longitude, tz="UTC", altitude=0)
    # Each step's middle stands for the step (the sun moves little in 15 minutes).
    mid = pd.DatetimeIndex([t + STEP / 2 for t in times]).tz_convert("UTC")
    with warnings.catch_warnings():  # pvlib 0.16 still calls pandas' deprecated `dayofyear`
        warnings.simplefilter("ignore", Pandas4Warning)
        sun = site.get_solarposition(mid)
        sky = site.get_clearsky(mid, model="ineichen", solar_position=sun)
    azimuth = 180.0 if latitude >= 0 else 0.0
    poa = irradiance.get_total_irradiance(
        TILT_DEG, azimuth, sun["apparent_zenith"], sun["azimuth"], sky["dni"], sky["ghi"], sky["dhi"]
    )
    params = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    cell_c = temperature.sapm_cell(poa["poa_global"], 20.0, 1.0, **params)
    dc_w = pvsystem.pvwatts_dc(poa["poa_global"], cell_c, pdc0=kwp * 1000, gamma_pdc=GAMMA_PDC)
    ac_w = inverter.pvwatts(dc_w, pdc0=kwp * 1000 / DC_AC_RATIO)
    return [round(max(0.0, float(w)) / 1000, 3) for w in ac_w.fillna(0.0)]


@dataclass(frozen=True)
class PvForecast:
    """Clear-sky PV per step (kW) times `scale`; `measured_quarters` daylight quarters set the scale."""

    kw: list[float]
    clear_sky_kw: list[float]
    scale: float
    measured_quarters: int

    @property
    def source(self) -> str:
        if self.measured_quarters < MIN_DAYLIGHT_QUARTERS:
            return "clear sky (too little measured PV to scale it)"
        return f"clear sky × {self.scale:.2f} (measured)"


def measured_scale(history: SiteHistory, *, latitude: float, longitude: float, kwp: float) -> tuple[float, int]:
    """(measured / clear-sky PV energy over the recent daylight quarters, clipped; quarters counted)."""
    recent = sorted(history.recent().items())
    clear = clear_sky_pv_kw([q for q, _ in recent], latitude=latitude, longitude=longitude, kwp=kwp)
    pairs = [(m["pv_kw"], c) for (_, m), c in zip(recent, clear, strict=True) if c >= DAYLIGHT_SHARE * kwp]
    if len(pairs) < MIN_DAYLIGHT_QUARTERS:
        return 1.0, len(pairs)
    measured, sky = sum(max(0.0, m) for m, _ in pairs), sum(c for _, c in pairs)
    return min(MAX_SCALE, max(0.0, measured / sky)), len(pairs)


def pv_forecast(history: SiteHistory, site: models.Site) -> PvForecast:
    """The site's PV per step over the history's horizon (needs `has_pv_location(site)`)."""
    lat, lon, kwp = site.latitude, site.longitude, site.pv_peak_kwp
    clear = clear_sky_pv_kw(step_times(history.start, history.steps), latitude=lat, longitude=lon, kwp=kwp)
    scale, quarters = measured_scale(history, latitude=lat, longitude=lon, kwp=kwp)
    # Scaled up (a site doing better than the model), it still never beats the inverter's rating.
    ac_kw = kwp / DC_AC_RATIO
    return PvForecast([round(min(ac_kw, c * scale), 3) for c in clear], clear, round(scale, 4), quarters)
