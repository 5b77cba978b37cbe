"""OpenADR 2.0b (core/gateway/openadr.py): a real openleadr VTN on a free port sends an event to our
VEN, which stores it as grid signals and opts in; the mapping of each signal kind, updates and
cancellations, checked without the network."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core import models
from core.db import session_scope
from core.gateway import openadr
from core.telemetry import default_site_id

pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.AppKey")

T0 = datetime(2031, 5, 6, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def running_clock():
    """The wall clock here, not the run's pinned one: the openleadr VTN schedules and expires events
    on the real time, so the console must agree with it. Nothing asserted depends on the time of day."""
    from core.clock import Clock, get_clock, set_clock

    previous = get_clock()
    set_clock(Clock())
    yield
    set_clock(previous)


def _event(signals: list[dict], *, status: str = "far", modification: int = 0) -> dict:
    return {
        "event_descriptor": {"event_id": "ev-1", "modification_number": modification, "event_status": status},
        "active_period": {"dtstart": T0, "duration": timedelta(hours=1)},
        "event_signals": signals,
    }


def _signal(name: str, kind: str, payloads: list[float]) -> dict:
    return {
        "signal_name": name,
        "signal_type": kind,
        "intervals": [
            {"uid": k, "duration": timedelta(minutes=30), "signal_payload": p} for k, p in enumerate(payloads)
        ],
    }


def grid_signals(engine) -> list[models.GridSignal]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(models.GridSignal).where(models.GridSignal.source == "openadr").order_by(models.GridSignal.start)
            ).all()
        )


def test_mapping_of_dispatch_setpoints_and_bid_prices():
    # -40 kW in the first half hour: an export request with the bid price 0.35 as reward; +120 kW: an import cap.
    mapped = openadr.map_event(
        _event([_signal("LOAD_DISPATCH", "setpoint", [-40, 120]), _signal("BID_PRICE", "price", [0.35, 0.5])])
    )
    assert mapped.grid_signals == [
        {"kind": "export_request", "start": T0, "end": T0 + timedelta(minutes=30), "kw": 40, "reward_per_kwh": 0.35},
        {"kind": "import_cap", "start": T0 + timedelta(minutes=30), "end": T0 + timedelta(hours=1), "kw": 120, "reward_per_kwh": 0.0},
    ]  # fmt: skip
    prices = openadr.map_event(_event([_signal("ELECTRICITY_PRICE", "price", [0.3, 0.2])])).prices
    assert [(p.start, p.import_price_per_kwh) for p in prices] == [(T0, 0.3), (T0 + timedelta(minutes=30), 0.2)]


def test_unknown_signals_opt_out_and_updates_replace_and_cancel_removes(engine):
    site_id = default_site_id(engine)
    handler = openadr.make_handler(site_id=site_id, engine=engine)
    assert asyncio.run(handler(_event([_signal("SIMPLE", "level", [1])]))) == "optOut"
    assert grid_signals(engine) == []
    assert asyncio.run(handler(_event([_signal("LOAD_DISPATCH", "setpoint", [-40, -30])]))) == "optIn"
    assert [s.kw for s in grid_signals(engine)] == [40, 30]
    assert asyncio.run(handler(_event([_signal("LOAD_DISPATCH", "setpoint", [-25])], modification=1))) == "optIn"
    assert [(s.kw, s.external_id) for s in grid_signals(engine)] == [(25, "ev-1#0")]
    assert asyncio.run(handler(_event([], status="cancelled", modification=2))) == "optIn"
    assert grid_signals(engine) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_event_from_a_real_vtn_becomes_an_export_request(engine):
    from openleadr import OpenADRServer

    site_id = default_site_id(engine)
    answers: list[str] = []

    async def scenario():
        port = _free_port()
        server = OpenADRServer(
            vtn_id="test-vtn", http_port=port, http_host="127.0.0.1", verify_message_signatures=False,
            requested_poll_freq=timedelta(seconds=1), show_server_cert_domain=False,
        )  # fmt: skip
        server.add_handler("on_create_party_registration", lambda info: ("ven-1", "reg-1"))
        server.add_event(
            ven_id="ven-1", signal_name="LOAD_DISPATCH", signal_type="setpoint",
            intervals=[{"dtstart": T0, "duration": timedelta(minutes=30), "signal_payload": -50.0}],
            callback=lambda ven_id, event_id, opt_type: answers.append(opt_type), event_id="dso-42",
        )  # fmt: skip
        client = openadr.build_ven(
            vtn_url=f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b", ven_name="v2g-console", site_id=site_id,
            engine=engine, disable_signature=True, show_fingerprint=False,
        )  # fmt: skip
        await server.run()
        await client.run()
        try:
            for _ in range(200):
                if answers and await asyncio.to_thread(grid_signals, engine):
                    break
                await asyncio.sleep(0.1)
        finally:
            await client.stop()
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    rows = grid_signals(engine)
    assert [(r.kind, r.kw, r.start, r.end, r.external_id) for r in rows] == [
        ("export_request", 50.0, T0, T0 + timedelta(minutes=30), "dso-42#0")
    ]
    assert answers == ["optIn"]


def _vtn_with_export_request(port: int, answers: list[str], start: datetime):
    from openleadr import OpenADRServer

    server = OpenADRServer(
        vtn_id="test-vtn", http_port=port, http_host="127.0.0.1", verify_message_signatures=False,
        requested_poll_freq=timedelta(seconds=1), show_server_cert_domain=False,
    )  # fmt: skip
    server.add_handler("on_create_party_registration", lambda info: ("ven-1", "reg-1"))
    server.add_event(
        ven_id="ven-1", signal_name="LOAD_DISPATCH", signal_type="setpoint",
        intervals=[{"dtstart": start, "duration": timedelta(hours=1), "signal_payload": -40.0}],
        callback=lambda ven_id, event_id, opt_type: answers.append(opt_type), event_id="dso-77",
    )  # fmt: skip
    return server


@pytest.mark.timeout(90)
@pytest.mark.parametrize("opt_in", [True, False], ids=["operator opts in", "operator opts out"])
def test_gateway_ven_round_trip_plans_for_the_event_as_the_operator_setting_says(engine, opt_in):
    """Tried: the gateway started with V2G_OPENADR_VTN_URL pointing at a real openleadr VTN on
    127.0.0.1 that has a 40 kW export request for the next hour; the site's operator setting opts in
    or out. The VEN must answer as the setting says, the event must be stored (the Grid page reads
    these rows), and the next dispatch problem must carry the export request only when opted in."""
    from core import controls, planning
    from core.clock import now
    from tests.gateway.support import gateway_settings, running_gateway

    site_id = default_site_id(engine)
    with session_scope(engine) as session:
        controls.set_demand_response_opt_in(session=session, actor="op", opt_in=opt_in, site_id=site_id)
    start = now().replace(second=0, microsecond=0) + timedelta(minutes=30)
    answers: list[str] = []

    async def scenario():
        port = _free_port()
        server = _vtn_with_export_request(port, answers, start)
        await server.run()
        settings = gateway_settings(
            str(engine.url), openadr_vtn_url=f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b", openadr_ven_name="ven-test"
        )
        try:
            async with running_gateway(
                engine, settings=settings, openadr_options={"disable_signature": True, "show_fingerprint": False}
            ):
                for _ in range(300):
                    if answers and await asyncio.to_thread(grid_signals, engine):
                        break
                    await asyncio.sleep(0.1)
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 80))
    assert answers == ["optIn" if opt_in else "optOut"]
    [row] = grid_signals(engine)
    assert (row.kind, row.kw, row.opted_in) == ("export_request", 40.0, opt_in)
    with session_scope(engine) as session:
        problem = planning.build_problem(session=session, site=session.get(models.Site, site_id), at=now())
    requests = [s for s in problem.scenario["grid_signals"] if s["kind"] == "export_request"]
    assert [r["kw"] for r in requests] == ([40.0] if opt_in else [])
