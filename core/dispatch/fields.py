"""Typed reads of the JSON objects of a scenario document, each error naming its field.

A value that breaks format section 1 (JSON types) or a bound of section 3 raises `ScenarioError`
whose message starts with the offending field, for example ``vehicles[2].soc_floor: must be <= 1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class ScenarioError(ValueError):
    """A scenario that is not valid (format section 3). `field` names the offending field."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Fields:
    """Typed reads of one JSON object, each error naming its field (format section 1, JSON types)."""

    def __init__(self, obj: Any, where: str):
        if not isinstance(obj, dict):
            raise ScenarioError(where or "scenario", "must be an object")
        self.obj = obj
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def required(self, key: str) -> Any:
        value = self.obj.get(key)
        if value is None:
            raise ScenarioError(self.path(key), "is required")
        return value

    def _get(self, key: str, required: bool) -> Any:
        return self.required(key) if required else self.obj.get(key)

    def string(self, key: str, required: bool = True) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ScenarioError(self.path(key), "must be a non-empty string")
        return value

    def number(
        self,
        key: str,
        required: bool = True,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
    ) -> float | None:
        value = self._get(key, required)
        if value is None:
            return None
        return _number(value, self.path(key), minimum=minimum, maximum=maximum, above=above)

    def integer(self, key: str, required: bool = True, minimum: int | None = None) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        return _integer(value, self.path(key), minimum=minimum)

    def series(self, key: str, n: int, required: bool = True) -> np.ndarray | None:
        value = self._get(key, required)
        if value is None:
            return None
        where = self.path(key)
        if not isinstance(value, list):
            raise ScenarioError(where, f"must be a list of {n} numbers (horizon_steps)")
        if len(value) != n:
            raise ScenarioError(where, f"must have {n} numbers (horizon_steps), got {len(value)}")
        return np.array([_number(x, f"{where}[{t}]") for t, x in enumerate(value)], dtype=float)

    def objects(self, key: str, required: bool = True) -> list[Fields]:
        value = self._get(key, required)
        if value is None:
            return []
        where = self.path(key)
        if not isinstance(value, list):
            raise ScenarioError(where, "must be a list of objects")
        return [Fields(item, f"{where}[{i}]") for i, item in enumerate(value)]

    def windows(self, key: str) -> tuple[tuple[int, int], ...] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        where = self.path(key)
        if not isinstance(value, list):
            raise ScenarioError(where, "must be a list of [start_step, end_step] pairs")
        pairs = []
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ScenarioError(f"{where}[{i}]", "must be a [start_step, end_step] pair")
            pairs.append((_integer(pair[0], f"{where}[{i}][0]"), _integer(pair[1], f"{where}[{i}][1]")))
        return tuple(pairs)


def _number(
    value: Any,
    where: str,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> float:
    # bool is an int in Python but not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(where, "must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise ScenarioError(where, "must be a finite number")
    if minimum is not None and value < minimum:
        raise ScenarioError(where, f"must be >= {minimum:g}")
    if maximum is not None and value > maximum:
        raise ScenarioError(where, f"must be <= {maximum:g}")
    if above is not None and value <= above:
        raise ScenarioError(where, f"must be > {above:g}")
    return value


def _integer(value: Any, where: str, minimum: int | None = None) -> int:
    number = _number(value, where)
    if not number.is_integer():
        raise ScenarioError(where, "must be an integer")
    if minimum is not None and number < minimum:
        raise ScenarioError(where, f"must be >= {minimum}")
    return int(number)
