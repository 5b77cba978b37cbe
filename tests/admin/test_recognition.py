"""An unknown plug-in shows as "unknown vehicle at CP-..." and an admin says which vehicle it is."""

from __future__ import annotations

import pytest

from core import models
from core.admin import add_vehicle, assign_vehicle, unknown_plugins, vehicle_for_token
from core.clock import now
from core.db import session_scope
from core.errors import ValidationError
from tests.admin.support import ADMIN, table_counts


def plug_in(engine, charger_id: str, id_tag: str) -> int:
    with session_scope(engine) as s:
        plug = models.PlugSession(
            charger_id=charger_id, transaction_id=f"tx-{charger_id}", id_tag=id_tag, started_at=now()
        )
        s.add(plug)
        s.flush()
        return plug.id


def test_assigning_links_the_session_and_the_next_plug_in_is_recognised(admin_engine, clock):
    with session_scope(admin_engine) as s:
        add_vehicle(
            session=s,
            actor=ADMIN,
            vehicle_id="BUS-07",
            site_id="depot-ams",
            name="E-bus 7",
            kind="bus",
            battery_kwh=350,
            max_charge_kw=100,
        )
    session_id = plug_in(admin_engine, "CP-BUS-02", "CARD-9F3A")
    with session_scope(admin_engine) as s:
        (unknown,) = unknown_plugins(session=s, site_id="depot-ams")
        assert unknown.label == "unknown vehicle at CP-BUS-02 (tag CARD-9F3A)" and unknown.session_id == session_id
        assign_vehicle(session=s, actor=ADMIN, session_id=session_id, vehicle_id="BUS-07")
    with session_scope(admin_engine) as s:
        assert s.get(models.PlugSession, session_id).vehicle_id == "BUS-07"
        assert vehicle_for_token(session=s, token="CARD-9F3A") == "BUS-07"
        assert unknown_plugins(session=s) == []
        assert s.get(models.Site, "depot-ams").replan_requested_at == clock.now()
        audit = s.exec(models.AuditEvent.__table__.select().where(models.AuditEvent.action == "vehicle.assign")).one()
        assert audit.actor == ADMIN and audit.after["id_tag"] == "CARD-9F3A"


def test_a_mac_token_is_recorded_as_the_evcc_id(admin_engine, clock):
    session_id = plug_in(admin_engine, "CP-BUS-02", "001A2B3C4D5E")
    with session_scope(admin_engine) as s:
        assign_vehicle(session=s, actor=ADMIN, session_id=session_id, vehicle_id="BUS-02")
    with session_scope(admin_engine) as s:
        assert s.get(models.Vehicle, "BUS-02").evcc_id == "001A2B3C4D5E"


def test_a_vehicle_plugged_in_elsewhere_or_of_another_site_is_refused(admin_engine, clock):
    first = plug_in(admin_engine, "CP-BUS-02", "CARD-1")
    with session_scope(admin_engine) as s:
        assign_vehicle(session=s, actor=ADMIN, session_id=first, vehicle_id="BUS-03")
    second = plug_in(admin_engine, "CP-BUS-03", "CARD-2")
    before = table_counts(admin_engine)
    with pytest.raises(ValidationError, match="plugged in at CP-BUS-02"), session_scope(admin_engine) as s:
        assign_vehicle(session=s, actor=ADMIN, session_id=second, vehicle_id="BUS-03")
    with pytest.raises(ValidationError, match="no vehicle 'BUS-99'"), session_scope(admin_engine) as s:
        assign_vehicle(session=s, actor=ADMIN, session_id=second, vehicle_id="BUS-99")
    assert table_counts(admin_engine) == before


def test_the_gateway_recognises_an_evcc_id_and_leaves_an_unknown_tag_to_an_admin(admin_engine):
    """Through the gateway's telemetry writer (as the OCPP handlers hand it events): a plug-in whose
    token is a vehicle's EVCCID (any separators) gets that vehicle; an unknown RFID tag gets none and
    shows in the unknown list; after "this is BUS-03" the same tag is recognised at the next plug-in."""
    import asyncio
    from datetime import timedelta

    from core.gateway.events import TransactionEnded, TransactionStarted
    from core.gateway.telemetry_writer import TelemetryWriter
    from tests.conftest import T0

    with session_scope(admin_engine) as s:
        add_vehicle(
            session=s,
            actor=ADMIN,
            vehicle_id="VAN-21",
            site_id="depot-ams",
            name="Van 21",
            kind="van",
            battery_kwh=75,
            max_charge_kw=20,
            evcc_id="00:1A:2B:3C:4D:5E",
        )

    def store(*events):
        async def scenario():
            writer = TelemetryWriter(engine=admin_engine, flush_interval_s=0.02)
            writer.start()
            try:
                for event in events:
                    await writer.store(event)
            finally:
                await writer.stop()

        asyncio.run(scenario())

    store(
        TransactionStarted("CP-VAN-01", "E1", T0, id_tag="001a2b3c4d5e"),
        TransactionStarted("CP-BUS-02", "U1", T0, id_tag="CARD-NEW"),
    )
    with session_scope(admin_engine) as s:
        by_tx = {p.transaction_id: p for p in s.exec(models.PlugSession.__table__.select()).all()}
        assert by_tx["E1"].vehicle_id == "VAN-21"
        assert by_tx["U1"].vehicle_id is None
        (unknown,) = unknown_plugins(session=s)
        assign_vehicle(session=s, actor=ADMIN, session_id=unknown.session_id, vehicle_id="BUS-03")
    store(
        TransactionEnded("CP-BUS-02", "U1", T0 + timedelta(minutes=5)),
        TransactionStarted("CP-BUS-02", "U2", T0 + timedelta(minutes=10), id_tag="CARD-NEW"),
    )
    with session_scope(admin_engine) as s:
        again = s.exec(models.PlugSession.__table__.select().where(models.PlugSession.transaction_id == "U2")).one()
        assert again.vehicle_id == "BUS-03"
