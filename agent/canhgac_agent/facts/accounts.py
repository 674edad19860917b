"""Local accounts worth judging (`SecurityFacts.accounts`): administrators and human accounts.

Linux: /etc/passwd, /etc/group, /etc/shadow (root only: has_password/locked unknown otherwise) and the
last logins in /var/log/lastlog (requirement HS-15). Windows: `net localgroup Administrators` and
PowerShell `Get-LocalUser`.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.common import as_list, clip, parse_login_defs, parse_ps_date, to_int
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

ADMIN_GROUPS = frozenset({"sudo", "wheel", "admin"})
NOLOGIN_SHELLS = frozenset(
    {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync"}
)

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


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


def read_linux(host: LinuxHost) -> list[dict[str, Any]]:
    """`LocalAccount` dicts on Linux."""
    passwd = host.read("/etc/passwd")
    if passwd is None:
        raise RuntimeError("/etc/passwd is not readable")
    uid_min = to_int(parse_login_defs(host.read("/etc/login.defs") or "").get("UID_MIN"), minimum=1) or 1000
    accounts = accounts_from(passwd, host.read("/etc/group") or "", host.read("/etc/shadow"), uid_min)
    logins = read_lastlog(host.path("/var/log/lastlog"), [a["uid"] for a in accounts])
    if logins is not None:
        for account in accounts:
            when = logins.get(account["uid"])
            account["last_login"] = when
            account["never_logged_in"] = when is None
    return accounts


def parse_net_localgroup(text: str) -> list[str]:
    """Members listed by `net localgroup <group>`: the lines between the dashed rule and the closing
    "command completed successfully." sentence (localised, so recognised by its final period)."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip().startswith("-----")), None)
    if start is None:
        return []
    members = [ln.strip() for ln in lines[start + 1 :] if ln.strip()]
    if members and members[-1].endswith(".") and " " in members[-1]:
        members.pop()
    return [clip(m) for m in members]


def parse_local_users(users_json: Any, admins: list[str]) -> list[dict[str, Any]]:
    """`LocalAccount` dicts from `Get-LocalUser` JSON (Name, Enabled, PasswordRequired,
    PasswordLastSet, SID) plus the Administrators members that are not local users (domain groups).
    uid is the account's RID (500 = built-in Administrator)."""
    admin_names = {a.lower().rsplit("\\", 1)[-1] for a in admins}
    accounts: list[dict[str, Any]] = []
    local_names = set()
    for user in as_list(users_json):
        if not isinstance(user, dict) or not isinstance(user.get("Name"), str):
            continue
        name = user["Name"]
        local_names.add(name.lower())
        sid = user.get("SID")
        rid = to_int(sid.rsplit("-", 1)[-1]) if isinstance(sid, str) and "-" in sid else None
        enabled = user.get("Enabled")
        is_admin = name.lower() in admin_names
        last_set = user.get("PasswordLastSet")
        entry: dict[str, Any] = {
            "name": clip(name),
            "uid": rid,
            "groups": ["Administrators"] if is_admin else [],
            "is_admin": is_admin,
            "has_password": None if "PasswordLastSet" not in user else last_set is not None,
            "locked": (not enabled) if isinstance(enabled, bool) else None,
            "shell": None,
        }
        if "LastLogon" in user:  # absent from older agents' script: unknown, not "never"
            entry["last_login"] = parse_ps_date(user["LastLogon"])
            entry["never_logged_in"] = entry["last_login"] is None
        accounts.append(entry)
    for admin in admins:
        if "\\" in admin and admin.rsplit("\\", 1)[-1].lower() not in local_names:
            accounts.append(
                {"name": clip(admin), "uid": None, "groups": ["Administrators"], "is_admin": True}
            )
    return accounts[:4096]


def read_windows(host: WindowsHost) -> list[dict[str, Any]]:
    """`LocalAccount` dicts on Windows."""
    admins = parse_net_localgroup(host.command(["net", "localgroup", "Administrators"]))
    return parse_local_users(host.powershell("users"), admins)


PLUGIN = FactFamily(name="accounts", linux=read_linux, windows=read_windows, many=True)
