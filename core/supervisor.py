"""Keep child processes running: restart one that dies, with back-off, until told to stop.

`python app.py` runs the gateway and the simulator under a Supervisor. Each child has a thread that
starts it and waits for it; when it dies (any exit, or a signal such as kill -9) the death is logged
at WARNING with its exit code or signal and the delay before the restart. The delay starts at
`initial_delay_s` and doubles on each death up to `max_delay_s`; a child that ran for `reset_after_s`
or longer before dying starts again from `initial_delay_s`. `stop()` ends every child (SIGTERM, then
SIGKILL after `stop_timeout_s`) and restarts none. Process management only: imports no service.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("core.supervisor")


def describe_exit(returncode: int) -> str:
    """How a child ended, for the log: `exited with code 1` or `was killed by signal SIGKILL`."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = str(-returncode)
    return f"was killed by signal {name}"


class Supervisor:
    """Runs named commands as child processes and restarts each one that dies, until `stop()`."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        initial_delay_s: float = 1.0,
        max_delay_s: float = 60.0,
        reset_after_s: float = 60.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        if initial_delay_s <= 0 or max_delay_s < initial_delay_s:
            raise ValueError("need 0 < initial_delay_s <= max_delay_s")
        self.commands = {name: list(argv) for name, argv in commands.items()}
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.initial_delay_s = initial_delay_s
        self.max_delay_s = max_delay_s
        self.reset_after_s = reset_after_s
        self.stop_timeout_s = stop_timeout_s
        self._lock = threading.Lock()  # a child is started only while not stopping, never after stop()
        self._stopping = threading.Event()
        self._processes: dict[str, subprocess.Popen] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start every child, each watched by its own thread; returns at once."""
        for name, argv in self.commands.items():
            thread = threading.Thread(target=self._watch, args=(name, argv), name=f"supervise-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)  # only started threads: stop() joins them

    def pid(self, name: str) -> int | None:
        """The process id of the child `name` while it runs, else None."""
        process = self._processes.get(name)
        return process.pid if process is not None and process.poll() is None else None

    def stop(self) -> None:
        """End every child and restart none; returns once they are gone. Safe to call twice."""
        with self._lock:
            self._stopping.set()
            processes = list(self._processes.values())
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        # Its own session: Ctrl-C in the terminal reaches only the parent, which then stops the
        # children itself, instead of children dying first and being reported (and restarted) as crashes.
        return subprocess.Popen(argv, cwd=self.cwd, env=self.env, start_new_session=os.name == "posix")

    def _watch(self, name: str, argv: list[str]) -> None:
        delay_s = self.initial_delay_s
        restarting = False
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    process = self._spawn(argv)
                except OSError as exc:
                    process = None
                    log.warning("%s could not start (%s); retrying in %g s", name, exc, delay_s)
                else:
                    self._processes[name] = process
            if process is not None:
                if restarting:
                    log.warning("%s restarted (pid %d)", name, process.pid)
                started = time.monotonic()
                returncode = process.wait()
                if self._stopping.is_set():
                    return
                if time.monotonic() - started >= self.reset_after_s:
                    delay_s = self.initial_delay_s  # it had been running fine: a fresh crash, not a crash loop
                log.warning("%s (pid %d) %s; restarting in %g s", name, process.pid, describe_exit(returncode), delay_s)
            restarting = True
            if self._stopping.wait(delay_s):
                return
            delay_s = min(delay_s * 2, self.max_delay_s)
