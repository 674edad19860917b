"""Load device profiles from YAML and report every mistake as `file: profile: reason`.

The shipped profiles live in `data/` beside this module (one file per vendor family). Checks beyond the
schema: unique profile names, exactly one generic profile (no `match`), no two profiles claiming the same
devices with the same match, and every state map knowing which value means "ok".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from canhgac_agent.snmp.profiles.model import Profile, ProfileFile

SHIPPED = Path(__file__).with_name("data")
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One mistake in a profile file, printed as `file: profile: reason`."""

    file: str
    profile: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.profile}: {self.reason}"


@dataclass(frozen=True)
class LoadedProfile:
    file: str
    profile: Profile


def profile_files(paths: list[Path] | None = None) -> list[Path]:
    """The YAML files under `paths` (files or folders), or the shipped ones."""
    out: list[Path] = []
    for path in paths or [SHIPPED]:
        if path.is_dir():
            out.extend(sorted(p for p in path.glob("*.yaml") if p.is_file()))
        else:
            out.append(path)
    return out


def _profile_label(raw: object, loc: tuple[int | str, ...]) -> str:
    """The name of the profile a validation error points into, else its position, else `-`."""
    if len(loc) >= 2 and loc[0] == "profiles" and isinstance(loc[1], int):
        entries = raw.get("profiles") if isinstance(raw, dict) else None
        if isinstance(entries, list) and loc[1] < len(entries):
            entry = entries[loc[1]]
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str):
                return name[:64]
        return f"profiles[{loc[1]}]"
    return "-"


def load_file(path: Path) -> tuple[list[LoadedProfile], list[Problem]]:
    """One file's profiles, or the problems that keep it from loading."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [Problem(str(path), "-", f"file larger than {MAX_FILE_BYTES} bytes")]
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [Problem(str(path), "-", f"cannot read YAML: {exc}".replace("\n", " "))]
    try:
        parsed = ProfileFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            where = ".".join(str(p) for p in loc[2:]) or ".".join(str(p) for p in loc) or "(file)"
            problems.append(Problem(str(path), _profile_label(raw, loc), f"{where}: {error['msg']}"))
        return [], problems
    return [LoadedProfile(str(path), p) for p in parsed.profiles], []


def _cross_checks(loaded: list[LoadedProfile], *, need_generic: bool) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: dict[str, str] = {}
    claims: dict[tuple[str, str | None], str] = {}
    generic = [lp for lp in loaded if lp.profile.match is None]
    for lp in loaded:
        p = lp.profile
        if p.name in seen_names:
            problems.append(Problem(lp.file, p.name, f"name already used in {seen_names[p.name]}"))
        seen_names.setdefault(p.name, lp.file)
        for section, tables in (("fans", p.fans), ("power_supplies", p.power_supplies)):
            for i, table in enumerate(tables):
                if "ok" not in table.states.values():
                    problems.append(Problem(lp.file, p.name, f"{section}.{i}.states: no value means ok"))
        if p.match is None:
            continue
        keys = [(prefix, p.match.sys_descr) for prefix in p.match.sys_object_id] or [("", p.match.sys_descr)]
        for key in keys:
            other = claims.get(key)
            if other is not None and other != p.name:
                what = f"sysObjectID {key[0]}" if key[0] else "sysDescr"
                problems.append(Problem(lp.file, p.name, f"{what} with the same match as profile {other}"))
            claims.setdefault(key, p.name)
    if len(generic) > 1 or (need_generic and not generic):
        names = ", ".join(lp.profile.name for lp in generic) or "none"
        where = generic[1].file if len(generic) > 1 else "-"
        reason = f"need exactly one generic profile (without match), found {names}"
        problems.append(Problem(where, "-", reason))
    return problems


def load_profiles(paths: list[Path] | None = None) -> tuple[list[LoadedProfile], list[Problem]]:
    """Every profile under `paths` (default: shipped) and every problem found, across files too. The
    shipped set must hold the generic profile; files checked on their own need not."""
    files = profile_files(paths)
    loaded: list[LoadedProfile] = []
    problems: list[Problem] = []
    if not files:
        return [], [Problem("-", "-", "no profile files (*.yaml) found")]
    for path in files:
        got, bad = load_file(path)
        loaded.extend(got)
        problems.extend(bad)
    problems.extend(_cross_checks(loaded, need_generic=paths is None))
    return loaded, problems
