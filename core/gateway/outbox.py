"""Control out: send what the outbox table asks, record every answer.

`core/planning` writes ChargingProfileCommand rows with status "pending"; this task polls the
table (every second by default, at once when woken), sends each command to its charger and stores
the answer: the charger's status (Accepted, Rejected, ...), CallError, Timeout or Offline, with
sent_at / answered_at. Commands of one charger go one after the other, in the order they were
written; different chargers are served side by side, so one slow charger holds up nobody else.

Break before make: the commands of one dispatch run that lower a charger's power go out first, and
those that raise one wait until every lowering command of their run is answered, so the site's load
never briefly holds the new increases on top of the old powers (a fuse does not care for 15-minute
means). Whether a command lowers or raises is judged at the moment of sending, against the power of
the profile in force on that charger.

On (re)connect a charger is resynchronised through the same table (`queue_resync`): first the
safe default profile (action "default": charge only, full power), then its current profile again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import models
from core.charging_profiles import safe_default_profile, transaction_id_of, valid_to_of
from core.clock import now
from core.db import session_scope
from core.gateway.charge_point import CommandAnswer
from core.gateway.in_force import accepted_commands, limit_in_force_kw
from core.gateway.registry import Registry
from core.planning import schedule_power_at

log = logging.getLogger(__name__)

# A "set" whose answer was one of these is still what the console wants on that charger: resend it
# on reconnect. (Rejected / CallError are not resent: the charger refused it; the planner re-plans.)
RESEND_ON_RECONNECT = ("Accepted", "Offline", "Timeout")


# A new setpoint this much above the one in force counts as raising the charger's power.
RAISE_THRESHOLD_KW = 0.1


@dataclass(frozen=True)
class PendingCommand:
    id: int
    charger_id: str
    action: str
    payload: dict
    run_id: int | None = None
    raises_power: bool = False  # a dispatch "set" asking for more than the profile in force now


class Outbox:
    """The task that drains the outbox table."""

    def __init__(self, *, engine: Engine, registry: Registry, poll_interval_s: float = 1.0):
        self.engine = engine
        self.registry = registry
        self.poll_interval_s = poll_interval_s
        self.sent = 0
        self._wake = asyncio.Event()
        self._workers: dict[str, asyncio.Task] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    def wake(self) -> None:
        """Look at the table now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        self._workers.clear()

    async def resync(self, charger_id: str) -> None:
        """Queue the safe default and the current profile for a charger that just (re)connected."""
        try:
            await asyncio.to_thread(queue_resync, self.engine, charger_id=charger_id, at=now())
        except Exception:
            log.exception("could not queue the resync of %s", charger_id)
        self.wake()

    async def _run(self) -> None:
        while True:
            try:
                await self.send_pending()
            except Exception:
                log.exception("outbox poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()

    async def send_pending(self) -> None:
        """Start a worker for every charger that has pending commands and no worker yet, holding back
        a charger whose next command raises its power while a lowering one of the same run is pending."""
        busy = set(self._workers)
        pending = await asyncio.to_thread(pending_commands, self.engine, at=now())
        lowering_runs = {c.run_id for c in pending if c.run_id is not None and c.action == "set" and not c.raises_power}
        by_charger: dict[str, list[PendingCommand]] = {}
        for command in pending:
            if command.charger_id not in busy:
                by_charger.setdefault(command.charger_id, []).append(command)
        for charger_id, queued in by_charger.items():
            # In order, up to the first command that must wait for the lowering ones of its run (make
            # after break): the worker's end wakes the outbox, which looks again.
            commands = list(itertools.takewhile(lambda c: not (c.raises_power and c.run_id in lowering_runs), queued))
            if not commands:
                continue
            task = asyncio.create_task(self._send_all(commands), name=f"outbox-{charger_id}")
            self._workers[charger_id] = task
            task.add_done_callback(lambda _t, c=charger_id: self._worker_done(c))

    def _worker_done(self, charger_id: str) -> None:
        self._workers.pop(charger_id, None)
        self.wake()  # more may have arrived for this charger meanwhile

    async def _send_all(self, commands: list[PendingCommand]) -> None:
        for command in commands:
            sent_at = now()
            try:
                answer = await self.registry.send(command.charger_id, action=command.action, payload=command.payload)
            except Exception as exc:  # a bug of ours must not leave the command pending forever
                log.exception("sending command %s failed", command.id)
                answer = CommandAnswer("CallError", {"local": True, "error": repr(exc)})
            answered_at = now()
            if answer.status == "Offline" and command.charger_id not in self.registry:
                sent_at = None  # never left the gateway
            try:
                await asyncio.to_thread(
                    record_answer,
                    self.engine,
                    command_id=command.id,
                    answer=answer,
                    sent_at=sent_at,
                    answered_at=answered_at,
                )
            except Exception:
                # Left pending, it is sent again at the next poll: a profile may safely arrive twice.
                log.exception("could not record the answer to command %s", command.id)
                return
            self.sent += 1
            log.info("%s %s #%d -> %s", command.charger_id, command.action, command.id, answer.status)


# --- database side (run in worker threads) ---------------------------------------------------------


def pending_commands(engine: Engine, *, at: datetime) -> list[PendingCommand]:
    """Every pending command, oldest first, each "set" marked when it raises its charger's power at
    `at` above the profile in force (the last one the charger accepted, else the safe default: full power)."""
    command = models.ChargingProfileCommand
    with session_scope(engine) as session:
        rows = session.exec(select(command).where(command.status == "pending").order_by(col(command.id))).all()
        sets = {row.charger_id for row in rows if row.action == "set" and row.schedule}
        # The cap or dispatch profile in force now (core.gateway.in_force); None: the safe default,
        # full power, which nothing is higher than. Caps last minutes: a day back is plenty.
        accepted = accepted_commands(session, sorted(sets), since=at - timedelta(days=1))
        in_force = {charger_id: limit_in_force_kw(accepted[charger_id], at) for charger_id in sets}
        pending = []
        for row in rows:
            raises = False
            if row.action == "set" and row.schedule and in_force.get(row.charger_id) is not None:
                new_kw = schedule_power_at(row.schedule, at)
                raises = new_kw is not None and new_kw > in_force[row.charger_id] + RAISE_THRESHOLD_KW
            pending.append(PendingCommand(row.id, row.charger_id, row.action, dict(row.payload), row.run_id, raises))
        return pending


def record_answer(
    engine: Engine, *, command_id: int, answer: CommandAnswer, sent_at: datetime | None, answered_at: datetime
) -> None:
    with session_scope(engine) as session:
        row = session.get(models.ChargingProfileCommand, command_id)
        if row is None:
            return
        row.status = answer.status
        row.sent_at = sent_at
        row.answered_at = answered_at
        row.answer = answer.detail


def queue_resync(engine: Engine, *, charger_id: str, at: datetime) -> list[int]:
    """Queue the safe default profile and, when there is one still valid, the current profile.

    The current profile is the payload of the latest "set" command (later than any "clear") whose
    answer was Accepted, Offline or Timeout: what the console last wanted on this charger. A
    TxProfile is only resent when its transaction is still the charger's open session, and no
    profile whose validTo has passed is resent. Returns the ids of the commands queued.
    """
    with session_scope(engine) as session:
        charger = session.get(models.Charger, charger_id)
        if charger is None:
            return []
        queued = [
            models.ChargingProfileCommand(
                charger_id=charger_id,
                action="default",
                payload=safe_default_profile(protocol=charger.protocol, max_charge_kw=charger.max_charge_kw, at=at),
            )
        ]
        latest = session.exec(
            select(models.ChargingProfileCommand)
            .where(models.ChargingProfileCommand.charger_id == charger_id)
            .where(col(models.ChargingProfileCommand.action).in_(("set", "clear")))
            .order_by(col(models.ChargingProfileCommand.id).desc())
            .limit(1)
        ).first()
        if latest is not None and latest.action == "set" and latest.status in RESEND_ON_RECONNECT:
            open_session = session.exec(
                select(models.PlugSession)
                .where(models.PlugSession.charger_id == charger_id)
                .where(col(models.PlugSession.ended_at).is_(None))
                .order_by(col(models.PlugSession.started_at).desc())
            ).first()
            transaction_id = transaction_id_of(latest.payload)
            valid_to = valid_to_of(latest.payload)
            still_valid = valid_to is None or valid_to > at
            same_transaction = transaction_id is None or (
                open_session is not None and open_session.transaction_id == transaction_id
            )
            if still_valid and same_transaction:
                queued.append(
                    models.ChargingProfileCommand(
                        charger_id=charger_id,
                        action="set",
                        payload=dict(latest.payload),
                        schedule=list(latest.schedule),
                        run_id=latest.run_id,
                    )
                )
        session.add_all(queued)
        session.flush()
        return [c.id for c in queued]
