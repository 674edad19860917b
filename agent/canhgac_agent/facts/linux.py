"""Linux security facts provider.

Every command is a fixed argv run by `common.run_command` (C locale, ≤ 10 s, a missing binary is
"not present", not a crash). Every file format is read by a pure `parse_*` function over text, so the
parsing is tested on sample text; a parser given garbage returns empty/None values, never raises.
Works unprivileged: what needs root (nft/iptables rules, /etc/shadow) is reported as unknown (None).
"""

from __future__ import annotations

import contextlib
import glob
import ipaddress
import json
import os
import re
import struct
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from canhgac_agent.facts.common import (
    CommandResult,
    clip,
    default_include_reader,
    listening_ports,
    parse_sshd_config,
    process_names,
    read_text,
    run_command,
    software_inventory,
    ssh_running,
    to_int,
    wifi_connection,
)

_SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _which(name: str) -> str | None:
    # Not shutil.which: shutil imports bz2 and lzma, ~1 MB of RSS the agent never uses.
    for directory in _SEARCH_PATH.split(":"):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _iso_mtime(paths: Iterable[str]) -> str | None:
    """The newest mtime among `paths` that exist, as an ISO 8601 UTC timestamp."""
    newest: float | None = None
    for path in paths:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        newest = mtime if newest is None else max(newest, mtime)
    return None if newest is None else datetime.fromtimestamp(newest, tz=UTC).isoformat()


# --- firewall -------------------------------------------------------------------------------------


class Ruleset(NamedTuple):
    """What a ruleset dump says about filtering of traffic addressed to this host."""

    rules_count: int = 0
    input_policy: str | None = None  # lower-case "accept"/"drop"; None when no input chain exists
    input_rules: int = 0

    @property
    def input_filtered(self) -> bool:
        return self.input_rules > 0 or self.input_policy in ("drop", "reject")


def parse_nft_ruleset(text: str) -> Ruleset:
    """Summarise `nft list ruleset`: rules in all chains; policy and rules of input-hook chains.

    Several input-hook chains (ip + ip6 tables, iptables-nft + native) are combined: the policy is
    "drop" if any of them drops.
    """
    stack: list[str] = []
    chains: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        net = line.count("{") - line.count("}")
        if net > 0:
            kind = line.split()[0]
            stack.append(kind if kind in ("table", "chain") else "block")
            stack.extend(["block"] * (net - 1))
            if kind == "chain":
                chains.append({"hook": None, "policy": None, "rules": 0})
            continue
        if net < 0:
            del stack[len(stack) + net :]
            continue
        if not stack or stack[-1] != "chain" or not chains:
            continue
        chain = chains[-1]
        if line.startswith("type ") and " hook " in line:
            hook = re.search(r"\bhook\s+(\w+)", line)
            chain["hook"] = hook.group(1) if hook else None
            policy = re.search(r"\bpolicy\s+(\w+)", line)
            chain["policy"] = policy.group(1).lower() if policy else "accept"
        elif line.startswith("policy "):
            policy = re.search(r"\bpolicy\s+(\w+)", line)
            chain["policy"] = policy.group(1).lower() if policy else chain["policy"]
        elif not line.startswith(("comment ", "devices ", "}")):
            chain["rules"] += 1
    inputs = [c for c in chains if c["hook"] == "input"]
    input_policy = None
    if inputs:
        policies = {c["policy"] or "accept" for c in inputs}
        input_policy = "drop" if "drop" in policies else sorted(policies)[0]
    return Ruleset(sum(c["rules"] for c in chains), input_policy, sum(c["rules"] for c in inputs))


def parse_iptables_save(text: str) -> Ruleset:
    """Summarise `iptables-save`: rules of the filter table and the INPUT chain's policy."""
    rules = input_rules = 0
    policy = None
    table = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:].strip()
        elif table != "filter":
            continue
        elif line.startswith(":"):
            parts = line[1:].split()
            if len(parts) >= 2 and parts[0] == "INPUT":
                policy = parts[1].lower()
        elif line.startswith("-A "):
            rules += 1
            if line.split()[1:2] == ["INPUT"]:
                input_rules += 1
    return Ruleset(rules, policy, input_rules)


def parse_ufw_conf(text: str) -> bool | None:
    """`ENABLED=yes|no` from /etc/ufw/ufw.conf; None when absent or unreadable."""
    for raw in text.splitlines():
        key, sep, value = raw.strip().partition("=")
        if sep and key.strip() == "ENABLED":
            value = value.strip().strip("\"'").lower()
            if value in ("yes", "no"):
                return value == "yes"
    return None


def _permission_problem(result: CommandResult) -> bool:
    text = (result.stderr + result.stdout).lower()
    return any(s in text for s in ("permission denied", "operation not permitted", "must be root"))


# --- time sync ------------------------------------------------------------------------------------


def parse_key_values(text: str, sep: str = "=") -> dict[str, str]:
    """`KEY<sep>value` lines into a dict (first occurrence wins); other lines are ignored."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        key, found, value = raw.partition(sep)
        key = key.strip()
        if found and key and not key.startswith("#"):
            result.setdefault(key, value.strip())
    return result


def parse_chronyc_tracking(text: str) -> dict[str, Any]:
    """synchronized/source/offset_ms from `chronyc -n tracking`; missing values are None."""
    fields = parse_key_values(text, ":")
    result: dict[str, Any] = {"synchronized": None, "source": None, "offset_ms": None}
    ref = fields.get("Reference ID", "")
    leap = fields.get("Leap status", "").lower()
    if leap:
        result["synchronized"] = "not synchronised" not in leap and not ref.startswith("00000000")
    source = re.search(r"\(([^)]*)\)", ref)
    if source and source.group(1):
        result["source"] = clip(source.group(1))
    offset = re.match(
        r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s+seconds\s+(fast|slow)", fields.get("System time", "")
    )
    if offset:
        seconds = float(offset.group(1))
        result["offset_ms"] = round(seconds * 1000 * (-1 if offset.group(2) == "slow" else 1), 6)
    return result


def parse_ntpq_peers(text: str) -> dict[str, Any]:
    """The system peer (`*` tally) of `ntpq -pn`: synchronized, source and offset_ms."""
    for raw in text.splitlines():
        if raw.startswith("*"):
            cols = raw[1:].split()
            offset = None
            if len(cols) >= 9:
                try:
                    offset = float(cols[8])  # ntpq prints the offset in ms
                except ValueError:
                    offset = None
            return {"synchronized": True, "source": clip(cols[0]) if cols else None, "offset_ms": offset}
    return {"synchronized": False if text.strip() else None, "source": None, "offset_ms": None}


_TIME_DAEMONS = (("chronyd", "chrony"), ("systemd-timesyncd", "systemd-timesyncd"), ("ntpd", "ntpd"))


# --- package updates ------------------------------------------------------------------------------

_APT_INST = re.compile(r"^Inst\s+(\S+)(?:\s+\[[^\]]*\])?\s+\((.*)\)")


def parse_apt_simulate(text: str) -> tuple[int, int]:
    """(total, security) upgrades from `apt-get -s dist-upgrade` output.

    An `Inst` line names the candidate's origins, e.g.
    `Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable, Debian-Security:12/stable-security [amd64])`;
    it is a security update when any origin's suite ends in `-security` (Debian, Ubuntu) or its label
    says Security.
    """
    total = security = 0
    for raw in text.splitlines():
        match = _APT_INST.match(raw.strip())
        if not match:
            continue
        total += 1
        inner = re.sub(r"\s*\[[^\]]*\]\s*$", "", match.group(2))  # drop the trailing [arch]
        _, _, origins = inner.partition(" ")
        for origin in origins.split(","):
            label, _, suite = origin.strip().partition("/")
            if suite.strip().endswith("-security") or "security" in label.lower():
                security += 1
                break
    return total, security


def parse_dnf_check_update(text: str) -> int:
    """Packages listed by `dnf -q check-update` (name.arch, version, repo lines)."""
    count = 0
    for raw in text.splitlines():
        cols = raw.split()
        if len(cols) == 3 and "." in cols[0] and not raw.startswith((" ", "\t")) and cols[0] != "Obsoleting":
            count += 1
    return count


# --- caching the package manager's answer ----------------------------------------------------------

# `apt-get -s dist-upgrade` costs seconds of CPU (more where apt keeps no binary cache) and a child of
# ~80 MB; `dnf check-update` as much. Their answer changes only when the package database, the package
# lists or the package manager's configuration change, so it is kept, in memory and in
# `<state_dir>/facts-cache.json` (a restart does not redo it), keyed on those files' inode, size and
# mtime. A cached answer older than CACHE_MAX_AGE_S is recomputed anyway, in case a change escaped the
# key (a file rewritten in place within the same mtime tick).
FACTS_CACHE_FILE = "facts-cache.json"
CACHE_MAX_AGE_S = 86400.0
_CACHE_FORMAT = 1  # bump when a cached value's meaning changes
_memory_cache: dict[str, dict[str, Any]] = {}

_APT_INPUTS = (
    "/var/lib/dpkg/status",  # what is installed
    "/var/lib/apt/extended_states",
    "/var/lib/apt/lists",  # `apt update` renames new lists into place: the directory's mtime moves
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d",
    "/etc/apt/preferences",
    "/etc/apt/preferences.d",
    "/etc/apt/apt.conf.d",
)
_DNF_INPUTS = ("/var/lib/rpm", "/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages", "/var/cache/dnf",
               "/etc/yum.repos.d", "/etc/dnf/dnf.conf")  # fmt: skip


def stat_key(paths: Iterable[str]) -> list[list[Any]]:
    """[path, inode, size, mtime_ns] per path ([path, None] when missing): a cache key that changes
    when any of the files is replaced, grows, shrinks or is touched."""
    out: list[list[Any]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append([path, None])
            continue
        out.append([path, st.st_ino, st.st_size, st.st_mtime_ns])
    return out


def _fresh(entry: Any, key: list[Any], now: float) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("key") == key
        and isinstance(entry.get("at"), int | float)
        and 0 <= now - entry["at"] < CACHE_MAX_AGE_S
        and "value" in entry
    )


# --- password policy ------------------------------------------------------------------------------


def parse_login_defs(text: str) -> dict[str, str]:
    """`KEY value` lines of /etc/login.defs (first occurrence wins)."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        parts = raw.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            result.setdefault(parts[0], parts[1])
    return result


