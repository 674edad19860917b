"""Placeholder secrets: values copied from an example (`change-me-…`) that must never guard a real
server. Every `SecretStr` of the config (enrollment keys, SNMP communities and keys, tokens, channel
passwords and secrets) and the database password are checked; the refusal names where each one is,
never the value."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

# What examples and documentation put where a secret goes.
PLACEHOLDER = re.compile(
    r"change[-_. ]?me|changeit|replace[-_. ]?me|your[-_. ]?(secret|key|token|password)"
    r"|a-long-random-string|site-key-from-server-yaml"
    r"|^(password|passwd|secret|token|todo|fixme|x{3,}|\*{3,}|<[^>]*>)$",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"://[^:/@]+:([^@]*)@")


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.search(value))


def _secrets(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(dotted path, secret) of every SecretStr under `value`."""
    if isinstance(value, SecretStr):
        yield path, value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _secrets(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secrets(item, f"{path}.{key}")


def placeholder_secrets(config: BaseModel, database_url: str | None = None) -> list[str]:
    """Where `config` holds a placeholder secret, as dotted keys (`sites[0].enrollment_keys[1]`)."""
    found = [path for path, secret in _secrets(config, "") if is_placeholder(secret)]
    password = _URL_PASSWORD.search(database_url or "")
    if password and is_placeholder(password.group(1)):
        found.append("database_url (password)")
    return found


def refusal(paths: list[str]) -> str:
    """The error for `placeholder_secrets`' result."""
    return (
        "bí mật còn là giá trị mẫu, hãy thay bằng giá trị ngẫu nhiên / placeholder secrets copied from an "
        "example must be replaced by random values (e.g. `openssl rand -base64 24`): " + ", ".join(paths)
    )
