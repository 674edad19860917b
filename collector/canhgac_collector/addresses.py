"""Host addresses in the server config and the devices API: an IP address or a DNS host name, checked
when the config is loaded (or the request read), so that `10.10.0.300` or `http://10.0.0.1` is refused
with its key instead of failing at the first poll or probe."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(\\.{_OCTET}){{3}}"
_IPV6 = (
    f"(({_H16}:){{7}}{_H16}|({_H16}:){{1,7}}:|({_H16}:){{1,6}}:{_H16}|({_H16}:){{1,5}}(:{_H16}){{1,2}}"
    f"|({_H16}:){{1,4}}(:{_H16}){{1,3}}|({_H16}:){{1,3}}(:{_H16}){{1,4}}|({_H16}:){{1,2}}(:{_H16}){{1,5}}"
    f"|{_H16}:(:{_H16}){{1,6}}|:((:{_H16}){{1,7}}|:))(%[A-Za-z0-9_.-]{{1,32}})?"
)
_NAME = r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?"
# What the API documents (OpenAPI `pattern`): a subset of what `check_host` accepts (a host name's last
# label starts with a letter there).
HOST_ADDRESS_RE = f"^({_IPV4}|{_IPV6}|{_NAME})$"
IP_ADDRESS_RE = f"^({_IPV4}|{_IPV6})$"  # an IP address alone (v6 may carry a %zone)


def check_host(value: str) -> str:
    """`value` if it is an IP address (v6 may carry a %zone) or a DNS host name (RFC 1123)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return value
    labels = value.rstrip(".").split(".")
    if (
        len(value) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # all-numeric last label: a mistyped IPv4 address, not a name
    ):
        raise ValueError(f"{value!r} is neither an IP address nor a DNS host name")
    return value


HostAddress = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(check_host)]
