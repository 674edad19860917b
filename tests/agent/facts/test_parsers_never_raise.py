"""Every parser, given arbitrary text or JSON, returns a value and never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac_agent.facts.accounts import accounts_from, parse_local_users, parse_net_localgroup, parse_shadow
from canhgac_agent.facts.anti_malware import parse_av_products, parse_clamav_version, parse_defender_status
from canhgac_agent.facts.audit_logging import audit_rules_log_execve, journal_storage, parse_audit_bundle
from canhgac_agent.facts.autologin import display_manager_autologin, getty_autologin, parse_winlogon
from canhgac_agent.facts.backup import (
    cron_lines,
    parse_systemctl_show,
    timer_unit,
    veeam_entry,
    windows_backup_entry,
)
from canhgac_agent.facts.common import parse_login_defs, parse_ps_date
from canhgac_agent.facts.disk_encryption import parse_bitlocker, parse_proc_mounts
from canhgac_agent.facts.domain import nsswitch_sources, parse_computer_system, sssd_domains
from canhgac_agent.facts.endpoint_management import (
    parse_wazuh_manager,
    parse_wazuh_state,
    security_center_entries,
    wazuh_entry,
    windows_service_entries,
)
from canhgac_agent.facts.firewall import (
    firewall_from_profiles,
    parse_iptables_save,
    parse_netsh_allprofiles,
    parse_nft_ruleset,
    parse_ufw_conf,
)
from canhgac_agent.facts.log_forwarding import parse_wef, rsyslog_targets, syslog_ng_targets
from canhgac_agent.facts.package_sources import apt_deb822_uris, apt_list_uris, parse_wsus, yum_repo_uris
from canhgac_agent.facts.password_policy import parse_net_accounts, parse_pam, password_policy_from
from canhgac_agent.facts.remote_access import windows_battery, windows_clients
from canhgac_agent.facts.ssh_server import parse_sshd_config
from canhgac_agent.facts.time_sync import parse_chronyc_tracking, parse_ntpq_peers, parse_w32tm_status
from canhgac_agent.facts.updates import parse_apt_simulate, parse_dnf_check_update, parse_update_results
from canhgac_agent.facts.windows import parse_services
from canhgac_api.schemas.report import (
    AuditLogging,
    Autologin,
    BackupTool,
    DiskEncryption,
    DomainMembership,
    EndpointProduct,
    LogForwarding,
    PackageSources,
    VpnClient,
)
from tests.agent.facts.samples import (
    APT_SIMULATE,
    DEB822,
    IPTABLES_SAVE,
    MOUNTS,
    NET_ACCOUNTS,
    NET_LOCALGROUP,
    NETSH_ALL_ON,
    NFT_RULESET,
    PASSWD,
    RSYSLOG,
    SHADOW,
    SSHD_CONFIG,
    SSSD,
    SYSLOG_NG,
    UBUNTU_COMMON_AUTH,
    W32TM_SYNCED,
)

LINUX_PARSERS = [
    parse_sshd_config,
    parse_nft_ruleset,
    parse_iptables_save,
    parse_ufw_conf,
    parse_chronyc_tracking,
    parse_ntpq_peers,
    parse_apt_simulate,
    parse_dnf_check_update,
    parse_login_defs,
    parse_pam,
    parse_shadow,
    parse_clamav_version,
    lambda text: password_policy_from(text, [text], text, text, text),
    lambda text: accounts_from(text, text, text),
]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from([
    SSHD_CONFIG, NFT_RULESET, IPTABLES_SAVE, APT_SIMULATE, PASSWD, SHADOW, UBUNTU_COMMON_AUTH
]))  # fmt: skip
def test_parsers_never_raise(text: str) -> None:
    for parse in LINUX_PARSERS:
        parse(text)


TEXT_PARSERS: list[Any] = [
    parse_netsh_allprofiles,
    lambda t: firewall_from_profiles(parse_netsh_allprofiles(t)),
    parse_w32tm_status,
    parse_net_accounts,
    parse_net_localgroup,
    parse_ps_date,
]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.sampled_from([NETSH_ALL_ON, W32TM_SYNCED, NET_ACCOUNTS, NET_LOCALGROUP]))
def test_text_parsers_never_raise(text: str) -> None:
    for parse in TEXT_PARSERS:
        parse(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_json_parsers_never_raise(value: Any) -> None:
    parse_defender_status(value)
    parse_av_products(value)
    parse_local_users(value, ["x"])
    parse_update_results(value)


HOST_CONFIG_PARSERS: list[Any] = [
    parse_proc_mounts,
    audit_rules_log_execve,
    lambda t: journal_storage([t]),
    rsyslog_targets,
    syslog_ng_targets,
    lambda t: [display_manager_autologin(k, t) for k in ("gdm", "lightdm", "sddm")],
    getty_autologin,
    sssd_domains,
    nsswitch_sources,
    apt_list_uris,
    apt_deb822_uris,
    yum_repo_uris,
]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.sampled_from([MOUNTS, RSYSLOG, SYSLOG_NG, SSSD, DEB822]))
def test_linux_parsers_never_raise(text: str) -> None:
    for parse in HOST_CONFIG_PARSERS:
        parse(text)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_windows_parsers_never_raise_and_validate(value: Any) -> None:
    DiskEncryption.model_validate(parse_bitlocker(value, value))
    AuditLogging.model_validate(parse_audit_bundle(value))
    LogForwarding.model_validate(parse_wef(value))
    Autologin.model_validate(parse_winlogon(value))
    DomainMembership.model_validate(parse_computer_system(value))
    PackageSources.model_validate(parse_wsus(value))


@settings(max_examples=100, deadline=None)
@given(
    st.text(max_size=300) | st.sampled_from(["status='connected'\n", "<client><address>h</address></client>"])
)
def test_agent_row_text_parsers_never_raise(text: str) -> None:
    parse_wazuh_state(text)
    parse_wazuh_manager(text)
    EndpointProduct.model_validate(wazuh_entry(True, text, text))
    cron_lines(text, "restic")
    timer_unit(text, "x.timer")
    parse_systemctl_show(text, 0.0)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_agent_row_json_parsers_never_raise(value: Any) -> None:
    services = parse_services(value)
    for entry in security_center_entries(value) + windows_service_entries(services, value, None, None):
        EndpointProduct.model_validate(entry)
    for tool in (windows_backup_entry(value, value), veeam_entry(value, "Running")):
        if tool is not None:
            BackupTool.model_validate(tool)
    windows_battery(value)
    for client in windows_clients(services):
        VpnClient.model_validate(client)
