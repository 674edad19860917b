"""Config history on SQLite and a real PostgreSQL: SSH settings encrypted and turned into pull targets,
versions stored only on real change (with the event the `config_changed` alert fires on), masking for
every platform, retention, diffs, approval, host keys pinned / held pending / accepted, and the
migration down and up again."""

from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter

import pytest
from sqlalchemy import inspect, select

from canhgac_collector.alerting.rules import RuleBook, collect_conditions
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.configs.credentials import PlatformUnknownError, guess_platform, ssh_target_for
from canhgac_collector.devices.configs.history import (
    ApprovalError,
    accept_host_key,
    approve_version,
    record_pull,
    unified_diff,
)
from canhgac_collector.devices.configs.mask import MASK, mask_config
from canhgac_collector.devices.configs.normalise import normalise
from canhgac_collector.devices.configs.queries import config_states, get_version, list_versions
from canhgac_collector.devices.configs.target import PLATFORMS, Platform, PullError, PullResult
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import downgrade, make_engine, upgrade
from canhgac_collector.store.models import Device, DeviceConfigVersion, Event, Site
from tests.collector.devices.configs.conftest import ENABLE_SECRET, SSH_PASSWORD, Store
from tests.collector.devices.configs.samples import (
    CISCO_V1,
    CISCO_V1_VOLATILE,
    CISCO_V2,
    MASK_CASES,
    VOLATILE_PAIRS,
)
from tests.conftest import site_tree

T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"


def pulled(config: str, key: str = KEY_A) -> PullResult:
    return PullResult(config=config, host_key=key, duration_s=0.5)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def events(store: Store, kind: str) -> list[Event]:
    with store.sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_platform_names_match_the_pull_targets() -> None:
    assert set(Platform.__args__) == set(PLATFORMS)


def test_ssh_settings_are_encrypted_and_become_the_pull_target(store: Store) -> None:
    with store.sessions() as session:
        devices = {d.name: d for d in session.scalars(select(Device))}
        sw = devices["sw-a1"]
        assert sw.ssh_secret_enc is not None
        assert SSH_PASSWORD.encode() not in sw.ssh_secret_enc
        assert ENABLE_SECRET.encode() not in sw.ssh_secret_enc
        target = ssh_target_for(sw, store.box)
        assert target is not None
        assert (target.host, target.port, target.platform, target.username) == (
            "127.0.0.1",
            2222,
            "cisco_ios",
            "backup",
        )
        assert (target.password, target.enable_secret, target.pinned_host_key) == (
            SSH_PASSWORD,
            ENABLE_SECRET,
            None,
        )
        assert SSH_PASSWORD not in repr(target)
        assert ssh_target_for(devices["snmp-only"], store.box) is None
        core = devices["core-p"]
        with pytest.raises(PlatformUnknownError, match="platform unknown"):
            ssh_target_for(core, store.box)  # no platform given, nothing known from SNMP yet
        core.vendor, core.sys_descr = "huawei", "Huawei Versatile Routing Platform Software VRP (R) V200R019"
        guessed = ssh_target_for(core, store.box)
        assert guessed is not None
        assert (guessed.platform, guessed.key_file, guessed.password) == (
            "huawei",
            "/etc/canhgac/backup_ed25519",
            None,
        )


@pytest.mark.parametrize(
    ("vendor", "descr", "oid", "expected"),
    [
        (
            "cisco",
            "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11",
            None,
            "cisco_ios",
        ),
        (
            "cisco",
            "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software, IOS-XE 17.3.4",
            None,
            "cisco_xe",
        ),
        ("cisco", "Cisco NX-OS(tm) n9000, Software (n9000-dk9)", None, None),  # not a platform we pull
        ("hpe", "HPE Comware Platform Software, Software Version 7.1.070", None, "hp_comware"),
        ("hpe", "ProCurve J9145A Switch 2910al-24G", None, None),
        (None, None, "1.3.6.1.4.1.14988.1", "mikrotik_routeros"),
        ("tp-link", "JetStream 24-Port Gigabit L2+ Managed Switch", None, "tplink_jetstream"),
        (
            "ruijie",
            "Ruijie Full Gigabit Security & Intelligence Access Switch(S2910-24GT4XS-E) By Ruijie",
            None,
            "ruijie_os",
        ),
        ("huawei", "Juniper Networks JUNOS 21.4", None, None),  # contradicting sources: no guess
        (None, None, None, None),
    ],
)
def test_platform_is_guessed_only_when_unambiguous(
    vendor: str | None, descr: str | None, oid: str | None, expected: str | None
) -> None:
    assert guess_platform(vendor, descr, oid) == expected


