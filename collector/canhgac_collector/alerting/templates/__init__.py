"""Alert texts: Vietnamese, Vietnamese without diacritics (SMS-like channels), English.

`str.format` templates, one entry per rule, each with a short "what to check first". Variables: `site`
(site name), `subject` (host/device/interface name), `since` (local HH:MM dd/mm), `value`, `threshold`,
`hosts`, `devices`, `flaps`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RuleTexts:
    vi: str
    en: str
    check_vi: str
    check_en: str


TEXTS: dict[str, RuleTexts] = {
    "site_unreachable": RuleTexts(
        "{site} mất kết nối tới Trung tâm dữ liệu tỉnh từ {since}; {hosts} máy, {devices} switch không "
        "liên lạc được",
        "{site} lost its connection to the provincial data centre at {since}; {hosts} hosts and {devices} "
        "switches are unreachable",
        "Kiểm tra nguồn điện và đèn của modem/router và switch chính tại điểm; gọi nhà mạng nếu đường "
        "truyền (cáp quang) mất tín hiệu.",
        "Check power and link lights on the site's modem/router and main switch; call the carrier if the "
        "line (fibre) has no signal.",
    ),
    "site_silent_link_up": RuleTexts(
        "{site}: {hosts} máy không gửi báo cáo từ {since} nhưng đường truyền tới điểm vẫn thông",
        "{site}: {hosts} hosts silent since {since} although the line to the site is up",
        "Đường truyền vẫn tốt: kiểm tra nguồn điện và switch trong trụ sở (mất điện cục bộ, switch treo), "
        "không cần gọi nhà mạng.",
        "The line is up: check power and the switch inside the office (local power cut, hung switch); no "
        "need to call the carrier.",
    ),
    "host_down": RuleTexts(
        "Máy {subject} ({site}) không gửi báo cáo từ {since}",
        "Host {subject} ({site}) has not reported since {since}",
        "Máy có bật không, có mạng không, dịch vụ canhgac-agent có chạy không.",
        "Is the machine on and on the network; is the canhgac-agent service running.",
    ),
    "device_down": RuleTexts(
        "Thiết bị {subject} ({site}) không phản hồi SNMP từ {since}",
        "Device {subject} ({site}) has not answered SNMP since {since}",
        "Nguồn điện, cáp uplink của thiết bị; cấu hình SNMP (community/người dùng v3) có bị đổi không.",
        "The device's power and uplink cable; whether its SNMP settings (community/v3 user) changed.",
    ),
    "link_down": RuleTexts(
        "Cổng {subject} ({site}) mất liên kết từ {since}",
        "Link {subject} ({site}) is down since {since}",
        "Cáp và đầu nối ở hai đầu cổng, thiết bị phía bên kia có nguồn không; cổng có bị tắt nhầm không.",
        "Cable and connectors at both ends, power of the device on the far side; was the port shut by "
        "mistake.",
    ),
    "probe_loss": RuleTexts(
        "{subject} ({site}): mất gói {value:.0%} (ngưỡng {threshold:.0%}) từ {since}",
        "{subject} ({site}): {value:.0%} packet loss (threshold {threshold:.0%}) since {since}",
        "Đường truyền của điểm (nhà mạng), switch/modem quá tải hoặc cáp lỗi.",
        "The site's line (carrier), an overloaded switch/modem or a bad cable.",
    ),
    "probe_latency": RuleTexts(
        "{subject} ({site}): độ trễ {value:.0f} ms (ngưỡng {threshold:.0f} ms) từ {since}",
        "{subject} ({site}): latency {value:.0f} ms (threshold {threshold:.0f} ms) since {since}",
        "Băng thông đường truyền có bị dùng hết không (tải xuống lớn, camera); gọi nhà mạng nếu kéo dài.",
        "Is the line's bandwidth used up (large downloads, cameras); call the carrier if it persists.",
    ),
    "interface_errors": RuleTexts(
        "Cổng {subject} ({site}): {value:.1f} lỗi/giây (ngưỡng {threshold:.1f}) từ {since}",
        "Interface {subject} ({site}): {value:.1f} errors/s (threshold {threshold:.1f}) since {since}",
        "Thay cáp/đầu RJ45 hoặc module quang; kiểm tra duplex/tốc độ hai đầu có khớp không.",
        "Replace the cable/RJ45 plug or optic; check both ends agree on speed and duplex.",
    ),
    "interface_utilisation": RuleTexts(
        "Cổng {subject} ({site}) dùng {value:.0%} băng thông (ngưỡng {threshold:.0%}) từ {since}",
        "Interface {subject} ({site}) at {value:.0%} of its bandwidth (threshold {threshold:.0%}) since "
        "{since}",
        "Máy nào đang tải nhiều (cập nhật, sao lưu, camera); cân nhắc nâng băng thông.",
        "Which machines are moving the most data (updates, backups, cameras); consider more bandwidth.",
    ),
    "disk_usage": RuleTexts(
        "Máy {subject} ({site}): ổ đĩa đầy {value:.0%} (ngưỡng {threshold:.0%}) từ {since}",
        "Host {subject} ({site}): disk {value:.0%} full (threshold {threshold:.0%}) since {since}",
        "Dọn tệp tạm, thùng rác, bản cập nhật cũ; chuyển dữ liệu lưu trữ sang máy chủ.",
        "Clear temporary files, the recycle bin and old updates; move archives to a server.",
    ),
    "memory_usage": RuleTexts(
        "Máy {subject} ({site}): bộ nhớ dùng {value:.0%} (ngưỡng {threshold:.0%}) từ {since}",
        "Host {subject} ({site}): memory {value:.0%} used (threshold {threshold:.0%}) since {since}",
        "Chương trình nào dùng nhiều bộ nhớ; khởi động lại máy nếu cần.",
        "Which program uses the memory; restart the machine if needed.",
    ),
    "temperature": RuleTexts(
        "{subject} ({site}): nhiệt độ {value:.0f} °C (ngưỡng {threshold:.0f} °C) từ {since}",
        "{subject} ({site}): temperature {value:.0f} °C (threshold {threshold:.0f} °C) since {since}",
        "Quạt, bụi, điều hòa phòng máy; chỗ đặt thiết bị có thoáng không.",
        "Fans, dust, the room's air conditioning; is the device well ventilated.",
    ),
    "spool_backlog": RuleTexts(
        "Máy {subject} ({site}): {value:.0f} báo cáo chờ gửi (ngưỡng {threshold:.0f}) từ {since}",
        "Host {subject} ({site}): {value:.0f} reports waiting to be sent (threshold {threshold:.0f}) since "
        "{since}",
        "Kết nối từ máy tới máy chủ Canh Gác (tường lửa, proxy, chứng chỉ).",
        "The machine's connection to the Canh Gác server (firewall, proxy, certificate).",
    ),
    "config_changed": RuleTexts(
        "Cấu hình thiết bị {subject} ({site}) thay đổi lúc {since}",
        "The configuration of {subject} ({site}) changed at {since}",
        "Thay đổi có theo kế hoạch không; xem phần khác biệt trong Canh Gác.",
        "Was the change planned; review the diff in Canh Gác.",
    ),
    "compliance_drift": RuleTexts(
        "{subject} ({site}) không còn đạt yêu cầu tuân thủ từ {since}",
        "{subject} ({site}) drifted out of compliance at {since}",
        "Xem các quy tắc mới không đạt trong báo cáo kiểm tra gần nhất.",
        "See the newly failing rules in the latest scan report.",
    ),
    "cpu_usage": RuleTexts(
        "{subject} ({site}): CPU dùng {value:.0%} (ngưỡng {threshold:.0%}) từ {since}",
        "{subject} ({site}): CPU at {value:.0%} (threshold {threshold:.0%}) since {since}",
        "Vòng lặp mạng (loop), bão broadcast, tấn công hoặc quá nhiều phiên quản trị; xem nhật ký thiết bị.",
        "A switching loop, a broadcast storm, an attack or too many management sessions; see the device log.",
    ),
    "hardware_failed": RuleTexts(
        "{subject} ({site}) báo hỏng từ {since}",
        "{subject} ({site}) reports a failure since {since}",
        "Quạt hoặc bộ nguồn của thiết bị: kiểm tra tại chỗ, thay thế; thiết bị có thể quá nhiệt hoặc mất "
        "nguồn dự phòng.",
        "The device's fan or power supply: check on site and replace it; the device may overheat or have "
        "lost its redundant power.",
    ),
    # LAN sensor detections: `subject` is "IP (MAC, where the switches learned it)" composed by lan/.
    "lan_dhcp_rogue": RuleTexts(
        "Phát hiện máy chủ DHCP lạ {subject} tại {site} lúc {since}",
        "Rogue DHCP server {subject} at {site} at {since}",
        "Tìm thiết bị cắm vào cổng switch ghi trong cảnh báo: thường là router wifi gia đình hoặc modem "
        "cắm nhầm cổng LAN; rút cáp hoặc tắt DHCP trên thiết bị đó, rồi cho các máy nhận lại địa chỉ.",
        "Find the device on the switch port named in the alert: usually a home wifi router or a modem "
        "plugged in by its LAN port; unplug it or turn its DHCP off, then let the PCs renew their address.",
    ),
    "lan_arp_spoof": RuleTexts(
        "Nghi giả mạo ARP: {subject} tại {site} lúc {since}",
        "Suspected ARP spoofing: {subject} at {site} at {since}",
        "Tìm máy có MAC này trên cổng switch ghi trong cảnh báo và cách ly (rút cáp); quét mã độc máy đó; "
        "kiểm tra địa chỉ MAC của gateway trên các máy.",
        "Find the machine with this MAC on the switch port named in the alert and isolate it (unplug); "
        "scan it for malware; check the gateway's MAC on the PCs.",
    ),
    "lan_ip_conflict": RuleTexts(
        "Trùng địa chỉ IP: {subject} tại {site} lúc {since}",
        "IP address conflict: {subject} at {site} at {since}",
        "Máy nào đặt IP tĩnh trùng với dải DHCP; đổi IP của một trong hai máy.",
        "Which machine has a static IP inside the DHCP range; change the address of one of the two.",
    ),
    "lan_mac_flood": RuleTexts(
        "Tràn bảng MAC (rất nhiều MAC mới) tại {site}: {subject} lúc {since}",
        "MAC flooding (a burst of new MACs) at {site}: {subject} at {since}",
        "Tìm cổng switch có hàng trăm MAC; rút thiết bị lạ ở cổng đó, bật port-security nếu switch hỗ trợ.",
        "Find the switch port with hundreds of MACs; unplug the unknown device there and enable "
        "port security where the switch supports it.",
    ),
    "lan_device_new": RuleTexts(
        "Thiết bị lạ {subject} xuất hiện trong mạng {site} lúc {since}",
        "Unknown device {subject} joined the network at {site} at {since}",
        "Thiết bị này là gì (máy in, camera, máy cá nhân)? Nếu được phép: thêm vào danh sách thiết bị "
        "được duyệt hoặc cài agent; nếu không: tắt cổng switch ghi trong cảnh báo.",
        "What is it (printer, camera, a personal laptop)? If allowed: add it to the approved list or "
        "install the agent; if not: shut the switch port named in the alert.",
    ),
}

#: A rule's texts when its alert groups the members behind its subject (`behind`: their names listed,
#: `behind_count`: how many), from alerting/grouping.py.
BEHIND_TEXTS: dict[str, RuleTexts] = {
    "device_down": RuleTexts(
        "Switch {subject} ({site}) mất kết nối từ {since}; {behind_count} máy/thiết bị phía sau bị ảnh "
        "hưởng: {behind}",
        "Switch {subject} ({site}) unreachable since {since}; {behind_count} hosts/devices behind it are "
        "affected: {behind}",
        "Nguồn điện và cáp uplink của chính switch này trước tiên (các máy phía sau mất kết nối theo nó); "
        "sau đó cấu hình SNMP (community/người dùng v3) có bị đổi không.",
        "This switch's own power and uplink cable first (what is behind it went down with it); then "
        "whether its SNMP settings (community/v3 user) changed.",
    ),
}

MAX_NAMES_LISTED = 20  # hosts/devices named in one message; the rest are counted
SEVERITY_VI = {"info": "thông tin", "warning": "cảnh báo", "critical": "nghiêm trọng"}
KIND_VI = {
    "firing": ("CẢNH BÁO", "ALERT"),
    "escalation": ("CHUYỂN CẤP", "ESCALATED"),
    "resolved": ("ĐÃ KHẮC PHỤC", "RESOLVED"),
}


def ascii_vi(text: str) -> str:
    """Vietnamese without diacritics ("Xã Cẩm Xuyên" → "Xa Cam Xuyen") for channels that need it."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("°", " do ")


