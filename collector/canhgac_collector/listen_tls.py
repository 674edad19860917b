"""`listen.tls`: the API served over HTTPS by `canhgac serve` itself, optionally asking every client
for a certificate signed by a given CA (mutual TLS).

The files are loaded into a TLS context when the config is validated, so `canhgac config check`
catches an unreadable file, a key that does not belong to the certificate or an encrypted key before
`serve` would fail at start. Messages name the files, never their contents.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# TLS 1.2 suites with forward secrecy and AEAD only (TLS 1.3 suites are not affected by this list).
SERVER_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
PATH_KEYS = ("cert_file", "key_file", "client_ca_file")


class ListenTlsConfig(BaseModel):
    """Certificate and key of the server; `client_ca_file` turns on mutual TLS."""

    model_config = ConfigDict(extra="forbid")

    cert_file: str = Field(min_length=1)  # PEM: the server certificate, then any intermediates
    key_file: str = Field(min_length=1)  # PEM private key, unencrypted (the service starts unattended)
    client_ca_file: str | None = None  # PEM CA(s): clients must present a certificate they signed

    @model_validator(mode="after")
    def _files_load(self) -> ListenTlsConfig:
        for key in PATH_KEYS:
            path = getattr(self, key)
            if path is not None:
                _readable(key, path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.cert_file, self.key_file, password=_no_password)
        except _EncryptedKeyError:
            raise ValueError(
                f"key_file {self.key_file} is encrypted; give an unencrypted key (mode 0600)"
            ) from None
        except ssl.SSLError:
            raise ValueError(
                f"cert_file {self.cert_file} and key_file {self.key_file} do not load together "
                "(not PEM, or the key does not belong to the certificate)"
            ) from None
        if self.client_ca_file is not None:
            try:
                context.load_verify_locations(cafile=self.client_ca_file)
            except ssl.SSLError:
                raise ValueError(f"client_ca_file {self.client_ca_file} holds no PEM certificate") from None
        return self

    def uvicorn_options(self) -> dict[str, Any]:
        """The keyword arguments that make uvicorn serve HTTPS with these files."""
        return {
            "ssl_certfile": self.cert_file,
            "ssl_keyfile": self.key_file,
            "ssl_ca_certs": self.client_ca_file,
            "ssl_cert_reqs": ssl.CERT_REQUIRED if self.client_ca_file else ssl.CERT_NONE,
            "ssl_ciphers": SERVER_CIPHERS,
        }

    def certificate_expiry(self) -> dt.datetime:
        """notAfter of the server certificate (the first one in `cert_file`), in UTC."""
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(Path(self.cert_file).read_bytes())
        return cert.not_valid_after_utc


class _EncryptedKeyError(Exception):
    pass


def _no_password() -> bytes:
    """OpenSSL asks for a password only for an encrypted key: fail instead of prompting on a terminal."""
    raise _EncryptedKeyError


def _readable(key: str, path: str) -> None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ValueError(f"{key} {path}: cannot read: {exc.strerror or exc}") from None


def resolve_paths(listen: Any, base: Path) -> None:
    """Make relative `listen.tls` paths of a parsed YAML mapping relative to the config file's folder."""
    tls = listen.get("tls") if isinstance(listen, dict) else None
    if not isinstance(tls, dict):
        return
    for key in PATH_KEYS:
        value = tls.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            tls[key] = str(base / value)
