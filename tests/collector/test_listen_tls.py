"""`listen.tls`: files are checked when the config is loaded, errors name the file and never its content,
relative paths are relative to the config file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from canhgac_collector.config import ConfigError, load_config
from tests.harness.pki import TestCa


def _write(tmp_path: Path, tls: dict[str, str]) -> Path:
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump({"listen": {"tls": tls}}), encoding="utf-8")
    return path


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path / "pki")


def test_relative_files_are_found_beside_the_config(tmp_path: Path, ca: TestCa) -> None:
    ca.issue("server")
    cfg = load_config(
        _write(
            tmp_path,
            {
                "cert_file": "pki/server.pem",
                "key_file": "pki/server.key",
                "client_ca_file": "pki/" + ca.pem.name,
            },
        )
    )
    assert cfg.listen.tls is not None
    assert cfg.listen.tls.cert_file == str(tmp_path / "pki" / "server.pem")
    options = cfg.listen.tls.uvicorn_options()
    assert options["ssl_cert_reqs"] == 2  # ssl.CERT_REQUIRED: mutual TLS with a client CA


def test_an_unreadable_key_is_named(tmp_path: Path, ca: TestCa) -> None:
    issued = ca.issue("server")
    with pytest.raises(ConfigError, match=r"listen\.tls.*key_file .*missing\.key: cannot read"):
        load_config(
            _write(tmp_path, {"cert_file": str(issued.cert), "key_file": str(tmp_path / "missing.key")})
        )


def test_a_key_of_another_certificate_is_refused_without_showing_it(tmp_path: Path, ca: TestCa) -> None:
    issued = ca.issue("server")
    other = ca.issue("other")
    key_text = other.key.read_text()
    with pytest.raises(ConfigError, match="do not load together") as info:
        load_config(_write(tmp_path, {"cert_file": str(issued.cert), "key_file": str(other.key)}))
    assert key_text.splitlines()[1] not in str(info.value)


def test_an_encrypted_key_is_refused_instead_of_prompting(tmp_path: Path, ca: TestCa) -> None:
    issued = ca.issue("server")
    key = serialization.load_pem_private_key(issued.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(ConfigError, match="is encrypted"):
        load_config(_write(tmp_path, {"cert_file": str(issued.cert), "key_file": str(encrypted)}))


def test_a_client_ca_file_without_certificates_is_refused(tmp_path: Path, ca: TestCa) -> None:
    issued = ca.issue("server")
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    tls = {"cert_file": str(issued.cert), "key_file": str(issued.key), "client_ca_file": str(junk)}
    with pytest.raises(ConfigError, match=r"client_ca_file .* holds no PEM certificate"):
        load_config(_write(tmp_path, tls))


def test_config_check_shows_the_certificate_expiry(tmp_path: Path, ca: TestCa) -> None:
    issued = ca.expired("server")
    path = _write(tmp_path, {"cert_file": str(issued.cert), "key_file": str(issued.key)})
    out = subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", "config", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "HTTPS" in out.stdout
    assert "đã hết hạn" in out.stdout
    assert "has expired" in out.stdout
