"""Linux security facts provider.

Every command is a fixed argv run by `common.run_command` (C locale, ≤ 10 s, a missing binary is
"not present", not a crash). Every file format is read by a pure `parse_*` function over text, so the
parsing is tested on sample text; a parser given garbage returns empty/None values, never raises.
Works unprivileged: what needs root (nft/iptables rules, /etc/shadow) is reported as unknown (None).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
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
    ssh_running,
    to_int,
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
        return accounts_from(passwd, self._read("/etc/group") or "", self._read("/etc/shadow"), uid_min)

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