def parse_conf_assignments(text: str) -> dict[str, str]:
    """`key = value` lines (pwquality.conf, faillock.conf, pwhistory.conf); bare words are flags ("").
    Later lines override earlier ones, like libpwquality and pam_faillock read them."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if key.strip():
            result[key.strip().lower()] = value.strip() if sep else ""
    return result


class PamEntry(NamedTuple):
    kind: str  # auth, account, password, session
    control: str
    module: str  # basename without .so, e.g. "pam_unix"
    args: dict[str, str]


def parse_pam(text: str) -> list[PamEntry]:
    """PAM stack lines (`type control module args`); bracketed controls may contain spaces."""
    entries: list[PamEntry] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("@"):
            continue
        kind, _, rest = line.replace("\t", " ").partition(" ")
        rest = rest.strip()
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                continue
            control, rest = rest[: end + 1], rest[end + 1 :]
        else:
            control, _, rest = rest.partition(" ")
        words = rest.split()
        if not words:
            continue
        module = os.path.basename(words[0]).removesuffix(".so")
        args = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            args[key.lower()] = value if sep else ""
        entries.append(PamEntry(kind.lstrip("-").lower(), control, module, args))
    return entries


def password_policy_from(
    login_defs: str | None,
    pam_texts: list[str],
    pwquality_conf: str | None = None,
    faillock_conf: str | None = None,
    pwhistory_conf: str | None = None,
) -> dict[str, Any]:
    """The effective password/lockout policy from the files' texts (pure; `source` is left to the caller).

    PAM is what enforces: a pwquality/faillock setting counts only when its module is in the stack, and
    module arguments override the module's conf file, which overrides the module's built-in default.
    """
    defs = parse_login_defs(login_defs or "")
    entries = [e for text in pam_texts for e in parse_pam(text)]
    password = {e.module: e.args for e in entries if e.kind == "password"}
    auth = {e.module: e.args for e in entries if e.kind == "auth"}

    policy: dict[str, Any] = {
        "max_days": to_int(defs.get("PASS_MAX_DAYS")),
        "min_days": to_int(defs.get("PASS_MIN_DAYS")),
        "warn_days": to_int(defs.get("PASS_WARN_AGE")),
        "min_length": None,
        "min_classes": None,
        "remember": None,
        "lockout_attempts": None,
        "lockout_seconds": None,
    }

    quality = password.get("pam_pwquality", password.get("pam_cracklib"))
    if quality is not None:
        conf = parse_conf_assignments(pwquality_conf or "") if "pam_pwquality" in password else {}
        default_len = "8" if "pam_pwquality" in password else "9"
        policy["min_length"] = to_int(quality.get("minlen", conf.get("minlen", default_len)), minimum=0)
        policy["min_classes"] = to_int(quality.get("minclass", conf.get("minclass", "0")), minimum=0)
    elif "pam_unix" in password:
        policy["min_length"] = to_int(password["pam_unix"].get("minlen", "6"), minimum=0)
    else:
        policy["min_length"] = to_int(defs.get("PASS_MIN_LEN"), minimum=0)

    if "pam_pwhistory" in password:
        conf = parse_conf_assignments(pwhistory_conf or "")
        policy["remember"] = to_int(
            password["pam_pwhistory"].get("remember", conf.get("remember", "10")), minimum=0
        )
    elif "pam_unix" in password and "remember" in password["pam_unix"]:
        policy["remember"] = to_int(password["pam_unix"]["remember"], minimum=0)

    if "pam_faillock" in auth:
        conf = parse_conf_assignments(faillock_conf or "")
        args = auth["pam_faillock"]
        policy["lockout_attempts"] = to_int(args.get("deny", conf.get("deny", "3")), minimum=0)
        policy["lockout_seconds"] = to_int(args.get("unlock_time", conf.get("unlock_time", "600")), minimum=0)
    elif "pam_tally2" in auth:
        args = auth["pam_tally2"]
        policy["lockout_attempts"] = to_int(args.get("deny"), minimum=0)
        policy["lockout_seconds"] = to_int(args.get("unlock_time"), minimum=0)
    return policy


# --- accounts -------------------------------------------------------------------------------------

ADMIN_GROUPS = frozenset({"sudo", "wheel", "admin"})
NOLOGIN_SHELLS = frozenset(
    {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync"}
)


class PasswdEntry(NamedTuple):
    name: str
    uid: int
    gid: int
    shell: str


def parse_passwd(text: str) -> list[PasswdEntry]:
    """/etc/passwd entries; malformed lines (wrong field count, non-numeric ids) are skipped."""
    entries = []
    for raw in text.splitlines():
        fields = raw.strip().split(":")
        if len(fields) != 7 or not fields[0] or fields[0].startswith(("#", "+", "-")):
            continue
        uid, gid = to_int(fields[2]), to_int(fields[3])
        if uid is None or gid is None:
            continue
        entries.append(PasswdEntry(fields[0], uid, gid, fields[6]))
    return entries


def parse_group(text: str) -> dict[str, tuple[int | None, list[str]]]:
    """/etc/group as {group: (gid, members)}; malformed lines are skipped."""
    groups: dict[str, tuple[int | None, list[str]]] = {}
    for raw in text.splitlines():
        fields = raw.strip().split(":")
        if len(fields) != 4 or not fields[0] or fields[0].startswith(("#", "+", "-")):
            continue
        members = [m.strip() for m in fields[3].split(",") if m.strip()]
        groups.setdefault(fields[0], (to_int(fields[2]), members))
    return groups


def parse_shadow(text: str, today_days: int | None = None) -> dict[str, tuple[bool, bool]]:
    """/etc/shadow as {user: (has_password, locked)}.

    `!` prefixes a locked hash; `*`/`!` alone mean no usable password; an empty field is a
    passwordless account (not locked). An expiry date (days since epoch) in the past locks too.
    """
    today = int(time.time() // 86400) if today_days is None else today_days
    result: dict[str, tuple[bool, bool]] = {}
    for raw in text.splitlines():
        fields = raw.strip().split(":")
        if len(fields) < 2 or not fields[0] or fields[0].startswith("#"):
            continue
        hashed = fields[1]
        locked = hashed.startswith("!") or hashed.startswith("*")
        bare = hashed.lstrip("!")
        has_password = bare not in ("", "*") and not bare.startswith("*")
        expire = to_int(fields[7]) if len(fields) > 7 else None
        if expire is not None and 0 <= expire <= today:
            locked = True
        result[fields[0]] = (has_password, locked)
    return result


def accounts_from(
    passwd: str,
    group: str,
    shadow: str | None,
    uid_min: int = 1000,
    today_days: int | None = None,
) -> list[dict[str, Any]]:
    """`LocalAccount` dicts: administrators (uid 0 or in sudo/wheel/admin) and human accounts
    (uid ≥ uid_min with a login shell). has_password/locked are None when /etc/shadow is unreadable."""
    users = parse_passwd(passwd)
    groups = parse_group(group)
    shadow_info = parse_shadow(shadow, today_days) if shadow is not None else None
    gid_names = {gid: name for name, (gid, _) in groups.items() if gid is not None}
    member_of: dict[str, set[str]] = {}
    for gname, (_, members) in groups.items():
        for member in members:
            member_of.setdefault(member, set()).add(gname)
    accounts = []
    for user in users:
        user_groups = set(member_of.get(user.name, set()))
        if user.gid in gid_names:
            user_groups.add(gid_names[user.gid])
        is_admin = user.uid == 0 or bool(user_groups & ADMIN_GROUPS)
        human = user.uid >= uid_min and user.uid != 65534 and user.shell not in NOLOGIN_SHELLS
        if not (is_admin or human):
            continue
        has_password = locked = None
        if shadow_info is not None and user.name in shadow_info:
            has_password, locked = shadow_info[user.name]
        accounts.append(
            {
                "name": clip(user.name),
                "uid": user.uid,
                "groups": sorted(clip(g) for g in user_groups)[:256],
                "is_admin": is_admin,
                "has_password": has_password,
                "locked": locked,
                "shell": clip(user.shell) if user.shell else None,
            }
        )
    return accounts[:4096]


# --- anti-malware ---------------------------------------------------------------------------------

# (product, process names, install paths): endpoint agents commonly deployed on Linux.
EDR_PRODUCTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("CrowdStrike Falcon", ("falcon-sensor", "falcond"), ("/opt/CrowdStrike",)),
    ("Microsoft Defender for Endpoint", ("wdavdaemon",), ("/opt/microsoft/mdatp",)),
    ("SentinelOne", ("sentinelone-agent", "s1-agent"), ("/opt/sentinelone",)),
    ("Trend Micro Deep Security", ("ds_agent",), ("/opt/ds_agent",)),
    ("Kaspersky Endpoint Security", ("kesl", "wdserver"), ("/opt/kaspersky/kesl",)),
    ("ESET Server Security", ("esets_daemon", "oaeventmap"), ("/opt/eset",)),
    (
        "Sophos Protection for Linux",
        ("sophos_threat_detector", "sophos_managementagent"),
        ("/opt/sophos-spl",),
    ),
    ("Elastic Endpoint", ("elastic-endpoint",), ("/opt/Elastic/Endpoint",)),
    ("Wazuh agent", ("wazuh-agentd",), ("/var/ossec/bin/wazuh-agentd",)),
)


def parse_clamav_version(text: str) -> str | None:
    """Engine version from `clamscan --version` (`ClamAV 1.0.7/27450/Thu Nov 20 08:32:36 2025`)."""
    match = re.search(r"ClamAV\s+([0-9][\w.\-]*)", text)
    return clip(match.group(1)) if match else None


def _running(names: set[str], wanted: Iterable[str]) -> bool:
    # Linux truncates comm to 15 characters; psutil restores longer names only when it can.
    return any(w in names or w[:15] in names for w in wanted)


# --- the provider ---------------------------------------------------------------------------------


class LinuxProvider:
    """Gathers each `SecurityFacts` field on Linux (see `FactsProvider`). One instance per collection:
    the process list and listening sockets are read once and shared by the facts that need them.

    `root` re-roots the *file* reads (tests, an image mounted elsewhere); commands, processes and
    sockets are always the live system's.
    """

    platform: Literal["linux"] = "linux"

    def __init__(self, root: str = "/", cache_dir: str | os.PathLike[str] | None = None) -> None:
        self._root = root
        self._cache_path = os.path.join(cache_dir, FACTS_CACHE_FILE) if cache_dir is not None else None
        self._procs: set[str] | None = None
        self._ports: list[dict[str, Any]] | None = None

    def _path(self, path: str) -> str:
        return os.path.join(self._root, path.lstrip("/"))

    def _read(self, path: str) -> str | None:
        return read_text(self._path(path))

    def _cached(self, name: str, inputs: list[str], compute: Any) -> Any:
        """`compute()`, or its last result while the files `inputs` are unchanged (see stat_key)."""
        key: list[Any] = [_CACHE_FORMAT, stat_key(inputs)]
        now = time.time()
        entry: Any = _memory_cache.get(name)
        if not _fresh(entry, key, now):
            entry = self._read_cache().get(name)
            if not _fresh(entry, key, now):
                entry = {"key": key, "at": now, "value": compute()}
                self._write_cache(name, entry)
            _memory_cache[name] = entry
        return entry["value"]

    def _read_cache(self) -> dict[str, Any]:
        if self._cache_path is None:
            return {}
        try:
            with open(self._cache_path, "rb") as f:
                data = json.loads(f.read(1 << 20))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_cache(self, name: str, entry: dict[str, Any]) -> None:
        """Best effort: a cache that cannot be written only means recomputing after a restart."""
        if self._cache_path is None:
            return
        data = self._read_cache()
        data[name] = entry
        tmp = f"{self._cache_path}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(data, separators=(",", ":")))
            os.replace(tmp, self._cache_path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _process_names(self) -> set[str]:
        if self._procs is None:
            self._procs = process_names()
        return self._procs

    # -- facts

    def listening_ports(self) -> list[dict[str, Any]]:
        if self._ports is None:
            self._ports = listening_ports()
        return self._ports

    def firewall(self) -> dict[str, Any] | None:
        details: list[str] = []
        ufw_text = self._read("/etc/ufw/ufw.conf")
        ufw_enabled = parse_ufw_conf(ufw_text) if ufw_text is not None else None
        if ufw_text is not None:
            details.append(
                f"ufw.conf ENABLED={'unset' if ufw_enabled is None else 'yes' if ufw_enabled else 'no'}"
            )

        firewalld_running = None
        if _which("firewall-cmd"):
            res = run_command(["firewall-cmd", "--state"])
            if res is not None:
                firewalld_running = res.stdout.strip() == "running"
                details.append(f"firewalld {res.stdout.strip() or res.stderr.strip()[:80]}")

        denied: list[str] = []
        seen: list[tuple[str, Ruleset]] = []
        for backend, argv, parser in (
            ("nftables", ["nft", "list", "ruleset"], parse_nft_ruleset),
            ("iptables", ["iptables-save"], parse_iptables_save),
        ):
            if not _which(argv[0]):
                continue
            res = run_command(argv)
            if res is None:
                continue
            if res.returncode != 0:
                (denied if _permission_problem(res) else details).append(f"{argv[0]}: exit {res.returncode}")
                continue
            ruleset = parser(res.stdout)
            seen.append((backend, ruleset))
            details.append(f"{argv[0]}: {ruleset.rules_count} rules, input policy {ruleset.input_policy}")
            if ruleset.input_filtered:
                break  # iptables-nft rules already appear in the nft ruleset
        details.extend(f"{d} (needs root)" for d in denied)
        filtered = next(((b, r) for b, r in seen if r.input_filtered), None)
        view = filtered or (seen[0] if seen else None)

        state: dict[str, Any] = {
            "backend": "none",
            "enabled": False,
            "default_input_policy": view[1].input_policy if view else None,
            "rules_count": view[1].rules_count if view else None,
            "detail": clip("; ".join(details), 2048) or None,
        }
        if ufw_enabled:
            state.update(backend="ufw", enabled=True)
        elif firewalld_running:
            state.update(backend="firewalld", enabled=True)
        elif filtered:
            state.update(backend=filtered[0], enabled=True)
        elif denied and not seen:
            state.update(backend="unknown", enabled=None)
        elif seen:
            state.update(backend=seen[0][0], enabled=False)
        elif ufw_text is not None:
            state.update(backend="ufw", enabled=False)
        elif firewalld_running is False:
            state.update(backend="firewalld", enabled=False)
        else:
            state["detail"] = "no firewall tooling found (nft, iptables, ufw, firewalld)"
        return state

    def time_sync(self) -> dict[str, Any] | None:
        procs = self._process_names()
        service = next((label for proc, label in _TIME_DAEMONS if _running(procs, (proc,))), None)
        result: dict[str, Any] = {"service": service, "synchronized": None, "source": None, "offset_ms": None}
        if service == "chrony":
            res = run_command(["chronyc", "-n", "tracking"])  # -n: no reverse DNS lookups
            if res is not None and res.returncode == 0:
                result.update(parse_chronyc_tracking(res.stdout))
        elif service == "ntpd":
            res = run_command(["ntpq", "-pn"])
            if res is not None and res.returncode == 0:
                result.update(parse_ntpq_peers(res.stdout))
        if result["synchronized"] is None and _which("timedatectl"):
            res = run_command(["timedatectl", "show", "-p", "NTPSynchronized", "-p", "NTP"])
            if res is not None and res.returncode == 0:
                value = parse_key_values(res.stdout).get("NTPSynchronized")
                if value in ("yes", "no"):
                    result["synchronized"] = value == "yes"
        if result["synchronized"] is None and service == "systemd-timesyncd":
            result["synchronized"] = os.path.exists(self._path("/run/systemd/timesync/synchronized"))
        return result

    def ssh_server(self) -> dict[str, Any] | None:
        config_path = self._path("/etc/ssh/sshd_config")
        text = read_text(config_path)
        installed = text is not None or os.path.exists(config_path) or _which("sshd") is not None
        settings = (
            parse_sshd_config(text, default_include_reader(os.path.dirname(config_path), self._root))
            if text is not None
            else {}
        )
        running = ssh_running(self._process_names(), self.listening_ports(), settings)
        return {"installed": installed or running, "running": running, "settings": settings}

    def updates(self) -> dict[str, Any] | None:
        if _which("apt-get"):
            return self._apt_updates()
        if _which("dnf"):
            return self._dnf_updates()
        return None

    def _apt_updates(self) -> dict[str, Any]:
        lists = self._path("/var/lib/apt/lists")
        last_refresh = _iso_mtime(
            [lists, os.path.join(lists, "partial"), self._path("/var/lib/apt/periodic/update-success-stamp")]
        )

        def simulate() -> list[int]:
            # dist-upgrade, not upgrade: kernel security fixes arrive as new packages that `upgrade`
            # holds back.
            res = run_command(["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"])
            if res is None:
                raise RuntimeError("apt-get could not be run")
            if res.returncode != 0:
                raise RuntimeError(f"apt-get -s exit {res.returncode}: {res.stderr.strip()[-300:]}")
            return list(parse_apt_simulate(res.stdout))

        # The simulation is the one expensive fact; redo it only when packages, lists or apt changed.
        inputs = [self._path(p) for p in _APT_INPUTS] + [_which("apt-get") or "apt-get"]
        total, security = self._cached("apt", inputs, simulate)
        return {"manager": "apt", "total": total, "security": security, "last_refresh": last_refresh}

    def _dnf_updates(self) -> dict[str, Any]:
        def check() -> list[int | None]:
            counts: list[int | None] = []
            for argv in (
                ["dnf", "-q", "-C", "check-update"],
                ["dnf", "-q", "-C", "--security", "check-update"],
            ):
                res = run_command(argv)  # -C: cache only, never the network
                if res is None or res.returncode not in (0, 100):
                    counts.append(None)
                else:
                    counts.append(parse_dnf_check_update(res.stdout) if res.returncode == 100 else 0)
            return counts

        solv = sorted(glob.glob(self._path("/var/cache/dnf/*.solv")))
        inputs = [self._path(p) for p in _DNF_INPUTS] + solv + [_which("dnf") or "dnf"]
        counts = self._cached("dnf", inputs, check)
        last_refresh = _iso_mtime(solv or [self._path("/var/cache/dnf")])
        return {"manager": "dnf", "total": counts[0], "security": counts[1], "last_refresh": last_refresh}

    def password_policy(self) -> dict[str, Any] | None:
        files = {
            "login.defs": "/etc/login.defs",
            "pwquality": "/etc/security/pwquality.conf",
            "faillock": "/etc/security/faillock.conf",
            "pwhistory": "/etc/security/pwhistory.conf",
        }
        texts = {name: self._read(path) for name, path in files.items()}
        used = [files[name] for name, text in texts.items() if text is not None]
        pwquality_parts = [texts["pwquality"] or ""]
        for extra in sorted(glob.glob(self._path("/etc/security/pwquality.conf.d/*.conf"))):
            pwquality_parts.append(read_text(extra) or "")
            used.append(extra)
        pam_texts = []
        for pam in ("common-password", "common-auth", "system-auth", "password-auth"):
            text = self._read(f"/etc/pam.d/{pam}")
            if text is not None:
                pam_texts.append(text)
                used.append(f"/etc/pam.d/{pam}")
        policy = password_policy_from(
            texts["login.defs"], pam_texts, "\n".join(pwquality_parts), texts["faillock"], texts["pwhistory"]
        )
        policy["source"] = clip(", ".join(used), 2048) or None
        return policy

    def accounts(self) -> list[dict[str, Any]]:
        passwd = self._read("/etc/passwd")
        if passwd is None:
            raise RuntimeError("/etc/passwd is not readable")
        uid_min = (
            to_int(parse_login_defs(self._read("/etc/login.defs") or "").get("UID_MIN"), minimum=1) or 1000
        )
        accounts = accounts_from(passwd, self._read("/etc/group") or "", self._read("/etc/shadow"), uid_min)
        logins = read_lastlog(self._path("/var/log/lastlog"), [a["uid"] for a in accounts])
        if logins is not None:
            for account in accounts:
                when = logins.get(account["uid"])
                account["last_login"] = when
                account["never_logged_in"] = when is None
        return accounts

    def anti_malware(self) -> list[dict[str, Any]]:
        procs = self._process_names()
        found: list[dict[str, Any]] = []
        clam_bins = [b for b in ("clamd", "freshclam", "clamscan", "clamdscan") if _which(b)]
        if clam_bins or _running(procs, ("clamd", "freshclam")):
            version = None
            for binary in ("clamscan", "clamd"):
                if binary in clam_bins:
                    res = run_command([binary, "--version"])
                    version = parse_clamav_version(res.stdout) if res is not None else None
                    if version:
                        break
            sigs = glob.glob(self._path("/var/lib/clamav/*.cvd")) + glob.glob(
                self._path("/var/lib/clamav/*.cld")
            )
            found.append(
                {
                    "name": "ClamAV",
                    "installed": True,
                    "running": _running(procs, ("clamd", "freshclam")),
                    "version": version,
                    "signatures_updated": _iso_mtime(sigs),
                }
            )
        for product, proc_names, paths in EDR_PRODUCTS:
            running = _running(procs, proc_names)
            if running or any(os.path.exists(self._path(p)) for p in paths):
                found.append({"name": product, "installed": True, "running": running, "version": None})
        return found[:64]

    def _glob(self, pattern: str) -> list[str]:
        return sorted(glob.glob(self._path(pattern)))[:256]

    def _block_name(self, device: str) -> str | None:
        """The kernel name (dm-0, sda1, nvme0n1p2) of a /dev path: its symlink target's basename, or
        via the device number for nodes such as /dev/root."""
        name = os.path.basename(os.path.realpath(self._path(device)))
        if os.path.isdir(self._path(f"/sys/class/block/{name}")):
            return name
        try:
            rdev = os.stat(self._path(device)).st_rdev
        except OSError:
            return None
        target = self._path(f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}")
        return os.path.basename(os.path.realpath(target)) if os.path.exists(target) else None

    def _crypt_backed(self, name: str, depth: int = 0) -> bool:
        """The block device is a dm-crypt mapping, or every device under it (LVM on LUKS) is."""
        uuid = self._read(f"/sys/class/block/{name}/dm/uuid")
        if uuid is not None and uuid.strip().upper().startswith("CRYPT-"):
            return True
        try:
            slaves = sorted(os.listdir(self._path(f"/sys/class/block/{name}/slaves")))
        except OSError:
            return False
        return bool(slaves) and depth < 8 and all(self._crypt_backed(s, depth + 1) for s in slaves)

    def disk_encryption(self) -> dict[str, Any] | None:
        mounts_text = self._read("/proc/mounts")
        if mounts_text is None:
            raise RuntimeError("/proc/mounts is not readable")
        filesystems: list[dict[str, Any]] = []
        for device, mountpoint, fstype in parse_proc_mounts(mounts_text):
            name = self._block_name(device)
            filesystems.append(
                {
                    "mountpoint": mountpoint,
                    "device": device,
                    "fstype": fstype,
                    "encrypted": None if name is None else self._crypt_backed(name),
                }
            )
        root = next((f for f in filesystems if f["mountpoint"] == "/"), None)
        detail = None
        if root is None:
            detail = "/ is not on a block device (container or network root); encryption unknown"
        elif root["encrypted"] is None:
            detail = f"{root['device']}: block device not found in /sys; encryption unknown"
        return {
            "root_encrypted": root["encrypted"] if root else None,
            "filesystems": filesystems,
            "detail": detail,
        }

    def audit_logging(self) -> dict[str, Any] | None:
        procs = self._process_names()
        rule_files = [self._path("/etc/audit/audit.rules"), *self._glob("/etc/audit/rules.d/*.rules")]
        read = {f: read_text(f) for f in rule_files}
        texts = [t for t in read.values() if t is not None]
        audit_dir = self._path("/etc/audit")
        # /etc/audit and its rules are root-only on most systems: unreadable rules are unknown, not absent
        unreadable = [f for f, t in read.items() if t is None and os.path.exists(f)]
        readable = not unreadable and (
            not os.path.isdir(audit_dir) or os.access(audit_dir, os.R_OK | os.X_OK)
        )
        journal_texts = [
            t
            for t in (read_text(f) for f in [self._path("/etc/systemd/journald.conf"),
                                               *self._glob("/etc/systemd/journald.conf.d/*.conf")])
            if t is not None
        ]  # fmt: skip
        storage = journal_storage(journal_texts)
        journal_dir = os.path.isdir(self._path("/var/log/journal"))
        if storage in ("volatile", "none"):
            journal_persistent = False
        else:  # persistent, or auto/unset: persistent exactly when /var/log/journal exists
            journal_persistent = storage == "persistent" or journal_dir
        syslog = next((d for d in ("rsyslogd", "syslog-ng") if _running(procs, (d,))), None)
        return {
            "audit_service": "auditd" if "auditd" in procs or os.path.isdir(audit_dir) else None,
            "audit_running": "auditd" in procs,
            "process_audit": audit_rules_log_execve("\n".join(texts)) if readable else None,
            "persistent_logs": journal_persistent or syslog is not None,
            # PAM/sshd log every logon to the journal and syslog; kept when those persist or auditd runs
            "logon_audit": journal_persistent or syslog is not None or "auditd" in procs,
            "detail": clip(
                f"journald Storage={storage or 'auto (default)'}, /var/log/journal "
                f"{'exists' if journal_dir else 'missing'}; syslog daemon: {syslog or 'none'}"
                + ("" if readable else "; /etc/audit not readable (needs root)"),
                2048,
            ),
        }

    def log_forwarding(self) -> dict[str, Any] | None:
        procs = self._process_names()
        targets: list[dict[str, Any]] = []
        for daemon, patterns, parse in (
            ("rsyslog", ("/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf"), rsyslog_targets),
            (
                "syslog-ng",
                ("/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/*.conf"),
                syslog_ng_targets,
            ),
        ):
            for pattern in patterns:
                for path in self._glob(pattern):
                    text = read_text(path)
                    for target in parse(text) if text is not None else []:
                        targets.append({"daemon": daemon, "target": target, "file": clip(path, 2048)})
        upload_texts = [self._read("/etc/systemd/journal-upload.conf") or ""]
        upload_texts += [read_text(p) or "" for p in self._glob("/etc/systemd/journal-upload.conf.d/*.conf")]
        for text in upload_texts:
            url = parse_ini(text).get("upload", {}).get("URL")
            if url:
                targets.append({"daemon": "systemd-journal-upload", "target": clip(url), "file": None})
        daemons = (("rsyslog", "rsyslogd"), ("syslog-ng", "syslog-ng"), ("systemd-journal-upload",) * 2)
        running = [daemon for daemon, proc in daemons if proc in procs]
        running += [s for s in LOG_SHIPPERS if _running(procs, (s,))]
        forwarding = any(t["daemon"] in running for t in targets) or any(s in running for s in LOG_SHIPPERS)
        return {"running": running, "remote_targets": targets[:64], "forwarding": forwarding}

    def autologin(self) -> dict[str, Any] | None:
        entries: list[dict[str, Any]] = []
        sources = (
            ("gdm", ("/etc/gdm3/custom.conf", "/etc/gdm3/daemon.conf", "/etc/gdm/custom.conf")),
            ("lightdm", ("/usr/share/lightdm/lightdm.conf.d/*.conf", "/etc/lightdm/lightdm.conf",
                         "/etc/lightdm/lightdm.conf.d/*.conf")),
            ("sddm", ("/usr/lib/sddm/sddm.conf.d/*.conf", "/etc/sddm.conf", "/etc/sddm.conf.d/*.conf")),
        )  # fmt: skip
        for kind, patterns in sources:
            # Files are read in the display manager's own order, and later ones override earlier ones.
            merged = "\n".join(read_text(p) or "" for pattern in patterns for p in self._glob(pattern))
            user = display_manager_autologin(kind, merged) if merged.strip() else None
            if user is not None:
                entries.append({"source": kind, "user": clip(user) or None})
        for path in self._glob("/etc/systemd/system/*getty@*.service.d/*.conf") + self._glob(
            "/etc/systemd/system/*getty@*.service"
        ):
            user = getty_autologin(read_text(path) or "")
            if user is not None:
                entries.append(
                    {"source": clip(f"getty {os.path.basename(os.path.dirname(path))}"), "user": clip(user)}
                )
        return {"enabled": bool(entries), "entries": entries[:64]}

    def domain(self) -> dict[str, Any] | None:
        sssd_path = self._path("/etc/sssd/sssd.conf")
        sssd_text = read_text(sssd_path)
        parts = [sssd_text or ""] + [read_text(p) or "" for p in self._glob("/etc/sssd/conf.d/*.conf")]
        domains = [d for d in sssd_domains("\n".join(parts)) if d[1] in ("ad", "ipa", "ldap")]
        passwd_sources = nsswitch_sources(self._read("/etc/nsswitch.conf") or "")
        keytab = os.path.exists(self._path("/etc/krb5.keytab"))
        smb = parse_ini(self._read("/etc/samba/smb.conf") or "").get("global", {})
        if domains and "sss" in passwd_sources:
            return {"joined": True, "domain": clip(domains[0][0]), "method": f"sssd ({domains[0][1]})"}
        if "winbind" in passwd_sources and smb.get("security", "").lower() == "ads":
            realm = smb.get("realm") or smb.get("workgroup")
            return {"joined": True, "domain": clip(realm) if realm else None, "method": "winbind"}
        if sssd_text is None and os.path.exists(sssd_path) and "sss" in passwd_sources:
            # sssd.conf is root-only: without it, a host keytab is the join's footprint
            return {
                "joined": True if keytab else None,
                "domain": None,
                "method": "sssd (sssd.conf unreadable)",
            }
        return {"joined": False, "domain": None, "method": None}

    def package_sources(self) -> dict[str, Any] | None:
        found: list[tuple[str, str]] = []
        if os.path.isdir(self._path("/etc/apt")):
            for path in [self._path("/etc/apt/sources.list"), *self._glob("/etc/apt/sources.list.d/*.list")]:
                found.extend((path, uri) for uri in apt_list_uris(read_text(path) or ""))
            for path in self._glob("/etc/apt/sources.list.d/*.sources"):
                found.extend((path, uri) for uri in apt_deb822_uris(read_text(path) or ""))
            return {"manager": "apt", "sources": package_source_entries(found)}
        if os.path.isdir(self._path("/etc/yum.repos.d")):
            for path in self._glob("/etc/yum.repos.d/*.repo"):
                found.extend((path, uri) for uri in yum_repo_uris(read_text(path) or ""))
            return {"manager": "dnf", "sources": package_source_entries(found)}
        return None

    def dns_resolvers(self) -> dict[str, Any] | None:
        resolv = self._read("/etc/resolv.conf")
        if resolv is None:
            raise RuntimeError("/etc/resolv.conf is missing or not readable")
        addresses = parse_resolv_conf(resolv)
        if not any(a in RESOLVED_STUBS for a in addresses):
            servers = [{"address": a, "interface": None, "source": "/etc/resolv.conf"} for a in addresses]
            return {"servers": servers, "stub": None, "detail": None if servers else "no nameserver line"}
        # systemd-resolved's stub: the servers it forwards to are what filtering depends on
        upstream_path = "/run/systemd/resolve/resolv.conf"
        upstream = self._read(upstream_path)
        if upstream is None:
            raise RuntimeError(
                f"/etc/resolv.conf uses the systemd-resolved stub but {upstream_path} is unreadable"
            )
        others = [a for a in addresses if a not in RESOLVED_STUBS]
        servers = [
            {"address": a, "interface": None, "source": upstream_path} for a in parse_resolv_conf(upstream)
        ]
        servers += [{"address": a, "interface": None, "source": "/etc/resolv.conf"} for a in others]
        return {
            "servers": servers[:64],
            "stub": "systemd-resolved",
            "detail": None if servers else "systemd-resolved has no upstream DNS server",
        }

    def exploit_protection(self) -> dict[str, Any] | None:
        return parse_exploit_protection(
            self._read("/proc/sys/kernel/randomize_va_space"),
            self._read("/proc/cpuinfo"),
            os.uname().machine,
        )

    def software(self) -> dict[str, Any] | None:
        status = self._path("/var/lib/dpkg/status")
        if os.path.exists(status):

            def parse() -> list[dict[str, Any]]:
                try:
                    with open(status, encoding="utf-8", errors="replace") as lines:
                        return parse_dpkg_status(lines)
                except OSError as exc:
                    raise RuntimeError(f"/var/lib/dpkg/status is not readable: {exc}") from None

            return software_inventory("dpkg", self._cached("dpkg", [status], parse))
        if _which("rpm"):
            res = run_command(["rpm", "-qa", "--qf", r"%{NAME}\t%{VERSION}-%{RELEASE}\t%{VENDOR}\n"])
            if res is None or res.returncode != 0:
                raise RuntimeError("rpm -qa failed" + (f": {res.stderr.strip()[-300:]}" if res else ""))
            return software_inventory("rpm", parse_rpm_query(res.stdout))
        return None

    def _gnome_settings(self) -> tuple[bool, dict[str, str]]:
        """(GNOME installed, the system dconf keyfile values as "section/key" → text)."""
        installed = os.path.exists(self._path(GNOME_SHELL))
        files = sorted(glob.glob(self._path("/etc/dconf/db/*.d/*")))
        return installed, parse_dconf_keyfiles((read_text(f) or "") for f in files if os.path.isfile(f))

    def removable_media(self) -> dict[str, Any] | None:
        return gnome_removable_media(*self._gnome_settings())

    def screen_lock(self) -> dict[str, Any] | None:
        return gnome_screen_lock(*self._gnome_settings())

    def wireless(self) -> dict[str, Any] | None:
        interfaces = sorted(
            os.path.basename(os.path.dirname(p)) for p in glob.glob(self._path("/sys/class/net/*/wireless"))
        )
        if not interfaces:
            return {"connected": False, "connections": [], "detail": "no wireless interface"}
        res = run_command(
            ["nmcli", "-t", "-f", "ACTIVE,SSID,SECURITY,DEVICE", "device", "wifi", "list", "--rescan", "no"]
        )
        if res is None:
            raise RuntimeError(f"wireless interface {interfaces[0]} but no nmcli (NetworkManager) to ask")
        if res.returncode != 0:
            raise RuntimeError(f"nmcli exit {res.returncode}: {res.stderr.strip()[-300:]}")
        return parse_nmcli_wifi(res.stdout)


# --- disk encryption (HS-30) ----------------------------------------------------------------------

# Filesystems that never hold data at rest of their own (read-only images, pseudo filesystems).
_NOT_DATA_FS = frozenset({"squashfs", "iso9660", "udf", "erofs"})


def parse_proc_mounts(text: str) -> list[tuple[str, str, str]]:
    """(device, mountpoint, fstype) of the block-device mounts in /proc/mounts: the first mount of each
    device (bind mounts and further subvolumes share its encryption); octal escapes (`\\040` for a
    space) are decoded. Garbage lines are skipped."""
    seen: set[str] = set()
    mounts: list[tuple[str, str, str]] = []
    for raw in text.splitlines():
        cols = raw.split()
        if len(cols) < 3 or not cols[0].startswith("/dev/") or cols[2] in _NOT_DATA_FS:
            continue
        device, mountpoint = (re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), c) for c in cols[:2])
        if device.startswith("/dev/loop"):
            continue  # loop devices: snaps and images, whose backing file lives on another mount
        entry = (clip(device, 2048), clip(mountpoint, 2048), clip(cols[2]))
        if device in seen:
            if mountpoint == "/":  # the root filesystem is always listed as itself
                mounts = [entry if m[0] == entry[0] else m for m in mounts]
            continue
        seen.add(device)
        mounts.append(entry)
    return mounts[:512]


# --- audit logging (HS-20, HS-21) -----------------------------------------------------------------


def audit_rules_log_execve(text: str) -> bool:
    """Whether auditctl rules text has an always,exit rule on execve/execveat (`-S execve`,
    `-S execve,execveat`, `--syscall execve`, `-S all`)."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = line.split()
        actions = [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t in ("-a", "-A")]
        if not any("always" in a and "exit" in a for a in actions):
            continue
        syscalls: list[str] = []
        for i, token in enumerate(tokens[:-1]):
            if token in ("-S", "--syscall"):
                syscalls.extend(tokens[i + 1].split(","))
        if any(s in ("execve", "execveat", "all", "59", "322") for s in syscalls):
            return True
    return False


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """INI-style text into {section (lower-case): {key: value}}; keys before any section go under "".
    Later values override earlier ones (as systemd, GDM, LightDM and SDDM read them)."""
    sections: dict[str, dict[str, str]] = {"": {}}
    current = sections[""]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip():
            current[key.strip()] = value.strip().strip("\"'")
    return sections


