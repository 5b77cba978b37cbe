"""The web app's security headers, on the real app: a Content-Security-Policy that allows exactly the
inline scripts Dash writes (by hash) and no framing; HSTS only over HTTPS (directly or from a trusted
proxy); no-store on every response that carries data; nosniff."""

from __future__ import annotations

import base64
import hashlib
import re
import threading

import pytest
import requests

from core import web_headers
from tests.test_users_auth import accounts, client_for  # noqa: F401  (fixture: vic, olga, ada)


@pytest.fixture(scope="module")
def app_module():
    import app

    return app


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def inline_scripts(html: str) -> list[str]:
    """The inline scripts of a page that a browser would run (not JSON data blocks, not IE comments)."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    scripts = []
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        scripts.append(body)
    return scripts


def csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def test_page_csp_allows_exactly_dashs_inline_scripts_and_no_framing(app_module, accounts):  # noqa: F811
    c = client_for(app_module, "vic")
    r = c.get("/settings")
    assert r.status_code == 200
    policy = directives(r.headers["Content-Security-Policy"])
    scripts = inline_scripts(r.get_data(as_text=True))
    assert scripts, "the Dash page has inline scripts (renderer, clientside callbacks)"
    allowed = set(policy["script-src"])
    for script in scripts:
        assert csp_hash(script) in allowed, f"inline script not allowed: {script[:80]!r}"
    assert "'unsafe-inline'" not in allowed and "'unsafe-eval'" not in allowed and "*" not in allowed
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["default-src"] == ["'self'"] and policy["base-uri"] == ["'self'"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_an_injected_inline_script_is_not_allowed():
    policy = directives(web_headers.content_security_policy([csp_hash("var renderer = new DashRenderer();")]))
    assert csp_hash("alert(document.cookie)") not in policy["script-src"]


@pytest.mark.parametrize("path", ["/", "/settings", "/_dash-layout", "/_dash-dependencies", "/login"])
def test_pages_and_data_are_not_stored(app_module, accounts, path):  # noqa: F811
    c = client_for(app_module, "vic")
    r = c.get(path)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_callback_answers_and_csv_downloads_are_not_stored(app_module, accounts):  # noqa: F811
    """A callback's answer (here the Audit page's CSV export, which reaches the browser this way)."""
    c = client_for(app_module, "vic")
    body = {
        "output": "audit-download.data",
        "outputs": {"id": "audit-download", "property": "data"},
        "inputs": [{"id": "audit-export", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["audit-export.n_clicks"],
        "state": [
            {"id": "audit-actor", "property": "value", "value": None},
            {"id": "audit-action", "property": "value", "value": None},
            {"id": "audit-dates", "property": "start_date", "value": None},
            {"id": "audit-dates", "property": "end_date", "value": None},
        ],
    }
    r = c.post("/_dash-update-component", json=body, headers={"X-CSRFToken": c.get_cookie("_csrf_token").value})
    assert r.status_code == 200, r.data[:300]
    assert "audit.csv" in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(app_module):
    c = app_module.server.test_client()
    r = c.get("/assets/vendor/bootstrap-5.3.6.min.css")
    assert r.status_code == 200 and r.headers.get("Cache-Control") != "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(app_module):
    c = app_module.server.test_client()
    assert "Strict-Transport-Security" not in c.get("/login").headers
    r = c.get("/login", base_url="https://console.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def serve(app_module, settings):
    """The web app under waitress with app.py's options, on a free port; returns (base url, stop)."""
    from waitress import create_server

    options = {**app_module.serve_options(settings), "host": "127.0.0.1", "port": 0}
    server = create_server(app_module.server, **options)
    stopped = threading.Event()

    def loop():  # waitress's own loop, a tick at a time, so the test can stop it cleanly
        while not stopped.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def stop():
        stopped.set()
        thread.join(timeout=5)
        server.close()
        server.task_dispatcher.shutdown()

    return f"http://127.0.0.1:{server.effective_port}", stop


@pytest.mark.parametrize("trusted", [True, False])
def test_hsts_behind_a_reverse_proxy_that_says_https(app_module, trusted):
    """Behind the configured proxy (V2G_TRUSTED_PROXY), X-Forwarded-Proto: https counts; from a peer
    that is not the trusted proxy the header is ignored (anyone could send it)."""
    from core.config import Settings

    settings = Settings(trusted_proxy="127.0.0.1" if trusted else "")
    base, stop = serve(app_module, settings)
    try:
        r = requests.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10)
        assert r.status_code == 200
        assert ("Strict-Transport-Security" in r.headers) == trusted
        plain = requests.get(f"{base}/login", timeout=10)
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        stop()
