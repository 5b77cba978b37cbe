"""The errors every service raises for bad input or a missing right, so that pages and command lines
can show them the same way. Nothing is saved when one is raised."""

from __future__ import annotations


class ValidationError(ValueError):
    """One message per invalid field: {field: message}. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class PermissionDenied(PermissionError):
    """The actor's role does not allow this change."""


class FieldErrors(dict):
    """Collects field errors; `raise_if_any` at the end so every invalid field is reported."""

    def add(self, name: str, message: str) -> None:
        """Keep the first message of each field."""
        self.setdefault(name, message)

    def raise_if_any(self) -> None:
        """ValidationError with every collected message, if there is any."""
        if self:
            raise ValidationError(self)
