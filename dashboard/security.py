"""Who may act: the token, the session cookie it buys, and the CSRF token of each form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

SESSION_COOKIE = "brq_session"
CSRF_FIELD = "csrf"
#: How long a sign-in lasts, in seconds (the cookie's Max-Age, and checked on each request).
SESSION_TTL_S = 12 * 3600
#: Clock skew allowed for a session's issue time (one process signs and checks: small).
_SKEW_S = 60


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
    trades the token for a session cookie (HttpOnly, SameSite=Strict, SESSION_TTL_S long) at
    /login, and every form it posts carries a CSRF token bound to that session; a script may
    instead send
    ``Authorization: Bearer <token>``, which no other site can make a browser send."""

    token: str | None
    read_only: bool = False
    #: Signs sessions and CSRF tokens; new per process, so a restart logs everyone out.
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: Sessions signed out before they expired (this process's memory, like the secret).
    signed_out: set[str] = field(default_factory=set)

    @property
    def writable(self) -> bool:
        return self.token is not None and not self.read_only

    def _sign(self, *parts: str) -> str:
        return hmac.new(self.secret, "|".join(parts).encode(), hashlib.sha256).hexdigest()

    def seal(self, text: str) -> str:
        """``text`` with this process's signature, for a cookie the browser hands back."""
        return f"{self._sign('flash', text)}.{text}"

    def unseal(self, value: str) -> str | None:
        """The text of a value ``seal`` made, or None (forged, altered, or another process's)."""
        signature, _, text = value.partition(".")
        return text if matches(signature, self._sign("flash", text)) else None

    def session_for(self, token: str, now: float | None = None) -> str | None:
        """A new session cookie's value for a correct token ("issued.signature"), else None."""
        if self.token is None or not matches(token, self.token):
            return None
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{self._sign('session', self.token, issued)}"

    def valid_session(self, value: str, now: float | None = None) -> bool:
        """Signed by this process, not expired, not signed out."""
        issued, _, signature = value.partition(".")
        if not (issued.isascii() and issued.isdigit()) or not matches(
            signature, self._sign("session", str(self.token), issued)
        ):
            return False
        age = (time.time() if now is None else now) - int(issued)
        return -_SKEW_S <= age <= SESSION_TTL_S and value not in self.signed_out

    def sign_out(self, value: str) -> None:
        """Refuses ``value`` from now on (the browser drops its cookie; a copy would not)."""
        now = time.time()
        self.signed_out.add(value)
        # Expired sessions are refused anyway: forget them, so the set stays small.
        expired = {v for v in self.signed_out if now - int(v.partition(".")[0]) > SESSION_TTL_S}
        self.signed_out.difference_update(expired)

    def session(self, request: web.Request) -> str | None:
        """The request's valid session, or None."""
        if not self.writable:
            return None
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return cookie if cookie and self.valid_session(cookie) else None

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