def journal_storage(conf_texts: Iterable[str]) -> str | None:
    """journald's `Storage=` from journald.conf and its drop-ins (the last one wins); None if unset."""
    storage = None
    for text in conf_texts:
        value = parse_ini(text).get("journal", {}).get("Storage")
        if value:
            storage = value.lower()
    return storage


# --- log forwarding (HS-22) -----------------------------------------------------------------------

_RSYSLOG_LEGACY = re.compile(r"^\S+\s+-?@@?(?:\([^)]*\))?(\[[0-9A-Fa-f:.]+\]|[^\s:;@\[]+)")
_RSYSLOG_ACTION = re.compile(r"\baction\s*\((.*?)\)", re.S | re.I)
_RS_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_SYSLOG_NG_DEST = re.compile(r"\bdestination\s+[\w.-]+\s*\{(.*?)\}\s*;", re.S)
_SYSLOG_NG_NET = re.compile(r'\b(network|tcp6?|udp6?|syslog)\s*\(\s*"?([^"\s();]+)"?\s*[\s)]')


def _strip_hash_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def rsyslog_targets(text: str) -> list[str]:
    """Remote hosts rsyslog forwards to: legacy `*.* @host`/`@@host:port`/`:omrelp:host:port` and
    RainerScript `action(type="omfwd"|"omrelp" target="host")`."""
    targets: list[str] = []
    text = _strip_hash_comments(text)
    for raw in text.splitlines():
        line = raw.strip()
        match = _RSYSLOG_LEGACY.match(line)
        if match:
            targets.append(match.group(1).strip("[]"))
        relp = re.match(r"^\S+\s+:omrelp:([^:\s;]+)", line)
        if relp:
            targets.append(relp.group(1))
    for action in _RSYSLOG_ACTION.finditer(text):
        params = {k.lower(): v for k, v in _RS_PARAM.findall(action.group(1))}
        if params.get("type", "").lower() in ("omfwd", "omrelp") and params.get("target"):
            targets.append(params["target"])
    return [clip(t) for t in dict.fromkeys(targets)]


