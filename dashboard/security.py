"""Who may act: the token, the session cookie it buys, and the CSRF token of each form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from aiohttp import web

SESSION_COOKIE = "brq_session"
CSRF_FIELD = "csrf"


def matches(given: str, expected: str) -> bool:
    """Constant-time equality of two texts; any characters (``hmac.compare_digest`` raises
    TypeError on ``str`` with non-ASCII ones, and cookies and forms may hold them)."""
    return hmac.compare_digest(given.encode(), expected.encode())


class TokenFileError(Exception):
    """The token file cannot be used; the message says why."""


def read_token(path: str) -> str:
    """The token on the first line of ``path`` (a mounted Secret, say)."""
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise TokenFileError(f"--token-file: cannot read {path} ({reason})") from None
    if len(token) < 16:
        raise TokenFileError(f"--token-file: {path} must hold a token of 16 characters or more")
    return token


@dataclass(frozen=True)
class Guard:
    """Actions are allowed only with a token configured and not ``read_only``. A browser
    trades the token for a session cookie (HttpOnly, SameSite=Strict) at /login, and every
    form it posts carries a CSRF token bound to that session; a script may instead send
    ``Authorization: Bearer <token>``, which no other site can make a browser send."""

    token: str | None
    read_only: bool = False
    #: Signs sessions and CSRF tokens; new per process, so a restart logs everyone out.
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def writable(self) -> bool:
        return self.token is not None and not self.read_only

    def _sign(self, *parts: str) -> str:
        return hmac.new(self.secret, "|".join(parts).encode(), hashlib.sha256).hexdigest()

    def session_for(self, token: str) -> str | None:
        """The session cookie's value for a correct token, else None."""
        if self.token is None or not matches(token, self.token):
            return None
        return self._sign("session", self.token)

    def session(self, request: web.Request) -> str | None:
        """The request's valid session, or None."""
        if not self.writable:
            return None
        cookie = request.cookies.get(SESSION_COOKIE, "")
        expected = self._sign("session", str(self.token))
        return cookie if cookie and matches(cookie, expected) else None

    def bearer(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        return bool(given) and self.session_for(given) is not None and self.writable

    def csrf_for(self, request: web.Request) -> str:
        """The CSRF token forms on this page carry ("" when the request may not act)."""
        session = self.session(request)
        return self._sign("csrf", session) if session else ""

    def refusal(self, request: web.Request, form: dict[str, str]) -> str | None:
        """Why this POST may not act, or None when it may."""
        if self.token is None:
            return "this dashboard is read-only: start it with --token-file to allow actions"
        if self.read_only:
            return "this dashboard was started with --read-only"
        if self.bearer(request):
            return None
        if self.session(request) is None:
            return "not signed in: actions need the dashboard's token (sign in at /login)"
        expected = self.csrf_for(request)
        if not matches(form.get(CSRF_FIELD, ""), expected):
            return "missing or wrong CSRF token: reload the page and try again"
        return None
