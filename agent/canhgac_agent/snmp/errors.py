"""Why an SNMP exchange failed. The poller turns these into a device state and a reason an operator reads."""

from __future__ import annotations


class SnmpError(Exception):
    """Base class. `reason` is a short machine-friendly word stored as the device's state reason."""

    reason = "error"


class SnmpTimeout(SnmpError):
    """No (valid) reply within timeout × (retries + 1). A wrong v1/v2c community looks like this too."""

    reason = "timeout"


class SnmpAuthError(SnmpError):
    """SNMPv3 authentication failed: unknown user, wrong key, unsupported security level (a Report PDU)."""

    reason = "auth_failure"


class SnmpMalformed(SnmpError):
    """A reply that is not valid BER/SNMP: truncated, garbage, wrong lengths. Says where it broke."""

    reason = "malformed_reply"


class SnmpProtocolError(SnmpError):
    """A well-formed reply reporting an error status (genErr, noAccess, …) we cannot work around."""

    reason = "protocol_error"


class SnmpWalkError(SnmpError):
    """A walk that misbehaved: OIDs that do not increase, or a walk past its row/packet cap."""

    reason = "bad_walk"
