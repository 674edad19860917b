"""Host addresses in the server config: an IP address or a DNS host name, checked when the config is
loaded, so that `10.10.0.300` or `http://10.0.0.1` is refused with its key instead of failing at the
first poll or probe."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_host(value: str, *, allow_unspecified: bool = False) -> str:
    """`value` if it is an IP address (v6 may carry a %zone) or a DNS host name (RFC 1123)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_multicast or (ip.is_unspecified and not allow_unspecified):
            raise ValueError(f"{value} is not a host address (multicast or unspecified)")
        return value
    labels = value.rstrip(".").split(".")
    if (
        len(value) > 253
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()  # all-numeric last label: a mistyped IPv4 address, not a name
    ):
        raise ValueError(f"{value!r} is neither an IP address nor a DNS host name")
    return value


def _listen_host(value: str) -> str:
    return check_host(value, allow_unspecified=True)


HostAddress = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(check_host)]
ListenHost = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_listen_host)]
