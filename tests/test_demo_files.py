"""Bad demo files: a clear error naming the file and field, and an existing database untouched."""

from __future__ import annotations

import json
import shutil

import pytest

from core import models
from core.config import DEMO_DIR
from core.db import init_db, make_engine, session_scope
from core.demo import DemoDataError, read_demo, seed_demo


@pytest.fixture
def demo_copy(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    return folder


@pytest.fixture
def seeded_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'existing.db'}")
    init_db(engine)
    seed_demo(demo_dir=DEMO_DIR, engine=engine)
    with session_scope(engine) as s:
        s.get(models.Site, "depot-ams").name = "Operator-edited name"
    yield engine
    engine.dispose()


def _edit_site(folder, edit):
    doc = json.loads((folder / "site.json").read_text())
    edit(doc)
    (folder / "site.json").write_text(json.dumps(doc))


# (what was tried, how the file was broken, words the message must contain)
CORRUPTIONS = [
    ("site file deleted", lambda f: (f / "site.json").unlink(), ["site.json", "missing"]),
    ("profile deleted", lambda f: (f / "profile.csv").unlink(), ["profile.csv", "missing"]),
    ("truncated JSON", lambda f: (f / "site.json").write_text('{"site": {"id": '), ["site.json", "not valid JSON"]),
    (
        "floor above 1",
        lambda f: _edit_site(f, lambda d: d["vehicles"][3].update(soc_floor=1.5)),
        ["site.json", "vehicles[3].soc_floor", "between 0 and 1"],
    ),
    (
        "battery given as text",
        lambda f: _edit_site(f, lambda d: d["vehicles"][0].update(battery_kwh="big")),
        ["vehicles[0].battery_kwh", "expected float"],
    ),
    (
        "vehicle on an unknown charger",
        lambda f: _edit_site(f, lambda d: d["vehicles"][1].update(home_charger_id="CP-NOPE")),
        ["vehicles[1].home_charger_id", "CP-NOPE"],
    ),
    (
        "unknown OCPP version",
        lambda f: _edit_site(f, lambda d: d["chargers"][2].update(protocol="1.5")),
        ["chargers[2].protocol"],
    ),
    (
        "unknown time zone",
        lambda f: _edit_site(f, lambda d: d["site"].update(timezone="Mars/Olympus")),
        ["site.timezone", "Mars/Olympus"],
    ),
    (
        "departure not a clock time",
        lambda f: _edit_site(f, lambda d: d["vehicles"][5].update(usual_departure="7am")),
        ["vehicles[5].usual_departure", "HH:MM"],
    ),
    (
        "price that is not a number",
        lambda f: (f / "profile.csv").write_text(
            (f / "profile.csv").read_text().replace(",0.20196,", ",abc,", 1)
        ),
        ["profile.csv", "row", "column import_price_per_kwh", "abc"],
    ),
    (
        "profile cut short",
        lambda f: (f / "profile.csv").write_text("\n".join((f / "profile.csv").read_text().splitlines()[:100])),
        ["profile.csv", "expected 672 rows"],
    ),
    (
        "profile column renamed",
        lambda f: (f / "profile.csv").write_text((f / "profile.csv").read_text().replace("pv_kw", "solar", 1)),
        ["profile.csv", "pv_kw"],
    ),
]


@pytest.mark.parametrize(("tried", "corrupt", "words"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corrupt_demo_file_names_file_and_field(demo_copy, tried, corrupt, words):
    corrupt(demo_copy)
    with pytest.raises(DemoDataError) as caught:
        read_demo(demo_copy)
    for word in words:
        assert word in str(caught.value), f"{tried}: {caught.value}"


@pytest.mark.parametrize(("tried", "corrupt", "words"), CORRUPTIONS[2:5], ids=[c[0] for c in CORRUPTIONS[2:5]])
def test_corrupt_demo_leaves_existing_database_untouched(demo_copy, seeded_engine, tried, corrupt, words):
    corrupt(demo_copy)
    with pytest.raises(DemoDataError):
        seed_demo(demo_dir=demo_copy, engine=seeded_engine, reset=True)
    with session_scope(seeded_engine) as s:
        assert s.get(models.Site, "depot-ams").name == "Operator-edited name"
        assert len(s.exec(models.Vehicle.__table__.select()).all()) == 20


def test_shipped_demo_is_valid_and_realistic():
    demo = read_demo(DEMO_DIR)
    assert demo.site["timezone"] == "Europe/Amsterdam"
    assert len(demo.vehicles) == 20
    # EV charging alone could exceed the import limit: that is what dispatch is for.
    assert sum(c.max_charge_kw for c in demo.chargers) > demo.site["import_limit_kw"]
    assert any(p < 0 for p in demo.profile.export_price_per_kwh), "the real April 2024 week has negative prices"
    assert max(demo.profile.pv_kw) > 50