def test_placeholder_ssh_secrets_are_refused_and_never_echoed() -> None:
    entry = {
        "name": "sw",
        "address": "127.0.0.1",
        "site": "P",
        "snmp": {"version": "2c", "community": "real-c0mmunity"},
        "ssh": {"username": "backup", "password": "change-me-ssh-password"},
    }
    with pytest.raises(ValueError, match=r"devices\[0\]\.ssh\.password") as caught:
        ServerConfig(sites=site_tree(), devices=[entry])
    assert "change-me-ssh-password" not in str(caught.value)
    with pytest.raises(ValueError, match="needs password, private_key or private_key_file"):
        ServerConfig(sites=site_tree(), devices=[{**entry, "ssh": {"username": "backup"}}])


@pytest.mark.parametrize("platform", sorted(VOLATILE_PAIRS))
def test_volatile_lines_normalise_away_and_real_changes_do_not(platform: str) -> None:
    first, volatile = VOLATILE_PAIRS[platform]
    assert first != volatile
    assert normalise(first, platform) == normalise(volatile, platform)
    changed = first.replace("\n", "\nsnmp-server enable traps\n", 1)
    assert normalise(changed, platform) != normalise(first, platform)


def test_volatile_only_pulls_store_nothing_and_a_real_change_raises_the_alert(store: Store) -> None:
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        first = record_pull(session, sw, pulled(CISCO_V1), at(0))
    assert (first.status, first.stored_version, first.changed, first.host_key_pinned) == (
        "ok",
        1,
        False,
        True,
    )
    with store.sessions.begin() as session:
        again = record_pull(session, sw, pulled(CISCO_V1_VOLATILE), at(60))
    assert (again.stored_version, again.changed) == (None, False)
    assert events(store, "device.config_changed") == []  # a first backup is not a change
    with store.sessions() as session:
        [only] = list_versions(session, sw)
        assert (only.version, only.pulled_at, only.seen_at) == (1, at(0), at(60))

    with store.sessions.begin() as session:
        change = record_pull(session, sw, pulled(CISCO_V2), at(120))
    assert (change.stored_version, change.changed) == (2, True)
    assert change.summary is not None
    assert (change.summary.lines_added, change.summary.lines_removed) == (2, 2)
    assert change.summary.sections == ["interface GigabitEthernet0/1", "snmp-server community"]
    [event] = events(store, "device.config_changed")
    assert (event.subject_type, event.subject_id, event.from_state, event.to_state) == (
        "device",
        "sw-a1",
        "1",
        "2",
    )
    assert event.data is not None
    assert event.data["lines_added"] == 2
    assert "N3wC0mm" not in event.message
    assert "Pr0v1nce" not in event.message
    assert "+2/-2" in event.message

    # The existing alert rule sees it, at the device's site.
    config = store.config
    tree = resolve_tree(config)
    with store.sessions() as session:
        site_codes = {int(i): str(code) for i, code in session.execute(select(Site.id, Site.code))}
        conditions = collect_conditions(
            session, config.alerting, RuleBook(config.alerting, tree), tree, site_codes, at(121), Counter()
        )
    changed = [c for c in conditions if c.rule == "config_changed"]
    assert [(c.subject_id, c.site_code) for c in changed] == [("sw-a1", "XA-A")]


@pytest.mark.parametrize("platform", sorted(MASK_CASES))
def test_masking_hides_every_secret_syntax_and_keeps_the_line(platform: str) -> None:
    for line, expected in MASK_CASES[platform]:
        assert mask_config(line, platform) == expected, line
    whole = "\n".join(line for line, _ in MASK_CASES[platform])
    assert mask_config(whole, platform) == "\n".join(expected for _, expected in MASK_CASES[platform])


