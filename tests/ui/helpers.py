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
