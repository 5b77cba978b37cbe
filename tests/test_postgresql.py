"""The same models, seeding and live dispatch on a real PostgreSQL server (DATABASE_URL), not only SQLite.

The test starts a throwaway PostgreSQL cluster of its own (Debian's postgresql package: initdb and
pg_ctl, run as the `postgres` user when the tests run as root) on a free port on 127.0.0.1, and
removes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from core import models, planning
from core.clock import now
from core.config import DEMO_DIR
from core.db import init_db, make_engine, session_scope
from core.demo import seed_demo

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
pytestmark = pytest.mark.timeout(120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgres_url():
    if BIN is None:
        pytest.fail("PostgreSQL server binaries are missing: `make test` installs Debian's postgresql package")
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    data = Path(tempfile.mkdtemp(prefix="v2g-pg-")) / "data"
    if os.geteuid() == 0:
        import pwd

        postgres = pwd.getpwnam("postgres")
        os.chown(data.parent, postgres.pw_uid, postgres.pw_gid)
    port = _free_port()
    subprocess.run(_as_postgres([str(BIN / "initdb"), "-D", str(data), "-U", "v2g", "--auth=trust"]), check=True, capture_output=True)
    # -l: the server's output goes to a file; an inherited pipe would keep run() waiting forever.
    subprocess.run(
        _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "server.log"),
                      "-o", f"-p {port} -k {data} -h 127.0.0.1", "-w", "start"]),
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    try:
        subprocess.run(_as_postgres([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "v2g", "v2g"]), check=True)
        yield f"postgresql+psycopg://v2g@127.0.0.1:{port}/v2g"
    finally:
        subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(data.parent, ignore_errors=True)


def test_models_seed_and_dispatch_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    try:
        init_db(engine)
        assert seed_demo(demo_dir=DEMO_DIR, engine=engine) is True
        assert seed_demo(demo_dir=DEMO_DIR, engine=engine) is False  # idempotent here too
        at = now()
        with session_scope(engine) as s:
            assert s.exec(select(func.count()).select_from(models.Vehicle)).one() == 20
            plug = models.PlugSession(charger_id="CP-BUS-01", vehicle_id="BUS-01", transaction_id="pg-1", started_at=at - timedelta(hours=1))
            s.add(plug)
            s.flush()
            s.add(models.MeterSample(time=at, charger_id="CP-BUS-01", session_id=plug.id, power_kw=-12.5, soc=0.6))
        with session_scope(engine) as s:
            sample = s.exec(select(models.MeterSample)).one()
            assert sample.time == at.replace(microsecond=sample.time.microsecond) and sample.time.tzinfo is not None
        run_id = planning.run_dispatch(site_id="depot-ams", trigger="test", engine=engine)
        with session_scope(engine) as s:
            run = s.get(models.DispatchRun, run_id)
            assert run.status == "optimal"
            assert s.exec(select(func.count()).select_from(models.Setpoint).where(models.Setpoint.run_id == run_id)).one() == 96
            assert s.exec(select(models.ChargingProfileCommand).where(models.ChargingProfileCommand.charger_id == "CP-BUS-01")).one()
    finally:
        engine.dispose()
