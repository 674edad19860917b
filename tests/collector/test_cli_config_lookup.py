"""How `canhgac` finds its config and its database, as an operator meets it on a fresh server: real
subprocesses, real SQLite and PostgreSQL. /etc/canhgac/server.yaml is stood in for by a temporary path
(CANHGAC_INTERNAL_DEFAULT_CONFIG), so the machine's own /etc never matters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect

from canhgac_agent import __version__
from canhgac_collector.store.db import make_engine
from tests.conftest import site_tree

BIN = Path(sys.executable).parent


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = env if env is not None else _env(cwd / "no-such-etc" / "server.yaml")
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**base, **(extra_env or {})},
    )


def _env(default_config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANHGAC_")}
    env["CANHGAC_INTERNAL_DEFAULT_CONFIG"] = str(default_config)
    return env


def _config(path: Path, db_url: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"database_url": db_url, "sites": site_tree()}, allow_unicode=True), encoding="utf-8"
    )
    return path


def test_config_is_found_by_option_then_environment_then_etc(tmp_path: Path) -> None:
    by_option = _config(tmp_path / "a" / "server.yaml", "sqlite:///option.sqlite")
    by_env = _config(tmp_path / "b" / "server.yaml", "sqlite:///env.sqlite")
    by_default = _config(tmp_path / "etc" / "server.yaml", "sqlite:///default.sqlite")
    env = _env(by_default)

    r = run(
        "db", "upgrade", "--config", str(by_option), cwd=tmp_path, env={**env, "CANHGAC_CONFIG": str(by_env)}
    )
    assert r.returncode == 0, r.stderr
    assert f"{tmp_path / 'a' / 'option.sqlite'}:" in r.stdout
    r = run("db", "upgrade", cwd=tmp_path, env={**env, "CANHGAC_CONFIG": str(by_env)})
    assert r.returncode == 0, r.stderr
    assert f"{tmp_path / 'b' / 'env.sqlite'}:" in r.stdout
    r = run("db", "upgrade", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert f"{tmp_path / 'etc' / 'default.sqlite'}:" in r.stdout
    for made in ("a/option.sqlite", "b/env.sqlite", "etc/default.sqlite"):
        assert (tmp_path / made).is_file()

    # Every store command takes the same path: `token list` on the default config names its database.
    r = run("token", "list", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert f"database: sqlite:///{tmp_path / 'etc' / 'default.sqlite'}" in r.stderr
    # `config check` without an argument checks the file it found.
    r = run("config", "check", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{by_default}: OK")


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["db", "upgrade"],
        ["token", "list"],
        ["config", "check"],
        ["alerts", "list"],
        ["vulns", "list"],
        ["audit", "--site", "HT", "--out", "report"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_without_any_config_a_command_names_the_three_places_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    r = run(*command, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    line = r.stderr.strip()
    assert "no server config found" in line
    assert "--config" in line
    assert "CANHGAC_CONFIG" in line
    assert str(tmp_path / "no-such-etc" / "server.yaml") in line
    assert not (tmp_path / "canhgac.sqlite").exists()
    assert [p.name for p in tmp_path.iterdir()] == [], "the command left files behind"


def test_a_missing_config_named_by_the_environment_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    fallback = _config(tmp_path / "etc" / "server.yaml", "sqlite:///default.sqlite")
    r = run(
        "token",
        "list",
        cwd=tmp_path,
        env=_env(fallback),
        extra_env={"CANHGAC_CONFIG": str(tmp_path / "typo.yaml")},
    )
    assert r.returncode == 2
    assert f"{tmp_path / 'typo.yaml'}: cannot read" in r.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["token", "list"],
        ["token", "create", "--role", "admin"],
        ["token", "revoke", "abc"],
        ["alerts", "list"],
        ["alerts", "silence", "list"],
        ["vulns", "list"],
        ["topology", "approve", "--site", "P", "--by", "x"],
        ["audit", "--site", "P", "--out", "report"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_only_db_upgrade_creates_a_database(tmp_path: Path, db_url: str, command: list[str]) -> None:
    """A command on a database that is missing (SQLite) or never migrated (PostgreSQL) stops, says to
    run `canhgac db upgrade`, and leaves the database as it was."""
    cfg = _config(tmp_path / "server.yaml", db_url)
    r = run(*command, "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "canhgac db upgrade" in r.stderr
    assert not (tmp_path / "canhgac.sqlite").exists()
    if db_url.startswith("postgresql"):
        engine = make_engine(db_url)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()


def test_the_database_named_on_stderr_has_its_password_masked(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "server.yaml", "postgresql+psycopg://canhgac:hunter2-secret@127.0.0.1:9/canhgac")
    r = run("token", "list", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 2
    assert "canhgac:***@127.0.0.1:9/canhgac" in r.stderr
    assert "hunter2" not in r.stderr + r.stdout


def test_version_of_both_console_scripts() -> None:
    for script, name in ((BIN / "canhgac", "canhgac"), (BIN / "canhgac-agent", "canhgac-agent")):
        r = subprocess.run(
            [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"{name} {__version__}"


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_ids_are_whole_when_piped_or_wide_and_revoke_takes_them(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path / "server.yaml", f"sqlite:///{tmp_path / 'db.sqlite'}"))
    assert run("db", "upgrade", "--config", cfg, cwd=tmp_path).returncode == 0
    # A long holder name makes the table wider than an 80-column screen.
    name = "Nguyễn Văn A, cán bộ chuyên trách an toàn thông tin, UBND xã Cẩm Xuyên, huyện Cẩm Xuyên"
    r = run("token", "create", "--role", "admin", "--name", name, "--config", cfg, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    token_id = re.search(r"token ([0-9a-f]{12})", r.stdout)
    assert token_id is not None, r.stdout
    narrow = {"COLUMNS": "80"}

    piped = run("token", "list", "--config", cfg, cwd=tmp_path, extra_env=narrow)
    assert piped.returncode == 0, piped.stderr
    assert "…" not in piped.stdout
    assert token_id.group(1) in piped.stdout
    assert name in piped.stdout
    # On a (forced) 80-column terminal the table fits the screen; --wide prints it whole.
    on_screen = run("token", "list", "--config", cfg, cwd=tmp_path, extra_env={**narrow, "FORCE_COLOR": "1"})
    assert "…" in ANSI.sub("", on_screen.stdout)
    wide = run(
        "token", "list", "--wide", "--config", cfg, cwd=tmp_path, extra_env={**narrow, "FORCE_COLOR": "1"}
    )
    assert "…" not in ANSI.sub("", wide.stdout)
    assert name in ANSI.sub("", wide.stdout)

    # The id as the piped table prints it is the id `token revoke` takes.
    [row] = [line for line in piped.stdout.splitlines() if "admin" in line]
    printed_id = row.strip("│ ").split()[0]
    revoked = run("token", "revoke", printed_id, "--config", cfg, cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert printed_id in revoked.stdout
