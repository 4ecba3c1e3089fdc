"""Keeping an API key that lives in a URL out of logs, error messages and reprs.

RPC providers put the key in the URL: Helius in the query (``/?api-key=KEY``), Alchemy and
QuickNode in a path segment (``/v2/KEY``, ``/TOKEN/``), some in the user-info part. So:

* ``redact_url`` writes a URL fit for a log line: user-info, every query value and every path
  segment that looks like a key (``looks_like_key``) become ``***``.
* ``SecretUrl`` pairs the real URL with its redacted form and ``scrub``s any text (a server's
  error message, an exception's text) of the hidden parts.
* ``SecretUrlTransport`` lets an ``httpx.AsyncClient`` address the *redacted* URL while the
  request leaves with the real one. httpx logs every request URL at INFO and puts it in
  ``Request`` reprs and ``HTTPStatusError`` messages; with this transport all of those show
  only ``***``.
"""

from __future__ import annotations

import re
import urllib.request
from base64 import b64encode
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

MASK = "***"
_KEYLIKE = re.compile(r"[A-Za-z0-9_\-.~]+")


def looks_like_key(segment: str) -> bool:
    """A path segment that could be a credential: 16+ characters, or 8+ mixing letters and digits.

    Over-redacting a display URL costs nothing; ``v2``, ``rpc`` or ``solana-mainnet`` stay.
    """
    if not _KEYLIKE.fullmatch(segment):
        return len(segment) >= 16
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    return len(segment) >= 16 or (len(segment) >= 8 and has_digit and has_alpha)


def _split(url: str) -> tuple[str, list[str]]:
    """The redacted URL and the secret strings it hides."""
    parts = urlsplit(url)
    secrets: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        secrets.append(password)
        if looks_like_key(unquote(user)):  # a token passed as the user name
            secrets.append(user)
        netloc = f"{MASK}@{host}"
    segments = []
    for segment in parts.path.split("/"):
        if segment and looks_like_key(unquote(segment)):
            secrets.append(segment)
            segments.append(MASK)
        else:
            segments.append(segment)
    query_items = []
    for item in parts.query.split("&") if parts.query else []:
        name, sep, value = item.partition("=")
        if sep:
            secrets.append(value)
            query_items.append(f"{name}={MASK}")
        elif looks_like_key(unquote(name)):
            secrets.append(name)
            query_items.append(MASK)
        else:
            query_items.append(name)
    redacted = urlunsplit(
        (
            parts.scheme,
            netloc,
            "/".join(segments),
            "&".join(query_items),
            MASK if parts.fragment else "",
        )
    )
    if parts.fragment:
        secrets.append(parts.fragment)
    return redacted, secrets


def redact_url(url: str) -> str:
    """``url`` with user-info, query values and key-like path segments replaced by ``***``."""
    return _split(url)[0]


class SecretUrl:
    """A URL that holds a secret: ``str()`` and ``repr()`` show only the redacted form.

    ``address`` is the redacted form without its user-info (``***@``): the URL a client built on
    ``SecretUrlTransport`` posts to (httpx would turn user-info into a Basic auth header).
    """

    __slots__ = ("_real", "_secrets", "address", "redacted")

    def __init__(self, url: str) -> None:
        self._real = url
        self.redacted, found = _split(url)
        self.address = str(httpx.URL(self.redacted).copy_with(username=None, password=None))
        forms = {s for s in found if len(s) >= 4}  # shorter values are not keys (``?limit=10``)
        forms |= {unquote(s) for s in forms} | {quote(unquote(s), safe="") for s in forms}
        # longest first, so a secret that contains another is removed whole
        self._secrets = sorted((s for s in forms if s), key=len, reverse=True)

    def reveal(self) -> str:
        """The real URL, for the transport only."""
        return self._real

    def scrub(self, text: str) -> str:
        """``text`` with every hidden part of the URL replaced by ``***``."""
        text = text.replace(self._real, self.redacted)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"SecretUrl({self.redacted!r})"


class SecretUrlTransport(httpx.AsyncBaseTransport):
    """Sends every request to the real URL; the client and its logs only ever see the redacted one.

    The client must address ``secret.address``; this transport swaps in the real URL, keeps the
    method, headers, body and extensions, and hands the request to ``inner``.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, secret: SecretUrl) -> None:
        self._inner = inner
        real = httpx.URL(secret.reveal())
        self._auth: str | None = None
        if real.username or real.password:
            # what httpx does with user-info in a URL it is given: HTTP Basic auth
            token = b64encode(f"{real.username}:{real.password}".encode()).decode()
            self._auth = f"Basic {token}"
        self._url = real.copy_with(username=None, password=None)

    def __repr__(self) -> str:
        return f"SecretUrlTransport({self._inner.__class__.__name__})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = request.headers.copy()
        if self._auth is not None:
            headers["Authorization"] = self._auth
        real = httpx.Request(
            request.method,
            self._url,
            headers=headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(real)

    async def aclose(self) -> None:
        await self._inner.aclose()


def default_transport(url: str) -> httpx.AsyncHTTPTransport:
    """A transport for ``url`` that uses the proxy from the environment, as httpx would.

    A client built on ``SecretUrlTransport`` sets ``trust_env=False`` (otherwise httpx would route
    proxied URLs around the wrapper, with the redacted URL), so the proxy is resolved here.
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        proxy = None
    return httpx.AsyncHTTPTransport(proxy=proxy, trust_env=True)