def syslog_ng_targets(text: str) -> list[str]:
    """Remote hosts of syslog-ng `destination` blocks using network()/tcp()/udp()/syslog() drivers."""
    targets: list[str] = []
    for block in _SYSLOG_NG_DEST.finditer(_strip_hash_comments(text)):
        targets.extend(m.group(2) for m in _SYSLOG_NG_NET.finditer(block.group(1)))
    return [clip(t) for t in dict.fromkeys(targets)]


# Log shippers whose running process means logs leave the host (their targets are not parsed).
LOG_SHIPPERS = ("filebeat", "fluent-bit", "td-agent-bit", "fluentd", "nxlog", "vector", "promtail",
                "splunkd", "wazuh-agentd", "ossec-agentd", "elastic-agent")  # fmt: skip


# --- autologin (HS-08) ----------------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def display_manager_autologin(kind: str, text: str) -> str | None:
    """The user a display manager logs in automatically per its config text, "" when automatic login
    is on without a named user, None when off. `kind`: gdm, lightdm or sddm."""
    ini = parse_ini(text)
    if kind == "gdm":
        daemon = ini.get("daemon", {})
        for enable, user in (("AutomaticLoginEnable", "AutomaticLogin"), ("TimedLoginEnable", "TimedLogin")):
            if _truthy(daemon.get(enable)):
                return daemon.get(user, "")
        return None
    if kind == "lightdm":
        for name, section in ini.items():
            if name.startswith("seat") and section.get("autologin-user"):
                return section["autologin-user"]
        return None
    sddm_user = ini.get("autologin", {}).get("User")
    return sddm_user or None


