"""The security headers of every web response (Flask; no Dash here).

- Content-Security-Policy: scripts only from this server plus the inline scripts Dash writes into
  its page (the renderer start and clientside callbacks), allowed by their SHA-256 (the web app
  passes `Dash.csp_hashes`), so an injected <script> or an event-handler attribute does not run; no
  plugins, no <base> change, forms post only here, no framing (frame-ancestors 'none', and
  X-Frame-Options for older browsers). Styles allow 'unsafe-inline': plotly.js and the date picker
  set style attributes, and a style cannot run code.
- Strict-Transport-Security only on a request that came over HTTPS (directly, or through a trusted
  reverse proxy that says so: app.py's `serve_options`); over plain HTTP it would mean nothing.
- Cache-Control: no-store on everything but static files (/assets, component bundles): pages, the
  Dash API that carries the site's data, and CSV downloads never sit in a browser or proxy cache.
- X-Content-Type-Options: nosniff; Referrer-Policy: same-origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, request

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy text, with each inline script's CSP hash ("'sha256-...'") allowed."""
    hashes = " ".join(dict.fromkeys(script_hashes))  # unique, in order
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' {hashes}".strip(),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def install(server: Flask, *, script_hashes: Callable[[], Iterable[str]] = tuple) -> None:
    """Add the headers above to every response of `server`.

    `script_hashes` is asked on each page response (cheap), so inline scripts registered after
    start-up are allowed too.
    """

    def add_headers(response):
        headers = response.headers
        if response.mimetype == "text/html":
            headers["Content-Security-Policy"] = content_security_policy(script_hashes())
        else:
            headers.setdefault("Content-Security-Policy", content_security_policy())
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            headers["Strict-Transport-Security"] = HSTS
        if not request.path.startswith(STATIC_PREFIXES):
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
            headers.pop("Last-Modified", None)
            headers.pop("ETag", None)
        return response

    server.after_request(add_headers)
