"""Every row of the requirement table has a Vietnamese title (requirements_vi.yaml), and only rows do."""

from __future__ import annotations

import re

from canhgac_rules.requirements import load_requirements, vietnamese_titles

VIETNAMESE_LETTERS = re.compile(
    r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I
)


def test_every_requirement_has_a_vietnamese_title() -> None:
    table = load_requirements()
    titles = vietnamese_titles()
    assert sorted(titles) == sorted(table), "requirements_vi.yaml and requirements.yaml list other ids"
    for req in table.values():
        assert req.title_vi == titles[req.id]
        assert VIETNAMESE_LETTERS.search(req.title_vi), f"{req.id}: not Vietnamese: {req.title_vi!r}"
        assert req.title_vi != req.title
