"""A small per-process cache keyed by database, for results that no longer change once read
(settled history, a finished run's setpoints).

The key always starts with the database's URL, so one process serving two databases (tests, a
second site's console) never hands database A's rows to a caller of database B.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlmodel import Session


def database_key(session: Session) -> str:
    """The URL of the database `session` is bound to (the password masked), as a cache key."""
    return str(session.get_bind().url)


class DatabaseCache:
    """Least-recently-used results by (database URL, *key); at most `maxsize` entries."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
        """The cached result for `key` in `session`'s database, computed (and kept) when missing."""
        full_key = (database_key(session), *key)
        with self._lock:
            if full_key in self._items:
                self._items.move_to_end(full_key)
                return self._items[full_key]
        value = compute()  # outside the lock: two threads may both compute once, never wait on each other
        with self._lock:
            self._items[full_key] = value
            self._items.move_to_end(full_key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value

    def cache_clear(self) -> None:
        """Forget every entry (tests, benchmarks)."""
        with self._lock:
            self._items.clear()
