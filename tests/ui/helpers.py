"""Helpers for browser tests: which hosts did the page talk to?"""

from __future__ import annotations

import json
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "devtools"}


def requested_urls(driver) -> list[str]:
    """Every URL the browser asked for since the last call (Chrome performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def non_local(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine."""
    out = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in LOCAL_SCHEMES:
            continue
        if parsed.hostname not in LOCAL_HOSTS:
            out.append(url)
    return out


def start_logged_in(dash_duo, app, *, username: str, role: str, path: str = "/") -> str:
    """Start the app and log in through the /login form as `username` (created with `role`), then open
    `path`. Returns the server's base URL."""
    from sqlmodel import select

    from core import models
    from core.db import session_scope
    from core.security import hash_password

    password = f"{username}-pw"
    with session_scope() as session:
        if session.exec(select(models.User).where(models.User.username == username)).first() is None:
            session.add(models.User(username=username, role=role, password_hash=hash_password(password)))
    dash_duo.start_server(app, navigate=False)
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#login-username", timeout=10).send_keys(username)
    dash_duo.find_element("#login-password").send_keys(password)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#_pages_content", timeout=15)
    base = dash_duo.server.url.rstrip("/")
    if path != "/":
        dash_duo.driver.get(base + path)
    return base
