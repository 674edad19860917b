"""Read a vulnerability feed file into bounded, normalised records, or refuse it whole.

Two formats:
- OSV JSON (one OSV object, or an array of them): `id`, `aliases`, `affected[].package{ecosystem,
  name}`, `affected[].ranges[]` of type ECOSYSTEM with `introduced`/`fixed` events, `database_specific`;
- the Debian security tracker JSON: source package → CVE id → `releases` → codename →
  {`status`, `fixed_version`, `urgency`}.

Only what a host can act on becomes a record: a package version range closed by a fixed version.
Open issues (no fix yet), GIT/SEMVER ranges and bare `versions` lists are counted as skipped. Every
string is bounded; any malformed part raises `FeedError` naming the entry and the field, so an import
either takes the whole file or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

FeedFormat = Literal["osv", "debian"]

MAX_FILE_BYTES = 256 * 1024 * 1024  # the whole Debian tracker JSON is well under this
MAX_ENTRIES = 1_000_000  # OSV objects, or tracker (package, CVE) pairs
MAX_RECORDS = 3_000_000  # normalised (ecosystem, package, range) rows
MAX_ID = 64
MAX_NAME = 200
MAX_VERSION = 128
MAX_ECOSYSTEM = 64
MAX_ALIASES = 64
MAX_LIST = 10_000  # affected[], ranges[], events[], releases per entry
CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
# Debian codenames → release numbers, so tracker records and OSV "Debian:12" records meet one key.
DEBIAN_CODENAMES = {
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
    "duke": "15",
}


class FeedError(ValueError):
    """A feed that cannot be imported; the message says which entry and which field."""


@dataclass(frozen=True)
class Affected:
    """One fixable vulnerable range: `package` in `ecosystem` ("debian:12", "ubuntu:22.04", "pypi"…)
    from `introduced` (None: from the start) up to, not including, `fixed`."""

    vuln_id: str
    cves: tuple[str, ...]
    ecosystem: str
    package: str
    introduced: str | None
    fixed: str
    severity: str | None = None


@dataclass
class Feed:
    format: FeedFormat
    entries: int = 0
    skipped: int = 0  # ranges or releases without a fixed version (nothing to apply yet)
    records: list[Affected] = field(default_factory=list)

    @property
    def ecosystems(self) -> list[str]:
        return sorted({r.ecosystem for r in self.records})


def normalise_ecosystem(name: str) -> str:
    """ "Debian:12" → "debian:12", "Ubuntu:22.04:LTS" → "ubuntu:22.04", "bookworm" (tracker) →
    "debian:12"; anything else lower-cased ("PyPI" → "pypi")."""
    parts = name.strip().split(":")
    head = parts[0].lower()
    if head == "debian" and len(parts) > 1:
        return f"debian:{DEBIAN_CODENAMES.get(parts[1].lower(), parts[1].lower())}"
    if head == "ubuntu" and len(parts) > 1:
        rest = [p for p in parts[1:] if p.lower() not in ("lts", "pro")]
        return f"ubuntu:{rest[0]}" if rest else "ubuntu"
    return name.strip().lower()


def _opt_text(value: Any, where: str, limit: int) -> str | None:
    return None if value is None else _text(value, where, limit)


def _text(value: Any, where: str, limit: int) -> str:
    if value is None:
        raise FeedError(f"{where}: missing")
    if not isinstance(value, str):
        raise FeedError(f"{where}: expected a string, got {type(value).__name__}")
    text: str = value.strip()
    if not text:
        raise FeedError(f"{where}: empty string")
    if len(text) > limit:
        raise FeedError(f"{where}: {len(text)} characters, at most {limit} allowed")
    return text


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FeedError(f"{where}: expected a list, got {type(value).__name__}")
    if len(value) > MAX_LIST:
        raise FeedError(f"{where}: {len(value)} items, at most {MAX_LIST} allowed")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        raise FeedError(f"{where}: missing")
    if not isinstance(value, dict):
        raise FeedError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _osv_ranges(ranges: list[Any], where: str) -> Iterator[tuple[str | None, str | None]]:
    """(introduced, fixed) pairs of the ECOSYSTEM ranges; fixed None: still open (skipped later)."""
    for r_index, raw_range in enumerate(ranges):
        at = f"{where}.ranges[{r_index}]"
        rng = _mapping(raw_range, at)
        kind = _text(rng.get("type"), f"{at}.type", 16)
        events = _list(rng.get("events"), f"{at}.events")
        if kind != "ECOSYSTEM":
            yield None, None  # GIT/SEMVER ranges do not order distro package versions
            continue
        start: str | None = None
        opened = False
        for e_index, raw_event in enumerate(events):
            ev_at = f"{at}.events[{e_index}]"
            event = _mapping(raw_event, ev_at)
            if len(event) != 1:
                raise FeedError(f"{ev_at}: expected exactly one of introduced, fixed, last_affected, limit")
            ((key, value),) = event.items()
            version = _text(value, f"{ev_at}.{key}", MAX_VERSION)
            if key == "introduced":
                if opened:
                    yield start, None
                start, opened = (None if version == "0" else version), True
            elif key == "fixed":
                yield start, version
                opened = False
            elif key in ("last_affected", "limit"):
                yield start, None
                opened = False
            else:
                raise FeedError(f"{ev_at}: unknown event {key!r}")
        if opened:
            yield start, None


def _osv_entry(feed: Feed, index: int, entry: Any) -> None:
    where = f"entry {index}"
    entry = _mapping(entry, where)
    vuln_id = _text(entry.get("id"), f"{where}.id", MAX_ID)
    where = f"entry {index} (id {vuln_id})"
    aliases = [
        _text(a, f"{where}.aliases[{i}]", MAX_ID)
        for i, a in enumerate(_list(entry.get("aliases"), f"{where}.aliases"))
    ]
    if len(aliases) > MAX_ALIASES:
        raise FeedError(f"{where}.aliases: {len(aliases)} items, at most {MAX_ALIASES} allowed")
    cves = tuple(dict.fromkeys(c for c in (vuln_id, *aliases) if c and CVE_RE.match(c)))
    specific = entry.get("database_specific")
    severity = None
    if specific is not None:
        specific = _mapping(specific, f"{where}.database_specific")
        if isinstance(specific.get("severity"), str):
            severity = specific["severity"].strip()[:32] or None
    for a_index, raw_affected in enumerate(_list(entry.get("affected"), f"{where}.affected")):
        at = f"{where}.affected[{a_index}]"
        affected = _mapping(raw_affected, at)
        package = _mapping(affected.get("package"), f"{at}.package")
        ecosystem = _text(package.get("ecosystem"), f"{at}.package.ecosystem", MAX_ECOSYSTEM)
        name = _text(package.get("name"), f"{at}.package.name", MAX_NAME)
        for i, version in enumerate(_list(affected.get("versions"), f"{at}.versions")):
            _text(version, f"{at}.versions[{i}]", MAX_VERSION)
        for introduced, fixed in _osv_ranges(_list(affected.get("ranges"), at + ".ranges"), at):
            if fixed is None:
                feed.skipped += 1
                continue
            feed.records.append(
                Affected(vuln_id, cves, normalise_ecosystem(ecosystem), name, introduced, fixed, severity)
            )


def _debian_entries(feed: Feed, data: Mapping[str, Any]) -> None:
    for package, raw_issues in data.items():
        if len(package) > MAX_NAME or not package.strip():
            raise FeedError(f"package {package[:80]!r}: name must be 1-{MAX_NAME} characters")
        issues = _mapping(raw_issues, f"package {package}")
        for cve, raw_issue in issues.items():
            feed.entries += 1
            if feed.entries > MAX_ENTRIES:
                raise FeedError(f"more than {MAX_ENTRIES} (package, CVE) entries")
            where = f"package {package} → {cve[:80]}"
            vuln_id = _text(cve, where, MAX_ID)
            issue = _mapping(raw_issue, where)
            releases = _mapping(issue.get("releases", {}), f"{where}.releases")
            if len(releases) > MAX_LIST:
                raise FeedError(f"{where}.releases: {len(releases)} items, at most {MAX_LIST} allowed")
            for codename, raw_release in releases.items():
                at = f"{where}.releases.{codename[:40]}"
                if len(codename) > MAX_ECOSYSTEM:
                    raise FeedError(f"{at}: release name longer than {MAX_ECOSYSTEM} characters")
                release = _mapping(raw_release, at)
                status = _text(release.get("status"), f"{at}.status", 32)
                fixed = _opt_text(release.get("fixed_version"), f"{at}.fixed_version", MAX_VERSION)
                urgency = _opt_text(release.get("urgency"), f"{at}.urgency", 64)
                if status != "resolved" or fixed is None or fixed == "0":  # "0": never vulnerable
                    feed.skipped += 1
                    continue
                feed.records.append(
                    Affected(
                        vuln_id,
                        (vuln_id,) if CVE_RE.match(vuln_id) else (),
                        normalise_ecosystem(f"debian:{codename}"),
                        package,
                        None,
                        fixed,
                        (urgency or "")[:32] or None,
                    )
                )


def parse_feed(data: bytes, fmt: FeedFormat) -> Feed:
    """The feed's records; FeedError (what and where) when anything in it is malformed or too big."""
    if len(data) > MAX_FILE_BYTES:
        raise FeedError(f"file is {len(data)} bytes, at most {MAX_FILE_BYTES} allowed")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not valid JSON: {exc}") from None
    feed = Feed(fmt)
    if fmt == "osv":
        entries = doc if isinstance(doc, list) else [doc]
        if len(entries) > MAX_ENTRIES:
            raise FeedError(f"{len(entries)} OSV entries, at most {MAX_ENTRIES} allowed")
        for index, entry in enumerate(entries):
            _osv_entry(feed, index, entry)
        feed.entries = len(entries)
    else:
        _debian_entries(feed, _mapping(doc, "top level (package → CVE → releases)"))
    if len(feed.records) > MAX_RECORDS:
        raise FeedError(f"{len(feed.records)} affected ranges, at most {MAX_RECORDS} allowed")
    return feed
