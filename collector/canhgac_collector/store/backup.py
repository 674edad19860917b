"""Backup and restore of the state store together with the key files that alone decrypt it.

A backup is a directory (or the same as a `.tar.gz`):

    manifest.json        format, version, created_at, database kind and schema revision, every file
                         with its sha256 and size
    database.sqlite      SQLite: a consistent copy taken with SQLite's online backup API (the server
                         may keep writing meanwhile)
    database.pgdump      PostgreSQL: `pg_dump --format=custom` (a consistent snapshot)
    keys/secrets.key     the Fernet key of the device secrets (store/secrets.py)
    keys/alerts.key      the HMAC key of the acknowledge links (alerting/links.py)

Files are written 0600 in a 0700 directory: the keys are in it. Restore checks every hash and the
schema revision before it touches anything, refuses a non-empty target unless forced, and puts the
database and keys where the *current* configuration says they live. Stop `canhgac serve` first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from canhgac_collector.alerting import links
from canhgac_collector.config import ServerConfig
from canhgac_collector.store import secrets
from canhgac_collector.store.db import MIGRATIONS_DIR, current_revision, head_revision, make_engine

FORMAT = "canhgac-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
PGDUMP_FILE = "database.pgdump"
PG_TIMEOUT_S = 3600.0  # a dump or restore of a province's store takes minutes, not hours
MAX_MANIFEST_BYTES = 1024 * 1024

# role → (file name in the backup, where the configuration keeps it)
KEY_FILES: dict[str, tuple[str, Callable[[ServerConfig], Path]]] = {
    "secrets_key": ("keys/secrets.key", secrets.default_key_path),
    "alert_link_key": ("keys/alerts.key", links.default_key_path),
}


class BackupError(Exception):
    """A backup that cannot be made or a restore that is refused; the message says what and where."""


@dataclass
class Outcome:
    """What a backup or restore did, one line per step, for the operator."""

    path: Path
    steps: list[str] = field(default_factory=list)


def _version() -> str:
    try:
        return importlib.metadata.version("canhgac")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _backend(config: ServerConfig) -> tuple[str, URL]:
    url = make_url(config.database_url)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"database {config.redacted_database_url()}: backend {backend} is not supported")
    return backend, url


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(url.database)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)")
    return found


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes through the environment, never
    the command line (`ps` shows that to every local user)."""
    args = ["--dbname", url.set(drivername="postgresql", password=None).render_as_string()]
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run_pg(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(
            argv, check=False, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {PG_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


# --- backup -----------------------------------------------------------------------------------------


def _dump_sqlite(source: Path, target: Path) -> str | None:
    """Copy the live database with the online backup API (one consistent snapshot, writers go on in
    WAL mode); the copy is made a single self-contained file. Returns its schema revision."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        row = dst.execute(
            "SELECT version_num FROM alembic_version" if _has_table(dst, "alembic_version") else "SELECT NULL"
        ).fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the SQLite database {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()
    return None if row is None or row[0] is None else str(row[0])


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
    return row is not None


def _dump_postgres(config: ServerConfig, url: URL, target: Path) -> str | None:
    engine = make_engine(config.database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    args, env = _pg_args(url)
    _run_pg([_pg_tool("pg_dump"), "--format=custom", "--file", str(target), *args], env, "pg_dump")
    return revision


def _file_entry(root: Path, name: str, role: str) -> dict[str, Any]:
    path = root / name
    path.chmod(0o600)
    return {"name": name, "role": role, "sha256": _sha256(path), "size": path.stat().st_size}


def create_backup(config: ServerConfig, dest: Path) -> Outcome:
    """Back up the database and the key files into `dest` (a new directory, or a `.tar.gz` file)."""
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory: choose a new name")
    backend, url = _backend(config)
    archive = dest.name.endswith(".tar.gz")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    outcome = Outcome(dest)
    try:
        files: list[dict[str, Any]] = []
        if backend == "sqlite":
            revision = _dump_sqlite(_sqlite_path(url), work / SQLITE_FILE)
            files.append(_file_entry(work, SQLITE_FILE, "database"))
        else:
            revision = _dump_postgres(config, url, work / PGDUMP_FILE)
            files.append(_file_entry(work, PGDUMP_FILE, "database"))
        outcome.steps.append(
            f"cơ sở dữ liệu / database {config.redacted_database_url()} → {files[0]['name']} "
            f"({files[0]['size']} bytes, schema {revision or 'empty'})"
        )
        for role, (name, locate) in KEY_FILES.items():
            source = locate(config)
            if not source.is_file():
                outcome.steps.append(f"khóa / key {role}: {source} does not exist (nothing encrypted yet)")
                continue
            _private_dir((work / name).parent)
            shutil.copyfile(source, work / name)
            files.append(_file_entry(work, name, role))
            outcome.steps.append(f"khóa / key {role}: {source} → {name}")
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "canhgac_version": _version(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "database": {"kind": backend, "schema_revision": revision},
            "files": files,
        }
        (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        (work / MANIFEST).chmod(0o600)
        if archive:
            with tarfile.open(work / "backup.tar.gz", "w:gz") as tar:
                for entry in sorted([MANIFEST, *(f["name"] for f in files)]):
                    tar.add(work / entry, arcname=entry)
            (work / "backup.tar.gz").chmod(0o600)
            os.replace(work / "backup.tar.gz", dest)
        else:
            if dest.exists():
                dest.rmdir()  # empty, checked above
            os.replace(work, dest)
            dest.chmod(0o700)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcome.steps.append(f"bản sao lưu / backup written: {dest}")
    return outcome


# --- restore ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(src: Path) -> Iterator[Path]:
    """The backup's directory: `src` itself, or a `.tar.gz` unpacked into a private temporary one
    (members confined to it by tarfile's `data` filter)."""
    if src.is_dir():
        yield src
        return
    if not src.is_file():
        raise BackupError(f"no backup at {src}")
    with tempfile.TemporaryDirectory(prefix="canhgac-restore-") as tmp:
        try:
            with tarfile.open(src, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{src}: not a readable .tar.gz backup: {exc}") from exc
        yield Path(tmp)


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest, checked for shape: every file named inside the backup, with a hash and a size."""
    path = root / MANIFEST
    try:
        raw = path.read_bytes()[: MAX_MANIFEST_BYTES + 1]
    except OSError as exc:
        raise BackupError(f"{path}: cannot read the manifest: {exc.strerror}") from exc
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BackupError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes, not a manifest")
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BackupError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: not a Canh Gác backup manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"{path}: backup format version {manifest.get('version')!r} is not supported")
    database = manifest.get("database")
    if not isinstance(database, dict) or database.get("kind") not in ("sqlite", "postgresql"):
        raise BackupError(f"{path}: database.kind must be sqlite or postgresql")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise BackupError(f"{path}: no files listed")
    known = {"database"} | set(KEY_FILES)
    for entry in files:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and entry.get("role") in known
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("size"), int)
        ):
            raise BackupError(f"{path}: a file entry lacks name, role, sha256 or size: {entry!r}")
        inside = (root / entry["name"]).resolve()
        if not inside.is_relative_to(root.resolve()) or inside == root.resolve():
            raise BackupError(f"{path}: file {entry['name']!r} lies outside the backup")
    return manifest


def verify_files(root: Path, manifest: dict[str, Any]) -> None:
    """Every listed file present with its recorded size and sha256 (else refused, naming the file)."""
    for entry in manifest["files"]:
        path = root / entry["name"]
        if not path.is_file():
            raise BackupError(f"{entry['name']}: missing from the backup")
        size = path.stat().st_size
        if size != entry["size"]:
            raise BackupError(f"{entry['name']}: size {size} bytes, the manifest says {entry['size']}")
        if _sha256(path) != entry["sha256"]:
            raise BackupError(f"{entry['name']}: sha256 differs from the manifest (damaged or altered)")


def _check_revision(root: Path, manifest: dict[str, Any], entry: dict[str, Any]) -> str | None:
    """The backup's schema revision must be one this version's migrations know (a newer server's backup
    is refused); a SQLite copy must hold the revision its manifest claims."""
    revision = manifest["database"].get("schema_revision")
    if revision is not None:
        script = ScriptDirectory(str(MIGRATIONS_DIR))
        if revision not in {rev.revision for rev in script.walk_revisions()}:
            raise BackupError(
                f"schema revision {revision!r} of the backup is unknown to this version of Canh Gác "
                "(made by a newer one?): restore it with that version"
            )
    if manifest["database"]["kind"] == "sqlite":
        conn = sqlite3.connect(f"file:{root / entry['name']}?mode=ro", uri=True)
        try:
            found = (
                conn.execute("SELECT version_num FROM alembic_version").fetchone()
                if _has_table(conn, "alembic_version")
                else None
            )
        except sqlite3.Error as exc:
            raise BackupError(f"{entry['name']}: not a readable SQLite database: {exc}") from exc
        finally:
            conn.close()
        if (found[0] if found else None) != revision:
            raise BackupError(f"{entry['name']}: holds schema {found}, the manifest says {revision!r}")
    return revision if isinstance(revision, str) else None


def _database_in_use(config: ServerConfig) -> bool:
    engine = make_engine(config.database_url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _write_key(source: Path, target: Path) -> None:
    """Put a key file in place atomically, 0600, its directory created 0700 when missing."""
    if not target.parent.exists():
        target.parent.mkdir(mode=0o700, parents=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(source.read_bytes())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _restore_sqlite(source: Path, target: Path) -> None:
    """Through the backup API into the target's own connection, so a WAL left beside an old file can
    never be replayed over the restored pages."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot write the SQLite database {target}: {exc}") from exc
    finally:
        dst.close()
        src.close()


def restore_backup(config: ServerConfig, src: Path, *, force: bool = False) -> Outcome:
    """Check the backup at `src` whole, then restore its database and keys where `config` keeps them."""
    backend, url = _backend(config)
    outcome = Outcome(src)
    with _opened(src) as root:
        manifest = read_manifest(root)
        verify_files(root, manifest)
        outcome.steps.append(f"kiểm tra / verified: {len(manifest['files'])} files, sha256 and sizes match")
        kind = manifest["database"]["kind"]
        if kind != backend:
            raise BackupError(f"the backup holds a {kind} database, the configuration uses {backend}")
        database = next(e for e in manifest["files"] if e["role"] == "database")
        revision = _check_revision(root, manifest, database)
        keys = [(e, KEY_FILES[e["role"]][1](config)) for e in manifest["files"] if e["role"] in KEY_FILES]
        if not force:
            if _database_in_use(config):
                raise BackupError(
                    f"the database {config.redacted_database_url()} is not empty: "
                    "restore with --force to replace it"
                )
            for entry, target in keys:
                if target.exists() and target.read_bytes() != (root / entry["name"]).read_bytes():
                    raise BackupError(f"key file {target} exists with another key: --force replaces it")
        if backend == "sqlite":
            target = _sqlite_path(url)
            _restore_sqlite(root / database["name"], target)
            outcome.steps.append(f"cơ sở dữ liệu / database restored: {target} (schema {revision})")
        else:
            args, env = _pg_args(url)
            argv = [_pg_tool("pg_restore"), "--no-owner", "--single-transaction", *args]
            if force:
                argv[2:2] = ["--clean", "--if-exists"]
            _run_pg([*argv, str(root / database["name"])], env, "pg_restore")
            outcome.steps.append(
                f"cơ sở dữ liệu / database restored: {config.redacted_database_url()} (schema {revision})"
            )
        for entry, target in keys:
            _write_key(root / entry["name"], target)
            outcome.steps.append(f"khóa / key {entry['role']} restored: {target} (0600)")
    if revision != head_revision():
        outcome.steps.append("the schema is older than this version's: run `canhgac db upgrade` next")
    return outcome
