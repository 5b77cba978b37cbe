"""`python app.py` on a fresh database: the generated admin password is shown in a box once start-up
has settled and kept in a file only its owner can read, and the log stays quiet afterwards (the
scheduler logs only what changes), so the password does not scroll away. Real processes: the web
app, the gateway and the simulated chargers, on free ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
QUIET_S = 6.0  # how long after the box the log is watched


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_generated_admin_password_stays_visible(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "V2G_ADMIN_PASSWORD"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'v2g.db'}", V2G_DEMO="1", V2G_WEB_PORT=str(free_port()),
               V2G_GATEWAY_PORT=str(free_port()), PYTHONUNBUFFERED="1")  # fmt: skip
    env.pop("V2G_GATEWAY_URL", None)
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(
        target=lambda: [lines.append((time.monotonic(), ln.rstrip("\n"))) for ln in process.stdout]
    )
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(ln.startswith("| Log in, change it") for _, ln in lines):
            assert process.poll() is None, "\n".join(ln for _, ln in lines)
            time.sleep(0.2)
        shown_at = next((t for t, ln in lines if ln.startswith("| Log in, change it")), None)
        assert shown_at is not None, "no password box:\n" + "\n".join(ln for _, ln in lines)
        time.sleep(QUIET_S)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            reader.join(timeout=10)

    text = [ln for _, ln in lines]
    box = text.index(next(ln for ln in text if ln.startswith("| Created the account 'admin'")))
    password = text[box + 1].strip("| ").strip()
    path = tmp_path / "initial-admin-password.txt"
    assert path.read_text().strip() == password and re.fullmatch(r"[\w-]{16,}", password)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    after = [ln for t, ln in lines if t > shown_at and "stopping" not in ln and t < shown_at + QUIET_S]
    assert len(after) < 25, "the log buries the password:\n" + "\n".join(after)
    assert not [ln for ln in text if "apscheduler" in ln or "Running job" in ln]
