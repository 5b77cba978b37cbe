"""`python -m core.admin`: one real process per noun against this test's database file, and bad input
refused with the field named, nothing saved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import models
from core.admin.__main__ import build_parser, main
from core.admin.vehicle_csv import CSV_COLUMNS
from core.db import session_scope
from core.security import verify_password
from tests.admin.support import ADMIN, table_counts

ROOT = Path(__file__).resolve().parents[2]


def cli(engine, *argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return subprocess.run(
        [sys.executable, "-m", "core.admin", *argv],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_site_noun_in_a_real_process(fresh_engine):
    done = cli(
        fresh_engine,
        "site",
        "add",
        "--id",
        "depot-2",
        "--name",
        "North depot",
        "--timezone",
        "Europe/Berlin",
        "--import-limit-kw",
        "250",
        "--export-limit-kw",
        "100",
    )
    assert done.returncode == 0, done.stderr
    before = table_counts(fresh_engine)
    bad = cli(
        fresh_engine,
        "site",
        "add",
        "--id",
        "depot-3",
        "--name",
        "X",
        "--timezone",
        "Europe/Nowhere",
        "--import-limit-kw",
        "-1",
        "--export-limit-kw",
        "10",
    )
    assert bad.returncode == 2
    assert (
        "timezone: unknown time zone 'Europe/Nowhere'" in bad.stderr
        and "import_limit_kw: must be more than 0" in bad.stderr
    )
    assert "nothing was saved" in bad.stderr and table_counts(fresh_engine) == before
    listed = cli(fresh_engine, "site", "list", "--json")
    assert '"id": "depot-2"' in listed.stdout and '"timezone": "Europe/Berlin"' in listed.stdout
    with session_scope(fresh_engine) as s:
        audit = s.exec(models.AuditEvent.__table__.select().where(models.AuditEvent.action == "site.add")).one()
        assert audit.actor.startswith("system:cli:")


def test_charger_noun_prints_the_password_once(admin_engine):
    done = cli(
        admin_engine, "--actor", ADMIN, "charger", "add", "CP-NEW-9", "--protocol", "1.6", "--max-charge-kw", "22"
    )
    assert done.returncode == 0, done.stderr
    password = done.stdout.split("password (shown once): ")[1].strip()
    with session_scope(admin_engine) as s:
        assert verify_password(password, s.get(models.Charger, "CP-NEW-9").password_hash)
    assert password not in cli(admin_engine, "charger", "list").stdout


def test_vehicle_noun_imports_a_csv(admin_engine, tmp_path):
    good = tmp_path / "fleet.csv"
    good.write_text(",".join(CSV_COLUMNS) + "\nBUS-31,E-bus 31,bus,350,100,100,,,,,,,TAG-31,,\n")
    done = cli(admin_engine, "vehicle", "import", str(good), "--site", "depot-ams")
    assert done.returncode == 0 and "imported 1 vehicle(s)" in done.stdout, done.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(CSV_COLUMNS) + "\nBUS-32,E-bus 32,bus,lots,100,100,,,,,,,,,\n")
    before = table_counts(admin_engine)
    refused = cli(admin_engine, "vehicle", "import", str(bad), "--site", "depot-ams")
    assert refused.returncode == 2 and "row 2, battery_kwh: must be a number" in refused.stderr
    assert table_counts(admin_engine) == before


def test_user_noun_adds_an_account_with_a_password_from_stdin(admin_engine):
    done = cli(
        admin_engine,
        "--actor",
        ADMIN,
        "user",
        "add",
        "carol",
        "--role",
        "operator",
        "--password-stdin",
        stdin="carol-long-password\n",
    )
    assert done.returncode == 0, done.stderr
    refused = cli(admin_engine, "--actor", "ops", "user", "role", "carol", "admin")
    assert refused.returncode == 2 and "not an admin" in refused.stderr
    assert "carol" in cli(admin_engine, "user", "list").stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "vehicle",
                "add",
                "BUS-40",
                "--site",
                "depot-ams",
                "--name",
                "x",
                "--battery-kwh",
                "-1",
                "--max-charge-kw",
                "50",
            ],
            "battery_kwh: must be more than 0",
        ),
        (["vehicle", "edit", "BUS-01", "--target-pct", "abc"], "target_soc: must be a number"),
        (["vehicle", "edit", "BUS-01", "--departure", "7 o'clock"], "usual_departure: a time of day"),
        (["charger", "edit", "CP-BUS-01", "--efficiency", "2"], "efficiency: must be at most 1"),
        (["charger", "retire", "CP-NOPE"], "id: no charger 'CP-NOPE'"),
        (["site", "edit", "depot-ams", "--currency", "euro"], "currency: a three-letter"),
        (["user", "disable", "ghost"], "username: no user 'ghost'"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(admin_engine, capsys, argv, message):
    before = table_counts(admin_engine)
    assert main(argv, engine=admin_engine) == 2
    assert message in capsys.readouterr().err
    assert table_counts(admin_engine) == before


def test_every_noun_is_registered_and_a_missing_one_is_left_out():
    nouns = build_parser()._subparsers._group_actions[0].choices
    assert {"site", "charger", "vehicle", "user"} <= set(nouns)