def test_masking_leaves_configs_without_secrets_alone() -> None:
    text = (
        "hostname sw-a1\nservice password-encryption\ncrypto key generate rsa modulus 2048\nkey chain OSPF\n"
        " key 1\ninterface GigabitEthernet0/1\n switchport mode trunk\nntp trusted-key 1\n"
    )
    assert mask_config(text, "cisco_ios") == text
    junos = "policy-options {\n    community CUSTOMERS members 65000:100;\n}\n"
    assert mask_config(junos, "juniper_junos") == junos  # a BGP community is not an SNMP one
    assert (
        mask_config("snmp {\n    community s3cr3t {\n", "juniper_junos")
        == f"snmp {{\n    community {MASK} {{\n"
    )
    ros = (
        "/snmp community\nset [ find default=yes ] addresses=10.0.0.0/8 name=r0sC0mm\n"
        "/system identity\nset name=gw\n"
    )
    assert mask_config(ros, "mikrotik_routeros").split("\n")[1:4] == [
        f"set [ find default=yes ] addresses=10.0.0.0/8 name={MASK}",
        "/system identity",
        "set name=gw",
    ]


def test_diff_between_any_two_versions_masked_unless_raw(store: Store) -> None:
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        record_pull(session, sw, pulled(CISCO_V1), at(0))
        record_pull(session, sw, pulled(CISCO_V2), at(1))
    with store.sessions() as session:
        v1, v2 = get_version(session, sw, 1), get_version(session, sw, 2)
        assert v1 is not None
        assert v2 is not None
        masked = unified_diff(v1, v2, raw=False)
        raw = unified_diff(v1, v2, raw=True)
    assert masked.startswith("--- version 1\n+++ version 2\n")
    assert f"-snmp-server community {MASK} RO 10\n" in masked
    assert "N3wC0mm" not in masked
    assert "-snmp-server community Pr0v1nce RO 10\n+snmp-server community N3wC0mm RO 10\n" in raw
    assert "- switchport mode trunk\n+ switchport access vlan 20\n" in masked
    assert unified_diff(v2, v2, raw=False) == ""
    as_difflib = difflib.unified_diff(
        CISCO_V1.splitlines(keepends=True), CISCO_V2.splitlines(keepends=True), "version 1", "version 2"
    )
    assert raw == "".join(as_difflib)  # the standard format: patch(1) and reviewers read it


def test_approval_needs_a_comment_and_shows_in_the_config_state(store: Store) -> None:
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        record_pull(session, sw, pulled(CISCO_V1), at(0))
    with store.sessions.begin() as session:
        device = session.get(Device, sw)
        assert device is not None
        with pytest.raises(ApprovalError):
            approve_version(session, device, 1, approved_by="token:x", comment="   ")
        assert approve_version(session, device, 9, approved_by="token:x", comment="ok") is None
        row = approve_version(session, device, 1, approved_by="token:x", comment="Cấu hình chuẩn", now=at(5))
        assert row is not None
    with store.sessions() as session:
        state = config_states(session, [sw])[sw]
    assert (state.latest_version, state.approved_version, state.latest_is_approved) == (1, 1, True)
    assert (state.approved_by, state.approved_at, state.approval_comment) == (
        "token:x",
        at(5),
        "Cấu hình chuẩn",
    )
    assert (state.platform, state.latest_text, state.last_pull_error) == ("cisco_ios", CISCO_V1, None)
    with store.sessions.begin() as session:
        record_pull(session, sw, pulled(CISCO_V2), at(10))
    with store.sessions() as session:
        state = config_states(session, [sw, store.device_id("snmp-only")])[sw]
    assert (state.latest_version, state.approved_version, state.latest_is_approved) == (2, 1, False)
    assert [e.to_state for e in events(store, "device.config_approved")] == ["1"]


def test_retention_keeps_the_newest_and_the_approved_version(store: Store) -> None:
    sw = store.device_id("sw-a1")
    for n in range(1, 7):
        with store.sessions.begin() as session:
            record_pull(session, sw, pulled(CISCO_V1 + f"banner motd ^v{n}^\n"), at(n), retention=3)
            if n == 2:
                device = session.get(Device, sw)
                assert device is not None
                approve_version(session, device, 2, approved_by="token:a", comment="baseline")
    with store.sessions() as session:
        assert [v.version for v in list_versions(session, sw)] == [6, 5, 4, 2]


