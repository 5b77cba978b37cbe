"""V2G_DEMO: the demo site is seeded through the admin services; a fresh install without it is empty."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlmodel import func, select

from core import models
from core.config import DEMO_DIR
from core.db import session_scope
from core.demo import DemoDataError, read_demo, seed_demo
from core.security import verify_password
from tests.admin.support import table_counts


def test_the_demo_is_one_site_seeded_with_its_files(empty_engine, clock):
    assert seed_demo(demo_dir=DEMO_DIR, engine=empty_engine)
    demo = read_demo(DEMO_DIR)
    with session_scope(empty_engine) as s:
        assert [site.id for site in s.exec(select(models.Site))] == [demo.site["id"]]
        assert s.exec(select(func.count()).select_from(models.Vehicle)).one() == len(demo.vehicles)
        first = demo.chargers[0]
        assert verify_password(first.password, s.get(models.Charger, first.id).password_hash)
        # A fixture, not anyone's change: the audit trail stays the operators' own.
        assert s.exec(select(func.count()).select_from(models.AuditEvent)).one() == 0
    assert not seed_demo(demo_dir=DEMO_DIR, engine=empty_engine)  # there already


def test_a_demo_file_the_services_refuse_names_the_field_and_saves_nothing(empty_engine, tmp_path: Path):
    shutil.copytree(DEMO_DIR, tmp_path / "demo")
    doc = json.loads((tmp_path / "demo" / "site.json").read_text())
    doc["site"]["timezone"] = "Europe/Amsterdam"
    doc["chargers"][1]["password"] = "short"
    (tmp_path / "demo" / "site.json").write_text(json.dumps(doc))
    before = table_counts(empty_engine)
    with pytest.raises(DemoDataError, match="password: 8 to 40 characters"):
        seed_demo(demo_dir=tmp_path / "demo", engine=empty_engine)
    assert table_counts(empty_engine) == before


def test_a_fresh_install_without_the_demo_says_what_to_set_up_first(empty_engine, monkeypatch):
    """V2G_DEMO=0 on an empty database: the overview lists site -> chargers -> vehicles -> meter, with links."""
    from core.config import get_settings

    monkeypatch.setenv("DATABASE_URL", str(empty_engine.url))
    monkeypatch.setenv("V2G_DEMO", "0")
    monkeypatch.setenv("V2G_ADMIN_PASSWORD", "fresh-install-admin-pw")  # no generated password file
    get_settings.cache_clear()
    try:
        from app import prepare_database, server
        from pages import overview

        prepare_database()
        with session_scope(empty_engine) as s:
            assert s.exec(select(func.count()).select_from(models.Site)).one() == 0
        with server.test_request_context("/"):
            page = str(overview.layout())
    finally:
        get_settings.cache_clear()
    assert "Set up first: add a site → chargers → vehicles → meter." in page
    for href in ("/admin/sites", "/admin/chargers", "/admin/vehicles", "/admin/meters"):
        assert href not in page  # anonymous: the steps, without the admin links