def getty_autologin(text: str) -> str | None:
    """The user of `agetty --autologin USER` / `-a USER` in a getty unit or drop-in, else None."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("ExecStart=") or "getty" not in line:
            continue
        match = re.search(r"(?:--autologin|\s-a)(?:\s+|=)(\S+)", line)
        if match:
            return match.group(1)
    return None


# --- domain membership (HS-17) --------------------------------------------------------------------


def sssd_domains(text: str) -> list[tuple[str, str]]:
    """(domain, id_provider) of the domains sssd.conf enables (`[sssd] domains =`); providers are
    lower-case, "" when unset."""
    ini = parse_ini(text)
    names = [d.strip() for d in ini.get("sssd", {}).get("domains", "").split(",") if d.strip()]
    return [(d, ini.get(f"domain/{d.lower()}", {}).get("id_provider", "").lower()) for d in names]


def nsswitch_sources(text: str, database: str = "passwd") -> list[str]:
    """The sources of one nsswitch.conf database (`passwd: files systemd sss` → [files, systemd, sss])."""
    for raw in text.splitlines():
        key, sep, rest = raw.split("#", 1)[0].partition(":")
        if sep and key.strip() == database:
            return [w for w in rest.split() if not w.startswith("[")]
    return []


# --- package sources (HS-25) ----------------------------------------------------------------------


def _uri_host(uri: str) -> str | None:
    match = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]+\]|[^/:?#]+)", uri.strip(), re.I)
    return match.group(1).strip("[]").lower() if match else None


def apt_list_uris(text: str) -> list[str]:
    """URIs of the `deb`/`deb-src` lines of a one-line-style sources.list."""
    uris: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", raw.split("#", 1)[0]).split()
        if len(line) >= 2 and line[0] in ("deb", "deb-src"):
            uris.append(line[1])
    return uris


def apt_deb822_uris(text: str) -> list[str]:
    """URIs of the enabled stanzas of a deb822 `.sources` file (`URIs:` fields; `Enabled: no` skipped)."""
    uris: list[str] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and key:
                fields[key] += " " + raw.strip()
                continue
            name, sep, value = raw.partition(":")
            if sep:
                key = name.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() != "no":
            uris.extend(fields.get("uris", "").split())
    return uris


def yum_repo_uris(text: str) -> list[str]:
    """baseurl/mirrorlist/metalink of the enabled sections of a .repo file."""
    uris: list[str] = []
    for name, section in parse_ini(text).items():
        if not name or section.get("enabled", "1").strip() in ("0", "false", "no"):
            continue
        for key in ("baseurl", "mirrorlist", "metalink"):
            uris.extend(section.get(key, "").split())
    return uris


def package_source_entries(found: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """`PackageSource` dicts from (file, uri) pairs, duplicates dropped."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for file, uri in found:
        entries.setdefault(
            (file, uri), {"host": _uri_host(uri), "uri": clip(uri, 2048), "file": clip(file, 2048)}
        )
    return list(entries.values())[:512]


