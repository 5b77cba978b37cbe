"""OpenADR 2.0b: the console as a VEN (openleadr), turning the utility's events into grid signals.

What an event's signals become (payloads in kW and per kWh in the site's currency):
- `LOAD_DISPATCH` of type `setpoint`: per interval, a payload >= 0 is an import cap of that many kW,
  a payload < 0 an export request of -payload kW.
- `BID_PRICE` of type `price` in the same event: the reward per kWh of the export requests of the
  intervals that start at the same time.
- `ELECTRICITY_PRICE` of type `price`: the import price per kWh of its intervals (stored as prices,
  source "csv" rules apply: 15-minute points, the period replaced).
Other signals are ignored. The VEN opts in when at least one signal was understood and the site's
operator setting `Site.demand_response_opt_in` says so, out otherwise.
An update (a new modification number) replaces what the event wrote before; a cancelled event
removes its grid signals. Rows carry source "openadr" and external_id "<event id>#<n>".

`build_ven(...)` returns the openleadr client with the handlers attached; the gateway runs it on its
event loop (`await client.run()`) next to the OCPP server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from openleadr import OpenADRClient
from sqlalchemy.engine import Engine
from sqlmodel import col, delete

from core import models, signals
from core.db import session_scope

log = logging.getLogger(__name__)
SOURCE = "openadr"
ACTOR = "openadr"


@dataclass
class MappedEvent:
    event_id: str
    modification_number: int
    cancelled: bool
    grid_signals: list[dict] = field(default_factory=list)  # kind, start, end, kw, reward_per_kwh
    prices: list[signals.PriceRow] = field(default_factory=list)


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _intervals(event: dict, signal: dict) -> list[tuple[datetime, datetime, float]]:
    """(start, end, payload) of each interval; starts follow each other from the active period's start."""
    t = _aware(event["active_period"]["dtstart"])
    out = []
    for interval in sorted(signal.get("intervals", []), key=lambda i: int(i.get("uid", 0) or 0)):
        start = _aware(interval["dtstart"]) if interval.get("dtstart") else t
        duration = interval.get("duration") or timedelta(0)
        out.append((start, start + duration, float(interval["signal_payload"])))
        t = start + duration
    return out


def map_event(event: dict) -> MappedEvent:
    """What an openleadr event dict means for the site (pure; see the module docstring)."""
    descriptor = event["event_descriptor"]
    mapped = MappedEvent(
        event_id=str(descriptor["event_id"]),
        modification_number=int(descriptor.get("modification_number", 0) or 0),
        cancelled=str(descriptor.get("event_status", "")).lower() == "cancelled",
    )
    rewards: dict[datetime, float] = {}
    for signal in event.get("event_signals", []):
        if signal.get("signal_name") == "BID_PRICE" and signal.get("signal_type") == "price":
            rewards.update({start: value for start, _, value in _intervals(event, signal)})
    for signal in event.get("event_signals", []):
        name, kind = signal.get("signal_name"), signal.get("signal_type")
        if name == "LOAD_DISPATCH" and kind == "setpoint":
            for start, end, kw in _intervals(event, signal):
                mapped.grid_signals.append(
                    {
                        "kind": "import_cap" if kw >= 0 else "export_request",
                        "start": start,
                        "end": end,
                        "kw": abs(kw),
                        "reward_per_kwh": rewards.get(start, 0.0) if kw < 0 else 0.0,
                    }
                )
        elif name == "ELECTRICITY_PRICE" and kind == "price":
            for k, (start, end, price) in enumerate(_intervals(event, signal)):
                mapped.prices.append(signals.PriceRow(k + 1, start, end, price, 0.0))
    return mapped


def store_event(mapped: MappedEvent, *, site_id: str, engine: Engine | None = None) -> bool:
    """Replace what the event wrote before with what it says now.

    Returns whether the site opts in (its operator setting `demand_response_opt_in`). An event the
    site opts out of is still stored, so operators see it, but its export requests are marked not
    opted in and dispatch does not plan for them; an import cap binds either way.
    """
    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        opt_in = bool(site and site.demand_response_opt_in)
        session.exec(
            delete(models.GridSignal)
            .where(models.GridSignal.site_id == site_id)
            .where(models.GridSignal.source == SOURCE)
            .where(col(models.GridSignal.external_id).startswith(f"{mapped.event_id}#"))
        )
        if mapped.cancelled:
            return opt_in
        for k, s in enumerate(mapped.grid_signals):
            signals.add_grid_signal(
                session=session, site_id=site_id, actor=ACTOR, source=SOURCE, external_id=f"{mapped.event_id}#{k}",
                opted_in=opt_in, **s,
            )  # fmt: skip
        if mapped.prices:
            signals.save_prices(session=session, site_id=site_id, rows=mapped.prices, actor=ACTOR, source=SOURCE)
        return opt_in


def make_handler(*, site_id: str, engine: Engine | None = None):
    """The on_event / on_update_event handler: map, store (off the event loop), answer optIn or optOut."""

    async def on_event(event: dict) -> str:
        try:
            mapped = map_event(event)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("OpenADR event not understood, opting out: %s", exc)
            return "optOut"
        if not mapped.cancelled and not mapped.grid_signals and not mapped.prices:
            return "optOut"
        try:
            opt_in = await asyncio.to_thread(store_event, mapped, site_id=site_id, engine=engine)
        except (signals.SignalError, signals.NoSiteError) as exc:
            log.warning("OpenADR event %s refused, opting out: %s", mapped.event_id, exc)
            return "optOut"
        return "optIn" if opt_in else "optOut"

    return on_event


def build_ven(
    *, vtn_url: str, ven_name: str, site_id: str, engine: Engine | None = None, **client_options
) -> OpenADRClient:
    """An openleadr VEN whose events become the site's grid signals; `await client.run()` starts it."""
    client = OpenADRClient(ven_name=ven_name, vtn_url=vtn_url, **client_options)
    handler = make_handler(site_id=site_id, engine=engine)
    client.add_handler("on_event", handler)
    client.add_handler("on_update_event", handler)
    return client
