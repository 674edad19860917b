"""Root-cause grouping inside a site that is still partly up: a dead switch and what hangs behind it.

When a device is down, the silent hosts (down, or late: stale) and down devices behind it
(devices/behind.py: LLDP/CDP for devices, the FDB for agent hosts) most likely went with it. Its
`device_down` condition lists them as affected (`data.affected`, `data.members`), and they raise no
alert of their own. The walk behind a device goes on only through silent members: a member behind it
that still reports is not grouped (nor anything behind it), since it contradicts the map; it is listed
in `data.behind_up` as a hint that the map is wrong. With several down devices in a chain, the one
nearest the uplink carries the group. Once the device is back, its members still silent are held for
the reconnect window like a site outage's (outage.py), then alert on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from canhgac_collector.alerting.outage import member_key
from canhgac_collector.devices.behind import SiteMap, site_maps

MAX_BEHIND_UP = 20  # names kept in `data.behind_up`


def group_behind(
    session: Session,
    members: Mapping[str, tuple[str, bool]],
    down_devices: Mapping[str, int],
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """For each device in `down_devices` (name → site id; those that may alert), the data of its
    `device_down` condition, and the member keys grouped under some device (no alert of their own).
    `members`: member key → (name, silent) of every monitored host and device."""
    maps = site_maps(session, set(down_devices.values())) if down_devices else {}
    walks: dict[str, tuple[list[str], list[str]]] = {}
    grouped: set[str] = set()
    for device, site_id in down_devices.items():
        site_map = maps.get(site_id)
        down, up = _walk(device, site_map, members) if site_map is not None else ([], [])
        walks[device] = (down, up)
        grouped.update(down)
    data: dict[str, dict[str, Any]] = {}
    for device, (down, up) in walks.items():
        if member_key("device", device) in grouped:
            continue  # behind another down device: that one carries the group
        hosts = sorted(members[k][0] for k in down if k.startswith("host:"))
        devices = sorted(members[k][0] for k in down if k.startswith("device:"))
        data[device] = {
            "hosts": len(hosts),
            "devices": len(devices),
            "affected": {"hosts": hosts, "devices": devices},
            "members": sorted(down),
            "behind_up": sorted(members[k][0] for k in up)[:MAX_BEHIND_UP],
        }
    return data, grouped


def _walk(
    device: str, site_map: SiteMap, members: Mapping[str, tuple[str, bool]]
) -> tuple[list[str], list[str]]:
    """(silent, reporting) member keys behind `device`, walking on only through silent devices."""
    down: list[str] = []
    up: list[str] = []
    stack, seen = [device], {device}
    while stack:  # bounded: a tree of at most MAX_DEVICES devices, each visited once
        here = stack.pop()
        behind = [member_key("host", h) for h in site_map.hosts.get(here, [])]
        behind += [member_key("device", d) for d in site_map.children.get(here, [])]
        for key in behind:
            if key not in members:
                continue  # not monitored (new host, never-polled device): says nothing
            (down if members[key][1] else up).append(key)
            name = key.split(":", 1)[1]
            if members[key][1] and key.startswith("device:") and name not in seen:
                seen.add(name)
                stack.append(name)
    return down, up