# --- DNS resolvers (HS-29) ------------------------------------------------------------------------

RESOLVED_STUBS = frozenset({"127.0.0.53", "127.0.0.54"})  # systemd-resolved stub and proxy listeners


def parse_resolv_conf(text: str) -> list[str]:
    """The `nameserver` addresses of resolv.conf text, in order, duplicates dropped; values that are not
    IP addresses (garbage, templates) are skipped. An IPv6 zone (`fe80::1%eth0`) is kept."""
    found: list[str] = []
    for raw in text.splitlines():
        cols = raw.split("#", 1)[0].split(";", 1)[0].split()
        if len(cols) < 2 or cols[0] != "nameserver":
            continue
        try:
            ipaddress.ip_address(cols[1].split("%", 1)[0])
        except ValueError:
            continue
        found.append(clip(cols[1]))
    return list(dict.fromkeys(found))[:64]


# --- last logins (HS-15) --------------------------------------------------------------------------

# /var/log/lastlog: a sparse file indexed by uid of `struct lastlog {int32 ll_time; char ll_line[32];
# char ll_host[256];}` (292 bytes, native byte order, also on 64-bit glibc). ll_time 0 (or a record past
# the end of the file) means never logged in.
LASTLOG_RECORD = struct.Struct("=i32s256s")


