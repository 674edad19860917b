"""Who issues an audit report and where: the administrative header and signature block of the HTML/PDF.

The same settings serve the offline auditor (`canhgac audit --report-config FILE` and `--agency`,
`--unit`… options) and the server (the `report:` block of server.yaml). Every field is optional: a
missing one prints as a dotted blank an auditor fills in by hand, as on a paper form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

LANGUAGES = ("vi", "en")
# One printable line (no control characters), bounded: it is printed in a document header.
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Code = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[^\s/\x00-\x1f\x7f]+$")]


class ReportSettings(BaseModel):
    """The issuer of the report (cơ quan chủ quản, đơn vị thực hiện), its number, place and signers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: Line | None = None  # cơ quan chủ quản, e.g. "UBND TỈNH HÀ TĨNH"
    unit: Line | None = None  # đơn vị thực hiện, e.g. "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    # Ký hiệu after "BC-" in "Số: …/BC-SKHCN"; the number itself is given by the văn thư at issue.
    unit_code: Code | None = None
    number: Annotated[str, Field(pattern=r"^[0-9]{1,6}$")] | None = None  # số; blank when not yet issued
    place: Line | None = None  # địa danh of the date line, e.g. "Hà Tĩnh"
    auditor: Line | None = None  # người kiểm tra (full name)
    unit_head: Line | None = None  # thủ trưởng đơn vị (full name)
    unit_head_title: Line | None = None  # e.g. "GIÁM ĐỐC"; default "THỦ TRƯỞNG ĐƠN VỊ"
    recipients: Annotated[list[Line], Field(max_length=12)] = Field(default_factory=list)  # nơi nhận

    def merged(self, overrides: dict[str, Any]) -> ReportSettings:
        """These settings with the non-None `overrides` (command-line options) on top, validated;
        ValueError naming each bad key."""
        given = {key: value for key, value in overrides.items() if value is not None}
        try:
            return ReportSettings.model_validate({**self.model_dump(), **given})
        except ValidationError as exc:
            raise ValueError(settings_error(exc)) from None


def load_report_settings(path: Path | None) -> ReportSettings:
    """A YAML file of ReportSettings keys (or none: empty settings); ValueError naming the file and key."""
    if path is None:
        return ReportSettings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read report settings: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of report settings (agency, unit, place…)")
    try:
        return ReportSettings.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: {settings_error(exc)}") from None


def settings_error(exc: ValidationError) -> str:
    """A validation error as `key: message` lines."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
