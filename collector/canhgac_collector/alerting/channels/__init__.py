"""Notification channels, one module each. A channel sends one `Outgoing` or raises `ChannelError`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ChannelError(Exception):
    """A send that failed; the outbox retries it later."""


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    payload: Any


def post_json(url: str, body: Any, timeout_s: float, headers: dict[str, str] | None = None) -> bytes:
    """POST `body` as JSON; the reply body, or ChannelError on any network error or non-2xx status."""
    import urllib.error
    import urllib.request

    import orjson

    data = body if isinstance(body, bytes) else orjson.dumps(body)
    req = urllib.request.Request(  # noqa: S310 (a configured http(s) URL)
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (configured http(s) URL)
            reply: bytes = resp.read()
            return reply
    except urllib.error.HTTPError as exc:
        text = exc.read()[:300].decode("utf-8", "replace")
        raise ChannelError(f"{url}: HTTP {exc.code}: {text}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChannelError(f"{url}: {reason}") from None