def read_lastlog(path: str, uids: Iterable[int | None]) -> dict[int, str | None] | None:
    """{uid: last login as ISO 8601 UTC, or None for never} for `uids`, reading only their records;
    None when the file is absent or unreadable (e.g. distributions that moved to lastlog2)."""
    result: dict[int, str | None] = {}
    try:
        with open(path, "rb") as f:
            for uid in uids:
                if uid is None or uid < 0 or uid in result:
                    continue
                f.seek(uid * LASTLOG_RECORD.size)
                record = f.read(LASTLOG_RECORD.size)
                when = LASTLOG_RECORD.unpack(record)[0] if len(record) == LASTLOG_RECORD.size else 0
                result[uid] = datetime.fromtimestamp(when, tz=UTC).isoformat() if when > 0 else None
    except OSError:
        return None
    return result


# --- exploit protection (HS-04) -------------------------------------------------------------------

_ASLR = {"2": "full", "1": "partial", "0": "off"}
_NX_ARCHITECTURAL = frozenset({"aarch64", "arm64"})  # execute-never is always enforced there


def parse_exploit_protection(
    randomize_va_space: str | None, cpuinfo: str | None, machine: str
) -> dict[str, Any]:
    """`ExploitProtection` from /proc/sys/kernel/randomize_va_space, /proc/cpuinfo and the machine type;
    what cannot be read or recognised is "unknown", with the reason in `detail`."""
    notes: list[str] = []
    value = (randomize_va_space or "").strip()
    aslr = _ASLR.get(value, "unknown")
    if aslr == "unknown":
        notes.append(
            "kernel.randomize_va_space is not readable"
            if randomize_va_space is None
            else f"kernel.randomize_va_space has an unexpected value {clip(value, 32)!r}"
        )
    if machine in _NX_ARCHITECTURAL:
        dep = "on"
    else:
        flags = next(
            (
                line.split(":", 1)[1].split()
                for line in (cpuinfo or "").splitlines()
                if line.startswith("flags")
            ),
            None,
        )
        if flags is None:
            dep = "unknown"
            notes.append("/proc/cpuinfo has no flags line")
        else:
            dep = "on" if "nx" in flags else "off"
    return {"aslr": aslr, "dep": dep, "cfg": None, "detail": "; ".join(notes) or None}


