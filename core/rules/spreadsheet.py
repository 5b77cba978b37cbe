"""Cells a spreadsheet would run as a formula (OWASP "CSV injection"), made safe: the one rule every
CSV the console writes goes through (core.reports' `Report.to_csv`, core.audit's `audit_csv`).

A text cell that starts with = + - @, a tab or a carriage return gets a leading apostrophe, so
Excel, LibreOffice and Google Sheets show it as text instead of evaluating it. Only text is touched:
numbers (a discharge of -5.2 kW) stay numbers a spreadsheet can add up.
"""

from __future__ import annotations

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """`value` with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + value if value[:1] in FORMULA_LEADS else value


def safe_cell(value: object) -> object:
    """A CSV cell made safe: text goes through `spreadsheet_safe` and its line breaks become "\\n" (which
    every CSV writer quotes; a lone carriage return is not quoted by a writer whose line end is "\\n",
    and would break the row); anything else (numbers, None) is kept as it is."""
    if not isinstance(value, str):
        return value
    return spreadsheet_safe(value).replace("\r\n", "\n").replace("\r", "\n")