def texts_for(rule: str, grouped: bool) -> RuleTexts:
    """The texts of `rule`; its grouping variant when the alert groups members behind its subject."""
    return BEHIND_TEXTS[rule] if grouped and rule in BEHIND_TEXTS else TEXTS[rule]


def behind_values(affected: Any) -> dict[str, Any]:
    """`behind` (names, hosts first, at most MAX_NAMES_LISTED then "+N") and `behind_count` from an
    alert's `data.affected`."""
    names: list[str] = []
    if isinstance(affected, dict):
        for kind in ("hosts", "devices"):
            names += [str(n) for n in affected.get(kind) or []]
    more = len(names) - MAX_NAMES_LISTED
    shown = ", ".join(names[:MAX_NAMES_LISTED]) + (f" (+{more})" if more > 0 else "")
    return {"behind": shown, "behind_count": len(names)}


def alert_texts(rule: str, data: dict[str, Any] | None) -> RuleTexts:
    """The texts of a stored alert of `rule` (its grouping variant when `data.affected` lists members)."""
    return texts_for(rule, behind_values((data or {}).get("affected"))["behind_count"] > 0)


def summary(rule: str, values: dict[str, Any]) -> tuple[str, str]:
    """(Vietnamese, English) one-line summary of an alert of `rule`."""
    t = texts_for(rule, bool(values.get("behind_count")))
    return t.vi.format(**values), t.en.format(**values)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def render(
    *,
    kind: str,
    rule: str,
    summary_vi: str,
    summary_en: str,
    severity: str,
    site_path: str,
    flaps: int,
    affected: int,
    ack_url: str | None,
    style: str,
    recipient_site: str | None = None,
    missing: list[str] | None = None,
) -> Message:
    """A whole message for one recipient; `style` is vi | vi_ascii | en | vi_en (Vietnamese first)."""
    t = texts_for(rule, affected > 0)
    word_vi, word_en = KIND_VI[kind]
    vi_lines = [summary_vi, f"Mức độ: {SEVERITY_VI.get(severity, severity)} · Địa điểm: {site_path}"]
    en_lines = [summary_en, f"Severity: {severity} · Site: {site_path}"]
    if kind == "escalation" and recipient_site:
        vi_lines.append(f"Chưa ai xác nhận cảnh báo này; chuyển tới {recipient_site}.")
        en_lines.append(f"Nobody acknowledged this alert; escalated to {recipient_site}.")
    if flaps:
        vi_lines.append(f"Chập chờn: {flaps} lần mất/có lại.")
        en_lines.append(f"Flapping: {flaps} times down/up again.")
    if affected:
        vi_lines.append(f"Ảnh hưởng: {affected} máy/thiết bị (không cảnh báo riêng từng máy).")
        en_lines.append(f"Affected: {affected} hosts/devices (not alerted one by one).")
    if missing:
        shown = ", ".join(missing[:MAX_NAMES_LISTED])
        more = len(missing) - MAX_NAMES_LISTED
        vi_lines.append(
            f"Chưa kết nối lại sau thời gian chờ: {shown}"
            + (f" và {more} máy khác" if more > 0 else "")
            + " (mỗi máy sẽ được cảnh báo riêng nếu vẫn mất liên lạc)."
        )
        en_lines.append(
            f"Not reconnected within the wait: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + " (each is alerted on its own if it stays silent)."
        )
    if kind != "resolved":
        vi_lines.append(f"Kiểm tra trước: {t.check_vi}")
        en_lines.append(f"Check first: {t.check_en}")
        if ack_url:
            vi_lines.append(f"Xác nhận đã nhận: {ack_url}")
            en_lines.append(f"Acknowledge: {ack_url}")
    subject_vi = f"[Canh Gác] {word_vi}: {summary_vi}"
    subject_en = f"[Canh Gac] {word_en}: {summary_en}"
    if style == "en":
        return Message(subject_en, "\n".join(en_lines))
    if style == "vi":
        return Message(subject_vi, "\n".join(vi_lines))
    if style == "vi_ascii":
        return Message(ascii_vi(subject_vi), ascii_vi("\n".join(vi_lines)))
    return Message(subject_vi, "\n".join(vi_lines) + "\n\n— English —\n" + "\n".join(en_lines))
