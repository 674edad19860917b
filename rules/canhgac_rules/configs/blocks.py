"""Shared text helpers: input sanity checks, indented-block trees and the vocabulary check.

VRP and Comware print their running config as ``#``-separated blocks whose children are indented by one
space; one tree builder serves both. IOS indents children under ``!``-separated parents and embeds
delimited free text (banners, macros): `build_ios_tree`. The vocabulary check is how a parser notices it
was handed another vendor's text (a wrong ``--platform``) instead of silently returning empty facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .model import ConfigParseError

# Control characters a text config never contains (tab, CR, LF and ^C banner delimiters are allowed).
_BAD_CHAR = re.compile("[\x00-\x02\x04-\x08\x0b\x0c\x0e-\x1f\x7f]")
# U+FFFD comes from decoding bytes that are not UTF-8: a few are a legacy-encoded description (TCVN3,
# CP1258), many mean the file is not text at all.
_REPLACEMENT_SHARE = 0.05


def split_lines(text: str, source: str) -> list[str]:
    """The config's lines as written (no line ends); ConfigParseError for empty or binary input."""
    if not isinstance(text, str):
        raise ConfigParseError(source, 1, "cấu hình không phải văn bản / config is not text")
    if not text.strip():
        raise ConfigParseError(source, 1, "tệp cấu hình rỗng / empty config file")
    bad = _BAD_CHAR.search(text)
    if bad is None and text.count("\ufffd") > _REPLACEMENT_SHARE * len(text):
        bad = re.search("\ufffd", text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise ConfigParseError(
            source, line, f"dữ liệu nhị phân, không phải cấu hình / binary data (byte {ord(bad.group())!r})"
        )
    return [line.rstrip("\r") for line in text.split("\n")]


def last_content_line(lines: list[str], comment_prefixes: tuple[str, ...] = ()) -> tuple[int, str]:
    """(1-based number, stripped text) of the last non-blank, non-comment line; (0, "") if none."""
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith(comment_prefixes):
            return index + 1, stripped
    return 0, ""


@dataclass
class Node:
    """One config line with the lines indented under it."""

    lineno: int
    raw: str
    words: list[str]
    indent: int
    children: list[Node] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The line without indentation."""
        return self.raw.strip()

    def walk(self) -> Iterator[Node]:
        """This node's descendants, depth first."""
        for child in self.children:
            yield child
            yield from child.walk()


def build_tree(lines: list[str], comment_prefixes: tuple[str, ...] = ("#",)) -> list[Node]:
    """Top-level nodes of an indentation-structured config; blank and comment lines are skipped."""
    roots: list[Node] = []
    stack: list[Node] = []
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(comment_prefixes):
            if raw.startswith("#"):
                stack.clear()  # a `#` in column 0 closes every open block (VRP/Comware separator)
            continue
        indent = len(raw) - len(raw.lstrip(" \t"))
        node = Node(number, raw, stripped.split(), indent)
        while stack and stack[-1].indent >= indent:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots


# IOS commands followed by free text up to a delimiter: `banner TYPE D…D` (any type, any delimiter; a
# running config prints the Ctrl-C delimiter as the two characters ``^C``) and the AAA login texts.
_IOS_TEXT_OPENER = re.compile(
    r"(?:banner\s+\S+|aaa\s+authentication\s+(?:banner|fail-message))\s+(\^C|\S)(.*)", re.DOTALL
)


def build_ios_tree(lines: list[str]) -> tuple[list[Node], Node | None]:
    """Top-level nodes of an IOS running config, and the banner/macro still open at the end (or None).

    A command's parent is the nearest earlier command indented less (ciscoconfparse2's rule, which the
    tests use as an oracle); blank lines and ``!`` comments are skipped. A top-level ``banner TYPE D``
    (text up to the next line holding the delimiter ``D``, unless it closes on its own line) or
    ``macro name X`` (up to a line ``@``) takes every following line up to and including its closing
    line as a leaf child, blank and ``!`` lines included: that text is never read as commands. After
    such a block nothing is open, so a line indented right after it is top-level.
    """
    roots: list[Node] = []
    stack: list[Node] = []
    text_block: Node | None = None
    delimiter = ""  # of the open banner; "" while a macro is open (it closes on a line "@")
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if text_block is not None:
            text_block.children.append(Node(number, raw, stripped.split(), len(raw) - len(raw.lstrip())))
            if (delimiter in stripped) if delimiter else raw.rstrip() == "@":
                text_block = None
            continue
        if not stripped or stripped[0] == "!":
            continue
        indent = len(raw) - len(raw.lstrip())
        node = Node(number, raw, stripped.split(), indent)
        while stack and stack[-1].indent >= indent:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
        if indent == 0:
            if raw.startswith("macro name "):
                text_block, delimiter = node, ""
            elif (opener := _IOS_TEXT_OPENER.match(raw)) and opener.group(1) not in opener.group(2):
                text_block, delimiter = node, opener.group(1)
            if text_block is not None:
                stack.clear()
    return roots, text_block


def check_vocabulary(
    tops: Iterable[tuple[int, str]], known: frozenset[str], platform: str, source: str
) -> None:
    """Refuse a text whose top-level commands are mostly not `platform` commands (wrong --platform)."""
    items = list(tops)
    if not items:
        raise ConfigParseError(source, 1, "không có lệnh cấu hình nào / no configuration commands")
    hits = sum(1 for _, word in items if word.lower() in known)
    if hits * 2 < len(items):
        first_bad = next(n for n, word in items if word.lower() not in known)
        raise ConfigParseError(
            source,
            first_bad,
            f"chỉ {hits}/{len(items)} lệnh gốc là cú pháp {platform} — sai nền tảng? / only {hits} of "
            f"{len(items)} top-level commands are {platform} syntax — wrong platform?",
        )
