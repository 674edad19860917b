"""Why a TLS connection to the server failed, in words a commune's IT officer can act on (Vietnamese,
then English), instead of OpenSSL's "certificate verify failed: unable to get local issuer certificate".

Imports nothing: `ssl` is loaded only for an https server, and when it was not, no exception can be
a TLS one.
"""

from __future__ import annotations

import sys

# OpenSSL X509_V_ERR_* codes (x509_vfy.h) of a failed server certificate check.
_UNKNOWN_CA = frozenset({2, 18, 19, 20, 21})  # no trusted issuer, self-signed, incomplete chain
_NOT_YET_VALID = 9
_EXPIRED = 10
_REVOKED = 23
_NAME_MISMATCH = frozenset({62, 64})  # host name, IP address
# OpenSSL reasons of a TLS alert the server sent about the agent's own certificate.
_CLIENT_CERT_ALERTS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
    }
)
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})
_CLIENT_CERT_HINT = "set tls.cert_file and tls.key_file in agent.toml"


def describe(exc: BaseException, host: str, *, ca_file: str | None, client_cert: bool) -> str | None:
    """A bilingual reason for `exc` raised talking to `host` over TLS, or None when it is no TLS error.

    `ca_file`: the pinned CA file in use (None: the system's CAs); `client_cert`: whether the agent
    presents a certificate of its own.
    """
    ssl = sys.modules.get("ssl")
    if ssl is None or not isinstance(exc, ssl.SSLError):
        return None
    trusted = f"tls.ca_file {ca_file}" if ca_file else "the system's CAs"
    code = getattr(exc, "verify_code", None)
    if code in _UNKNOWN_CA:
        return (
            f"chứng chỉ của máy chủ {host} không do CA tin cậy cấp / the server's certificate is signed "
            f"by an unknown CA (trusted: {trusted}); set tls.ca_file to the CA that signed it"
        )
    if code == _EXPIRED:
        return (
            f"chứng chỉ của máy chủ {host} đã hết hạn / the server's certificate has expired; "
            "renew it on the server (listen.tls.cert_file), or check this PC's clock"
        )
    if code == _NOT_YET_VALID:
        return (
            f"chứng chỉ của máy chủ {host} chưa có hiệu lực / the server's certificate is not valid yet; "
            "check this PC's clock"
        )
    if code == _REVOKED:
        return f"chứng chỉ của máy chủ {host} đã bị thu hồi / the server's certificate is revoked"
    if code in _NAME_MISMATCH:
        return (
            f"chứng chỉ của máy chủ không mang tên {host} / host name mismatch: the server's certificate "
            f"is not valid for {host}; use the name it was issued for in server_url"
        )
    if code is not None:
        detail = getattr(exc, "verify_message", "") or "?"
        return f"không xác minh được chứng chỉ của máy chủ {host} / server certificate check failed: {detail}"
    reason = getattr(exc, "reason", None) or ""
    if reason in _CLIENT_CERT_ALERTS:
        fix = "it may not accept this agent's certificate" if client_cert else _CLIENT_CERT_HINT
        return (
            f"máy chủ {host} từ chối chứng chỉ máy khách / the server refused the client certificate "
            f"(mutual TLS, {reason}): {fix}"
        )
    if reason in _NOT_TLS:
        return (
            f"máy chủ {host} không dùng TLS ở địa chỉ này / the server does not speak TLS at this address: "
            "does it serve plain http:// (no listen.tls)?"
        )
    return f"lỗi TLS với máy chủ {host} / TLS error: {reason or exc}"


def closed_without_answer(host: str, *, client_cert: bool) -> str:
    """The server ended a fresh TLS connection without a reply: what a server requiring client
    certificates does to an agent without one (it sends no alert first)."""
    if client_cert:
        return (
            f"máy chủ {host} đóng kết nối TLS mà không trả lời / "
            "the server closed the TLS connection unanswered"
        )
    return (
        f"máy chủ {host} đóng kết nối TLS mà không trả lời, có thể vì yêu cầu chứng chỉ máy khách / "
        f"the server closed the TLS connection unanswered: it may require a client certificate "
        f"(mutual TLS): {_CLIENT_CERT_HINT}"
    )
