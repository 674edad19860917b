"""Password and lockout policy (`SecurityFacts.password_policy`).

Linux: /etc/login.defs and the PAM stack that enforces (pam_pwquality/cracklib, pam_unix,
pam_pwhistory, pam_faillock/tally2) with their conf files. Windows: `net accounts`, read by line
position because its labels are localised.
"""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.common import clip, parse_login_defs, read_text, to_int
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


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


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`PasswordPolicy` on Linux."""
    files = {
        "login.defs": "/etc/login.defs",
        "pwquality": "/etc/security/pwquality.conf",
        "faillock": "/etc/security/faillock.conf",
        "pwhistory": "/etc/security/pwhistory.conf",
    }
    texts = {name: host.read(path) for name, path in files.items()}
    used = [files[name] for name, text in texts.items() if text is not None]
    pwquality_parts = [texts["pwquality"] or ""]
    for extra in sorted(glob.glob(host.path("/etc/security/pwquality.conf.d/*.conf"))):
        pwquality_parts.append(read_text(extra) or "")
        used.append(extra)
    pam_texts = []
    for pam in ("common-password", "common-auth", "system-auth", "password-auth"):
        text = host.read(f"/etc/pam.d/{pam}")
        if text is not None:
            pam_texts.append(text)
            used.append(f"/etc/pam.d/{pam}")
    policy = password_policy_from(
        texts["login.defs"], pam_texts, "\n".join(pwquality_parts), texts["faillock"], texts["pwhistory"]
    )
    policy["source"] = clip(", ".join(used), 2048) or None
    return policy


# `net accounts` prints its values in this fixed order in every language.
_NET_ACCOUNTS_ORDER = (
    "force_logoff",
    "min_days",
    "max_days",
    "min_length",
    "remember",
    "lockout_attempts",
    "lockout_minutes",
    "lockout_window",
)


def parse_net_accounts(text: str) -> dict[str, Any]:
    """`PasswordPolicy` from `net accounts`, by line position (labels are localised).

    Non-numeric values mean "no limit": max age → -1 (never expires, as in shadow(5)), history → 0,
    lockout threshold → 0 (no lockout). Garbage yields None fields.
    """
    values: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and value.strip():
            values.append(value.strip())
    fields = dict(zip(_NET_ACCOUNTS_ORDER, values, strict=False))
    policy: dict[str, Any] = {
        "max_days": None,
        "min_days": None,
        "warn_days": None,
        "min_length": None,
        "min_classes": None,
        "remember": None,
        "lockout_attempts": None,
        "lockout_seconds": None,
        "source": "net accounts",
    }
    if len(values) < len(_NET_ACCOUNTS_ORDER):
        policy["source"] = None
        return policy
    policy["min_days"] = to_int(fields["min_days"], minimum=0)
    policy["max_days"] = to_int(fields["max_days"], minimum=0)
    if policy["max_days"] is None:
        policy["max_days"] = -1
    policy["min_length"] = to_int(fields["min_length"], minimum=0)
    policy["remember"] = to_int(fields["remember"], minimum=0) or 0
    policy["lockout_attempts"] = to_int(fields["lockout_attempts"], minimum=0) or 0
    minutes = to_int(fields["lockout_minutes"], minimum=0)
    policy["lockout_seconds"] = None if minutes is None else minutes * 60
    return policy


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`PasswordPolicy` on Windows."""
    return parse_net_accounts(host.command(["net", "accounts"]))


PLUGIN = FactFamily(name="password_policy", linux=read_linux, windows=read_windows)
