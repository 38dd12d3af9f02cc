"""Keeping credentials out of ``repr``, ``str``, error messages, logs and agent results.

One helper for every URL the reference code holds: Redis URLs in each form redis-py accepts
(``redis://user:password@host``, ``redis://:password@host``, ``?password=`` in the query,
``unix://:password@/path.sock`` and ``unix:///path.sock?password=``, ``rediss://``, IPv6
hosts such as ``[::1]``) and the OpenAI client's ``base_url`` (user info, ``?api_key=`` and
the like). :func:`redact_url` rewrites a URL for display; :func:`url_secrets` lists the
secrets a URL carries, and :func:`scrub` removes those (and an API key) from any text, such
as a library's error message, in both their raw and percent-decoded forms.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["MASK", "redact_url", "scrub", "url_secrets"]

#: What a secret is replaced with.
MASK = "***"

# Query parameters whose value is a credential: redis-py's ``password``, and the names HTTP
# APIs use for keys and tokens (``api_key``, ``api-key``, ``key``, ``token``, ``sig``, ...).
_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|auth|sig|credential", re.IGNORECASE)

# The user information of something that looks like a URL, for text urlsplit cannot parse.
_USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")


def _is_secret_parameter(name: str) -> bool:
    return _SECRET_PARAMETER.search(name) is not None


def redact_url(url: str) -> str:
    """``url`` with every credential replaced by ``***``, everything else kept as written.

    A password in the user information becomes ``user:***@`` (``:***@`` without a user);
    user information with no password is masked whole (``***@``), since a key is often
    written there; the value of a query parameter named like a credential (``password``,
    ``api_key``, ``token``, ...) becomes ``***``. The host is kept verbatim, IPv6 brackets
    and port included. Text that is not a parseable URL has its user information masked.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(MASK + "@", url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if colon else MASK
        netloc = f"{userinfo}@{hostport}"
    else:
        netloc = parts.netloc
    query = parts.query
    if query:
        query = "&".join(_redact_parameter(piece) for piece in query.split("&"))
    if netloc == parts.netloc and query == parts.query:
        return url
    if not netloc:  # unix:///path: urlunsplit would drop the empty authority's "//"
        rest = urlunsplit(parts._replace(scheme="", query=query))
        return f"{parts.scheme}://{rest}" if parts.scheme else f"//{rest}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _redact_parameter(piece: str) -> str:
    name, equals, value = piece.partition("=")
    if equals and value and _is_secret_parameter(unquote(name)):
        return f"{name}={MASK}"
    return piece


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials ``url`` carries (password, bare user information, secret query
    values), each raw and percent-decoded, longest first; ``()`` when there are none."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
    except ValueError:
        match = _USERINFO.search(url)
        if match:
            found.add(match.group()[:-1])
    else:
        userinfo, at, _ = parts.netloc.rpartition("@")
        if at:
            user, colon, password = userinfo.partition(":")
            found.add(password if colon else user)
            # An HTTP client sends user information as Basic credentials, which a server
            # may echo: base64 of "user:password", as written and percent-decoded.
            for pair in {userinfo, f"{unquote(user)}:{unquote(password)}" if colon else ""}:
                if pair:
                    found.add(base64.b64encode(pair.encode("utf-8", "replace")).decode("ascii"))
        for piece in parts.query.split("&"):
            name, equals, value = piece.partition("=")
            if equals and _is_secret_parameter(unquote(name)):
                found.update((value, unquote(value), unquote(value.replace("+", " "))))
    found.update({unquote(secret) for secret in found})
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***`` (longest first, so a
    secret that contains another is masked whole); ``None`` and empty secrets are ignored."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
