"""Outbound filtering test (`SecurityFacts.egress`, NW-27).

With `[egress] endpoint` set in the agent config (a test server outside the agency network that
listens on the probed ports), the agent tries a TCP connection to each of `ports` (445/SMB and
3389/RDP by default), each bounded by `timeout_s`, and reports which connected: a connection means
the network lets that traffic out. Refused or timed-out attempts count as blocked (a refusal may
also be the endpoint's own, hence the endpoint must listen). Without an endpoint nothing is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import clip
from canhgac_agent.facts.family import FactFamily

if TYPE_CHECKING:
    from canhgac_agent.config import EgressConfig
    from canhgac_agent.facts.linux import LinuxHost
    from canhgac_agent.facts.windows import WindowsHost

NOT_CONFIGURED = "chưa cấu hình [egress] endpoint / [egress] endpoint not configured"


def try_connect(endpoint: str, port: int, timeout_s: float) -> dict[str, Any]:
    """One TCP connection attempt: `{"port", "open", "error"}` (error: refused, timeout, or the OS's)."""
    import socket

    try:
        with socket.create_connection((endpoint, port), timeout=timeout_s):
            return {"port": port, "open": True, "error": None}
    except TimeoutError:
        return {"port": port, "open": False, "error": "timeout"}
    except ConnectionRefusedError:
        return {"port": port, "open": False, "error": "refused"}
    except OSError as exc:
        return {"port": port, "open": False, "error": clip(exc.strerror or type(exc).__name__)}


def run_egress_test(settings: EgressConfig | None) -> dict[str, Any]:
    """`EgressTest` for `settings` (the agent config's [egress]); nothing is sent when not configured."""
    if settings is None or settings.endpoint is None:
        return {
            "configured": False,
            "endpoint": None,
            "attempts": [],
            "open_ports": None,
            "detail": NOT_CONFIGURED,
        }
    attempts = [try_connect(settings.endpoint, port, settings.timeout_s) for port in settings.ports[:16]]
    return {
        "configured": True,
        "endpoint": clip(settings.endpoint),
        "attempts": attempts,
        "open_ports": [a["port"] for a in attempts if a["open"]],
    }


def read(host: LinuxHost | WindowsHost) -> dict[str, Any]:
    """The same on both systems: sockets only."""
    return run_egress_test(host.egress)


PLUGIN = FactFamily(name="egress", linux=read, windows=read)