# --- software inventory (HS-27) -------------------------------------------------------------------


def parse_dpkg_status(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Installed packages of /var/lib/dpkg/status (its lines, streamed: the file is megabytes on a
    server): stanzas whose Status ends in "installed" (removed packages keep a stanza with
    "config-files" or "not-installed")."""
    packages: list[dict[str, Any]] = []
    fields: dict[str, str] = {}

    def flush() -> None:
        status = fields.get("Status", "").split()
        if fields.get("Package") and status and status[-1] == "installed":
            version = fields.get("Version")
            packages.append(
                {
                    "name": clip(fields["Package"]),
                    "version": clip(version) if version else None,
                    "publisher": None,
                }
            )
        fields.clear()

    for line in lines:
        if not line.strip():
            flush()
        elif line.startswith(("Package: ", "Version: ", "Status: ")):
            key, _, value = line.partition(": ")
            fields[key] = value.strip()
    flush()
    return packages


def parse_rpm_query(text: str) -> list[dict[str, Any]]:
    """`rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{VENDOR}\\n'` lines; "(none)" is no vendor."""
    packages: list[dict[str, Any]] = []
    for line in text.splitlines():
        cols = line.split("\t")
        if not cols[0].strip():
            continue
        version = cols[1].strip() if len(cols) > 1 and cols[1].strip() else None
        vendor = cols[2].strip() if len(cols) > 2 and cols[2].strip() not in ("", "(none)") else None
        packages.append(
            {
                "name": clip(cols[0].strip()),
                "version": clip(version) if version else None,
                "publisher": clip(vendor) if vendor else None,
            }
        )
    return packages


# --- desktop policies: removable media (HS-03), screen lock (HS-09) --------------------------------

# The desktop itself, not its settings schemas: gsettings-desktop-schemas comes with many server packages.
GNOME_SHELL = "/usr/bin/gnome-shell"
_PER_USER = "system dconf defaults; a user may change them unless /etc/dconf/db/*.d/locks lock the keys"
_NO_GNOME = "no GNOME desktop installed (other desktops are not read)"


def parse_dconf_keyfiles(texts: Iterable[str]) -> dict[str, str]:
    """dconf keyfiles ([org/gnome/...] sections, key=GVariant text), later files overriding earlier."""
    values: dict[str, str] = {}
    for text in texts:
        section = ""
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip().strip("/")
            elif "=" in line and section:
                key, _, value = line.partition("=")
                values[f"{section}/{key.strip()}"] = clip(value.strip(), 2048)
    return values


def _gvariant_bool(text: str | None) -> bool | None:
    return {"true": True, "false": False}.get((text or "").strip().lower())


def _gvariant_uint(text: str | None) -> int | None:
    value = (text or "").strip()
    for prefix in ("uint32 ", "int32 ", "uint64 "):
        value = value.removeprefix(prefix)
    return to_int(value, minimum=0)


def gnome_removable_media(installed: bool, dconf: dict[str, str]) -> dict[str, Any]:
    """`RemovableMedia` for GNOME: autorun off needs autorun-never=true and automount-open=false (GNOME's
    defaults are false and true: it offers to run, and opens every inserted medium)."""
    if not installed:
        return {"desktop": False, "autorun_disabled": None, "settings": {}, "detail": _NO_GNOME}
    keys = (
        "org/gnome/desktop/media-handling/autorun-never",
        "org/gnome/desktop/media-handling/automount-open",
    )
    never = _gvariant_bool(dconf.get(keys[0]))
    open_ = _gvariant_bool(dconf.get(keys[1]))
    settings = {k.rsplit("/", 1)[-1]: dconf[k] for k in keys if k in dconf}
    disabled = (never if never is not None else False) and not (open_ if open_ is not None else True)
    return {"desktop": True, "autorun_disabled": disabled, "settings": settings, "detail": _PER_USER}


def gnome_screen_lock(installed: bool, dconf: dict[str, str]) -> dict[str, Any]:
    """`ScreenLock` for GNOME from idle-delay (default 300 s; 0 = never idle), lock-enabled (default true)
    and lock-delay (default 0 s)."""
    if not installed:
        return {"desktop": False, "lock_after_s": None, "settings": {}, "detail": _NO_GNOME}
    keys = {
        "idle-delay": "org/gnome/desktop/session/idle-delay",
        "lock-enabled": "org/gnome/desktop/screensaver/lock-enabled",
        "lock-delay": "org/gnome/desktop/screensaver/lock-delay",
    }
    idle = _gvariant_uint(dconf.get(keys["idle-delay"])) if keys["idle-delay"] in dconf else 300
    enabled = _gvariant_bool(dconf.get(keys["lock-enabled"])) if keys["lock-enabled"] in dconf else True
    delay = _gvariant_uint(dconf.get(keys["lock-delay"])) if keys["lock-delay"] in dconf else 0
    settings = {name: dconf[key] for name, key in keys.items() if key in dconf}
    notes = [_PER_USER]
    if idle is None or enabled is None or delay is None:
        notes.append("unreadable value in " + ", ".join(f"{n}={v}" for n, v in settings.items()))
    lock_after = idle + delay if idle and enabled and delay is not None else None
    return {"desktop": True, "lock_after_s": lock_after, "settings": settings, "detail": "; ".join(notes)}


# --- Wi-Fi (NW-28) --------------------------------------------------------------------------------


def _nmcli_fields(line: str) -> list[str]:
    """One `nmcli -t` line split on unescaped colons (an SSID may contain `\\:`)."""
    fields, current, escaped = [], [], False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def parse_nmcli_wifi(text: str) -> dict[str, Any]:
    """`Wireless` from `nmcli -t -f ACTIVE,SSID,SECURITY,DEVICE device wifi list`: the active networks
    (SECURITY "" or "--" is open; "WPA2 802.1X" is enterprise)."""
    connections = []
    for line in text.splitlines():
        fields = _nmcli_fields(line)
        if len(fields) >= 4 and fields[0] == "yes":
            connections.append(wifi_connection(fields[1] or None, fields[2] or "--", fields[3] or None))
    return {"connected": bool(connections), "connections": connections[:16], "detail": None}
