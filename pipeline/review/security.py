"""What keeps the review page safe: CSRF tokens, the access token, headers, bind checks.

Everything the page shows comes from untrusted papers and case pages, so templates
autoescape, the Content-Security-Policy forbids inline scripts and styles, and no
file path is ever taken from a request.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlencode

from flask import Flask, Response, abort, redirect, request, session
from werkzeug.wrappers import Response as BaseResponse

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


class BindError(ValueError):
    """The server would listen beyond this machine without an access token."""


def is_loopback(host: str) -> bool:
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen on a non-loopback address unless an access token is set."""
    if not is_loopback(host) and not token:
        raise BindError(
            f"refusing to listen on {host} without an access token: anyone who can reach it "
            "could approve rows; pass --token (or set PIPELINE_REVIEW_TOKEN), "
            "or bind to 127.0.0.1"
        )


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="the form's security token is missing or stale; reload the page")


def _check_access(token: str) -> BaseResponse | None:
    """Let a request through with the token in the session, a Bearer header or ?token=."""
    if session.get("access") is True:  # the session cookie is signed with a per-process key
        return None
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].encode(), token.encode()):
        return None
    offered = request.args.get("token", "")
    if offered and hmac.compare_digest(offered.encode(), token.encode()):
        session["access"] = True
        # Drop the token from the address bar (and from Referer headers) at once.
        args = {key: value for key, value in request.args.items() if key != "token"}
        query = urlencode(args)
        return redirect(request.path + (f"?{query}" if query else ""))
    abort(401, description="this review page needs its access token: open the address it printed")
    return None


def _set_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask, token: str | None) -> None:
    """Session cookie settings, the access-token and CSRF checks, and security headers."""
    app.secret_key = secrets.token_bytes(32)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="review_session",
    )
    if not token:
        # Only loopback names: a page elsewhere that rebinds its DNS name to 127.0.0.1
        # gets a 400 instead of this app.
        app.config["TRUSTED_HOSTS"] = list(LOOPBACK_NAMES)

    @app.before_request
    def _guard() -> BaseResponse | None:
        if token and request.endpoint != "static":
            denied = _check_access(token)
            if denied is not None:
                return denied
        if request.method not in SAFE_METHODS:
            _check_csrf()
        return None

    app.after_request(_set_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
