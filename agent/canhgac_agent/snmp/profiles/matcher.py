"""Which profile reads a device: the most specific match on sysObjectID prefix and sysDescr, else generic.

Specificity: the longest matching sysObjectID prefix wins; at equal length a profile that also asks for
a sysDescr regex wins; a sysDescr-only profile ranks below any prefix match. Answers are cached by
(sysObjectID, sysDescr), which change only when a device is replaced or upgraded.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from canhgac_agent.snmp.profiles.loader import load_profiles
from canhgac_agent.snmp.profiles.model import Profile

log = logging.getLogger("canhgac.devices.profiles")
MAX_CACHED = 4096


class Matcher:
    def __init__(self, profiles: list[Profile]) -> None:
        generic = [p for p in profiles if p.match is None]
        self.generic: Profile | None = generic[0] if generic else None
        self._vendors = [
            (p, re.compile(p.match.sys_descr) if p.match.sys_descr else None) for p in profiles if p.match
        ]
        self._cache: dict[tuple[str | None, str | None], Profile | None] = {}

    def match(self, sys_object_id: str | None, sys_descr: str | None) -> Profile | None:
        key = (sys_object_id, sys_descr)
        if key in self._cache:
            return self._cache[key]
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        best: tuple[int, int] = (-1, -1)
        chosen = self.generic
        for profile, descr in self._vendors:
            assert profile.match is not None
            prefix_len = 0
            if profile.match.sys_object_id:
                lengths = [
                    p.count(".") + 1
                    for p in profile.match.sys_object_id
                    if sys_object_id and (sys_object_id == p or sys_object_id.startswith(p + "."))
                ]
                if not lengths:
                    continue
                prefix_len = max(lengths)
            if descr is not None and not (sys_descr and descr.search(sys_descr[:4096])):
                continue
            score = (prefix_len, 1 if descr is not None else 0)
            if score > best:
                best, chosen = score, profile
        self._cache[key] = chosen
        return chosen


@lru_cache(maxsize=1)
def shipped_matcher() -> Matcher:
    """The shipped profiles (loaded once); a broken one is logged and left out, the rest still serve."""
    loaded, problems = load_profiles()
    for problem in problems:
        log.error("device profile problem: %s", problem)
    broken = {p.profile for p in problems}
    return Matcher([lp.profile for lp in loaded if lp.profile.name not in broken])