def test_host_key_pinned_then_a_changed_key_waits_for_an_operator(store: Store) -> None:
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        record_pull(session, sw, pulled(CISCO_V1, KEY_A), at(0))
    with store.sessions.begin() as session:
        device = session.get(Device, sw)
        assert device is not None
        assert device.ssh_host_key == KEY_A
        target = ssh_target_for(device, store.box)
        assert target is not None
        assert target.pinned_host_key == KEY_A
        changed = PullError(
            "host_key_changed", "khoá SSH đã đổi / host key changed", presented_host_key=KEY_B
        )
        outcome = record_pull(session, sw, changed, at(60))
    assert (outcome.status, outcome.error_kind, outcome.stored_version) == ("error", "host_key_changed", None)
    with store.sessions() as session:
        device = session.get(Device, sw)
        assert device is not None
        assert (device.ssh_host_key, device.ssh_pending_host_key, device.config_status) == (
            KEY_A,
            KEY_B,
            "error",
        )
        state = config_states(session, [sw])[sw]
        assert (state.last_pull_error_kind, state.latest_version) == ("host_key_changed", 1)
        assert state.last_pull_error is not None
        assert "host key changed" in state.last_pull_error
    # A pull result with a key other than the pinned one is never stored either.
    with store.sessions.begin() as session:
        assert record_pull(session, sw, pulled(CISCO_V2, KEY_B), at(61)).status == "error"
    with store.sessions.begin() as session:
        assert accept_host_key(session, sw, "token:admin", now=at(70))
        assert not accept_host_key(session, sw, "token:admin")  # nothing pending any more
    with store.sessions.begin() as session:
        device = session.get(Device, sw)
        assert device is not None
        assert (device.ssh_host_key, device.ssh_pending_host_key) == (KEY_B, None)
        assert device.config_pull_requested_at == at(70)
        ok = record_pull(session, sw, pulled(CISCO_V2, KEY_B), at(75))
    assert (ok.status, ok.stored_version) == ("ok", 2)
    with store.sessions() as session:
        device = session.get(Device, sw)
        assert device is not None
        assert (device.config_status, device.config_error, device.config_pull_requested_at) == (
            "ok",
            None,
            None,
        )
    assert [e.to_state for e in events(store, "device.host_key")] == ["pinned", "accepted"]
    assert [e.to_state for e in events(store, "device.config_pull")] == ["error", "ok"]


@pytest.mark.parametrize(
    ("config", "reason"),
    [("x" * (4 * 1024 * 1024 + 1), "too large"), ("hostname a\x00b\n", "NUL"), (" \n\n", "empty")],
)
def test_unusable_pull_results_keep_the_history(store: Store, config: str, reason: str) -> None:
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        record_pull(session, sw, pulled(CISCO_V1), at(0))
        outcome = record_pull(session, sw, pulled(config), at(1))
    assert (outcome.status, outcome.error_kind) == ("error", "device_error")
    with store.sessions() as session:
        assert [v.version for v in list_versions(session, sw)] == [1]
        device = session.get(Device, sw)
        assert device is not None
        assert device.config_error is not None
        assert reason in device.config_error


def test_config_sync_updates_ssh_settings_only_when_they_change(store: Store) -> None:
    from canhgac_collector.devices.store import sync_config_devices

    with store.sessions.begin() as session:
        assert sync_config_devices(session, store.config, store.box)["updated"] == 0
    data = store.config.model_dump(mode="python")
    entry = data["devices"][0]
    entry["ssh"]["password"] = "an0ther-ssh-pa55word"
    entry["ssh"]["enable_secret"] = ENABLE_SECRET
    entry["ssh"]["platform"] = "cisco_xe"
    changed = ServerConfig.model_validate(
        {**data, "devices": [{**d, "ssh": d["ssh"]} for d in data["devices"]]}
    )
    with store.sessions.begin() as session:
        assert sync_config_devices(session, changed, store.box)["updated"] == 1
        device = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        target = ssh_target_for(device, store.box)
        assert target is not None
        assert (target.password, target.platform) == (
            "an0ther-ssh-pa55word",
            "cisco_xe",
        )


def test_migration_0007_goes_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0006")
        insp = inspect(engine)
        assert "device_config_versions" not in insp.get_table_names()
        assert not any(c["name"].startswith(("ssh_", "config_")) for c in insp.get_columns("devices"))
        upgrade(engine)
        insp = inspect(engine)
        assert "device_config_versions" in insp.get_table_names()
        assert {"ssh_secret_enc", "ssh_host_key", "config_pull_requested_at"} <= {
            c["name"] for c in insp.get_columns("devices")
        }
    finally:
        engine.dispose()


def test_versions_go_with_their_device(store: Store) -> None:
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        record_pull(session, sw, pulled(CISCO_V1), at(0))
    with store.sessions.begin() as session:
        device = session.get(Device, sw)
        session.delete(device)
    with store.sessions() as session:
        assert session.scalars(select(DeviceConfigVersion)).all() == []
