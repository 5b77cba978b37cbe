"""Building load (and PV without a location) from the site's own meter history.

For each 15-minute step ahead, in this order:
1. "history": the median, over the last HISTORY_WEEKS weeks, of that week's mean at the same
   weekday and local time (a missing week is left out, so gaps in the meter's record do not pull the
   forecast down);
2. "demo profile": in demo mode, the demo week's value at that weekday and time (the demo site's
   typical week stands in where its own history is silent; history wins wherever it has a sample);
3. "same time of day": the median over the last RECENT_DAYS days of the mean at that local time;
4. "mean of history": the mean of every 15-minute mean read above;
5. "no history": 0 kW.

Medians over whole 15-minute means make one odd week or day count for no more than its share.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from core import models
from core.rules.steps import STEP, STEP_MINUTES, floor_step, step_times

HISTORY_WEEKS = 4
RECENT_DAYS = 3
COLUMNS = ("building_load_kw", "pv_kw")
# Sources in the order they are tried; a forecast names the ones it used, in this order.
SOURCES = ("history", "demo profile", "same time of day", "mean of history", "no history")


@dataclass(frozen=True)
class SeriesForecast:
    """A forecast per step (kW) and where each step's value came from (one of SOURCES)."""

    kw: list[float]
    sources: list[str]

    @property
    def source(self) -> str:
        """The sources used, in the order of SOURCES: "history", "history + demo profile", ..."""
        used = set(self.sources)
        return " + ".join(s for s in SOURCES if s in used)


def _key(t: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """(local weekday, 15-minute slot of the local day) of the instant `t`."""
    local = t.astimezone(zone)
    return local.weekday(), (local.hour * 60 + local.minute) // STEP_MINUTES


class SiteHistory:
    """The site's 15-minute mean readings around a forecast's horizon, read once and only when asked."""

    def __init__(self, *, session: Session, site: models.Site, start: datetime, steps: int):
        self.session, self.site, self.start, self.steps = session, site, start, steps
        self.zone = ZoneInfo(site.timezone)
        self._weekly: dict[tuple[int, int], dict[int, dict[str, float]]] | None = None
        self._recent: dict[datetime, dict[str, float]] | None = None

    def _quarter_means(self, since: datetime, until: datetime) -> dict[datetime, dict[str, float]]:
        rows = self.session.exec(
            select(models.SiteSample.time, models.SiteSample.building_load_kw, models.SiteSample.pv_kw)
            .where(models.SiteSample.site_id == self.site.id)
            .where(models.SiteSample.time >= since)
            .where(models.SiteSample.time < until)
        ).all()
        sums: dict[datetime, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for t, load_kw, pv_kw in rows:
            s = sums[floor_step(t)]
            s[0] += load_kw
            s[1] += pv_kw or 0.0
            s[2] += 1
        return {q: {"building_load_kw": a / n, "pv_kw": b / n} for q, (a, b, n) in sums.items()}

    def weekly(self) -> dict[tuple[int, int], dict[int, dict[str, float]]]:
        """{(weekday, slot): {weeks back: 15-minute means}} over the horizon's weekdays and times."""
        if self._weekly is None:
            self._weekly = defaultdict(dict)
            local_start = self.start.astimezone(self.zone)
            for week in range(1, HISTORY_WEEKS + 1):
                # Wall-clock arithmetic: the same local time a week back, also across a DST change.
                since = (local_start - timedelta(days=7 * week)).astimezone(UTC)
                for q, means in self._quarter_means(since, since + STEP * self.steps).items():
                    self._weekly[_key(q, self.zone)][week] = means
        return self._weekly

    def recent(self) -> dict[datetime, dict[str, float]]:
        """{quarter start: 15-minute means} over the last RECENT_DAYS days before the horizon."""
        if self._recent is None:
            self._recent = self._quarter_means(self.start - timedelta(days=RECENT_DAYS), self.start)
        return self._recent


def history_forecast(history: SiteHistory, column: str, *, profile_kw: list[float] | None = None) -> SeriesForecast:
    """The forecast of one column ("building_load_kw" or "pv_kw") over the history's horizon."""
    times = step_times(history.start, history.steps)
    keys = [_key(t, history.zone) for t in times]
    weekly = history.weekly()
    kw: list[float | None] = []
    sources: list[str] = []
    for k, key in enumerate(keys):
        weeks = weekly.get(key)
        if weeks:
            kw.append(statistics.median(m[column] for m in weeks.values()))
            sources.append("history")
        elif profile_kw is not None:
            kw.append(profile_kw[k])
            sources.append("demo profile")
        else:
            kw.append(None)
            sources.append("")
    if "" in sources:
        recent = history.recent()
        by_slot: dict[int, list[float]] = defaultdict(list)
        for q, means in recent.items():
            by_slot[_key(q, history.zone)[1]].append(means[column])
        every = [m[column] for m in recent.values()] + [m[column] for w in weekly.values() for m in w.values()]
        overall = statistics.fmean(every) if every else None
        for k, key in enumerate(keys):
            if sources[k]:
                continue
            if by_slot.get(key[1]):
                kw[k], sources[k] = statistics.median(by_slot[key[1]]), "same time of day"
            elif overall is not None:
                kw[k], sources[k] = overall, "mean of history"
            else:
                kw[k], sources[k] = 0.0, "no history"
    return SeriesForecast([round(float(v), 3) for v in kw], sources)
