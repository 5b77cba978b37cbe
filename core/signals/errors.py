"""SignalError: why a price file, grid-event file, tariff or operator entry was refused."""

from __future__ import annotations


class SignalError(ValueError):
    """Input refused; the message says what and, for a file, where (row and column)."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        where = ", ".join(p for p in (f"row {row}" if row else "", f"column {column!r}" if column else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.row = row
        self.column = column
