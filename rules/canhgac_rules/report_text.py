"""The fixed wording of the HTML/PDF audit report, Vietnamese and English (`TEXT[key] = (vi, en)`).

The Vietnamese edition follows the administrative document form (quốc hiệu, tiêu ngữ, số và ký hiệu,
địa danh và ngày tháng, chữ ký); the English edition is a translation of the same document.
"""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "national_name": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM"),
    "motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "number": ("Số", "No."),
    "doc_kind": ("BÁO CÁO", "REPORT"),
    "doc_title": (
        "Kết quả kiểm tra, đánh giá tuân thủ yêu cầu bảo đảm an toàn hệ thống thông tin theo cấp độ",
        "Results of the audit of compliance with the level-based information-system security requirements",
    ),
    "html_title": ("Báo cáo kiểm tra tuân thủ theo cấp độ", "Level-based compliance audit report"),
    "s_general": ("THÔNG TIN CHUNG", "GENERAL INFORMATION"),
    "system": ("Hệ thống thông tin được kiểm tra", "Information system audited"),
    "scope": ("Phạm vi kiểm tra", "Scope"),
    "scope_counts": (
        "{devices} thiết bị mạng, {hosts} máy chủ/máy trạm",
        "{devices} network devices, {hosts} hosts",
    ),
    "scope_sites": ("{sites} mạng của đơn vị", "{sites} site networks"),
    "scope_errors": (
        "{errors} đối tượng không có dữ liệu sử dụng được (ghi tại Mục III)",
        "{errors} targets without usable data (listed in section III)",
    ),
    "scope_folders": ("Dữ liệu đầu vào", "Input data"),
    "skipped_file": ("Cảnh báo — bỏ qua tệp không phải cấu hình", "Warning — skipped, not a config"),
    "level": ("Cấp độ được kiểm tra", "Level audited"),
    "declared_level": ("cấp độ đã xác định của hệ thống", "the system's declared level"),
    "level_n": ("Cấp độ {level}", "Level {level}"),
    "period": ("Thời gian kiểm tra", "Audit time"),
    "method": ("Phương pháp kiểm tra", "Method"),
    "tool": ("Công cụ", "Tool"),
    "packs": ("Bộ quy tắc kiểm tra", "Rule packs"),
    "pack": ("Bộ quy tắc", "Pack"),
    "version": ("Phiên bản", "Version"),
    "pack_scope": ("Đối tượng áp dụng", "Applies to"),
    "rules_at_level": ("Số quy tắc ở cấp độ này", "Rules at this level"),
    "machine_checked": ("Kiểm tra tự động bằng công cụ", "Machine-checked"),
    "manual_checked": ("Cần xem xét thủ công", "Reviewed by hand"),
    "machine_note": (
        "{count} yêu cầu được công cụ kiểm tra tự động trên cấu hình thiết bị và dữ liệu thu thập từ "
        "máy: {ids}.",
        "{count} requirements were checked by the tool on device configurations and host data: {ids}.",
    ),
    "manual_note": (
        "{count} yêu cầu chưa được kiểm tra tự động, cần xem xét hồ sơ hoặc kiểm tra trực tiếp (Mục IV).",
        "{count} requirements were not decided by machine and need document review or a direct check "
        "(section IV).",
    ),
    "score_rule": (
        "Điểm = số kết quả đạt ÷ (đạt + không đạt). Kết quả lỗi (không đủ dữ liệu) và không áp dụng "
        "không tính vào tỷ lệ nhưng được thống kê; lỗi không bao giờ được tính là đạt.",
        "Score = passed ÷ (passed + failed). Errors (no usable data) and not-applicable results are counted "
        "but excluded from the ratio; an error never counts as a pass.",
    ),
    "refs_legend": (
        "Căn cứ: TCVN 14423:2026 (mục 3–7 tương ứng cấp độ 1–5); TCVN 11930:2017 (mục 5–9 tương ứng cấp độ "
        "1–5); TT12: Thông tư số 12/2022/TT-BTTTT. Số điều khoản đã được xác định theo cấp độ kiểm tra.",
        "Basis: TCVN 14423:2026 (sections 3–7 for levels 1–5); TCVN 11930:2017 (sections 5–9 for levels "
        "1–5); TT12: Circular 12/2022/TT-BTTTT. Clause numbers are given for the level audited.",
    ),
    "s_summary": ("TÓM TẮT KẾT QUẢ", "EXECUTIVE SUMMARY"),
    "overall": ("Kết quả chung ở cấp độ {level}", "Overall result at level {level}"),
    "score": ("Điểm", "Score"),
    "pass": ("Đạt", "Pass"),
    "fail": ("Không đạt", "Fail"),
    "error": ("Lỗi", "Error"),
    "not_applicable": ("Không áp dụng", "N/A"),
    "per_clause": ("Điểm theo điều khoản", "Score per clause"),
    "clause": ("Điều khoản", "Clause"),
    "per_requirement": ("Điểm theo yêu cầu", "Score per requirement"),
    "requirement": ("Yêu cầu", "Requirement"),
    "top_failures": ("Mười phát hiện không đạt nghiêm trọng nhất", "The ten most serious failures"),
    "top_order": (
        "Xếp theo mức độ nghiêm trọng, cấp độ bắt đầu yêu cầu, rồi số đối tượng không đạt.",
        "Ordered by severity, the level the rule starts at, then the number of failing targets.",
    ),
    "no": ("TT", "#"),
    "finding": ("Nội dung", "Finding"),
    "severity": ("Mức độ", "Severity"),
    "targets": ("Đối tượng", "Targets"),
    "fix": ("Biện pháp khắc phục", "Remediation"),
    "none": ("Không có.", "None."),
    "diff": ("Thay đổi so với lần kiểm tra trước", "Changes since the previous audit"),
    "new_fail": ("Mới không đạt", "New failures"),
    "fixed": ("Đã khắc phục", "Fixed"),
    "still_failing": ("Vẫn không đạt", "Still failing"),
    "s_targets": ("KẾT QUẢ CHI TIẾT THEO ĐỐI TƯỢNG", "FINDINGS BY TARGET"),
    "file": ("tệp", "file"),
    "device": ("Thiết bị mạng", "Network device"),
    "host": ("Máy chủ/máy trạm", "Host"),
    "site": ("Mạng của đơn vị", "Site network"),
    "failed_here": ("Không đạt và lỗi", "Failed and errored"),
    "passed_here": ("Đạt", "Passed"),
    "na_here": ("Không áp dụng", "Not applicable"),
    "requirements": ("Yêu cầu", "Requirements"),
    "clauses": ("Điều khoản", "Clauses"),
    "observed": ("Ghi nhận", "Observed"),
    "no_data": ("không đánh giá được", "could not be judged"),
    "unjudged": ("{count} quy tắc chưa đánh giá được", "{count} rules not judged"),
    "evidence_ref": ("Bằng chứng: Phụ lục, mục {ref}", "Evidence: Appendix, item {ref}"),
    "s_manual": ("HẠNG MỤC CẦN XEM XÉT THỦ CÔNG", "MANUAL-REVIEW ITEMS"),
    "manual_intro": (
        "Các yêu cầu dưới đây chưa được công cụ quyết định; không được tính là đạt.",
        "The tool did not decide the requirements below; they never count as passed.",
    ),
    "levels": ("Cấp độ", "Levels"),
    "why_manual": ("Lý do", "Why"),
    "machine_part": ("phần kiểm tra tự động đã thực hiện", "machine part checked"),
    "s_conclusion": ("KẾT LUẬN VÀ KIẾN NGHỊ", "CONCLUSION AND RECOMMENDATIONS"),
    "conclusion": (
        "Ở cấp độ {level}, hệ thống đạt {score} các nội dung được kiểm tra tự động ({passed}/{judged}); "
        "{failed} kết quả không đạt trên {targets} đối tượng, {errors} kết quả lỗi do thiếu dữ liệu.",
        "At level {level} the system passed {score} of the machine-checked items ({passed}/{judged}); "
        "{failed} failures on {targets} targets, {errors} errors for lack of data.",
    ),
    "recommend": (
        "Đề nghị đơn vị khắc phục các phát hiện không đạt (ưu tiên theo Mục II.3), bổ sung dữ liệu cho các "
        "đối tượng bị lỗi và hoàn thành các hạng mục xem xét thủ công tại Mục IV.",
        "The unit should fix the failures (in the order of section II.3), supply data for the errored "
        "targets and complete the manual-review items of section IV.",
    ),
    "recipients": ("Nơi nhận", "Recipients"),
    "recipients_default": ("Lưu: VT, hồ sơ kiểm tra.", "File: records office, audit file."),
    "auditor": ("NGƯỜI KIỂM TRA", "AUDITOR"),
    "unit_head": ("THỦ TRƯỞNG ĐƠN VỊ", "HEAD OF UNIT"),
    "sign": ("(Ký, ghi rõ họ tên)", "(Signature, full name)"),
    "sign_seal": ("(Ký tên, đóng dấu)", "(Signature and seal)"),
    "s_appendix": ("PHỤ LỤC: BẰNG CHỨNG", "APPENDIX: EVIDENCE"),
    "appendix_intro": (
        "Bằng chứng của các kết quả không đạt và lỗi: đường dẫn dữ liệu = giá trị, và các dòng cấu hình (Lsố "
        "dòng). Báo cáo JSON kèm theo có đầy đủ bằng chứng của mọi kết quả.",
        "Evidence of the failed and errored results: fact path = value, and configuration lines (L<line>). "
        "The accompanying JSON report has the evidence of every result.",
    ),
    "report_id": ("Mã lần kiểm tra", "Audit id"),
    "json_note": (
        "Tệp báo cáo JSON và tệp SHA256SUMS kèm theo cho phép đối chiếu tính toàn vẹn của báo cáo.",
        "The accompanying JSON report and SHA256SUMS let the reader verify this report's integrity.",
    ),
    "page": ("Trang", "Page"),
    "sev_critical": ("Đặc biệt nghiêm trọng", "Critical"),
    "sev_high": ("Cao", "High"),
    "sev_medium": ("Trung bình", "Medium"),
    "sev_low": ("Thấp", "Low"),
    "mode_offline": ("kiểm tra ngoại tuyến trên dữ liệu đã thu thập", "offline audit of collected data"),
    "mode_server": ("kiểm tra từ dữ liệu của máy chủ giám sát", "audit from the monitoring server's store"),
}


def texts(lang: str) -> dict[str, str]:
    """Every wording in `lang` ("vi" | "en")."""
    index = 0 if lang == "vi" else 1
    return {key: pair[index] for key, pair in TEXT.items()}


def english_beside(lang: str) -> dict[str, str]:
    """In the Vietnamese edition, the English of each wording (shown small beside it); empty in English."""
    return {key: (pair[1] if lang == "vi" else "") for key, pair in TEXT.items()}
