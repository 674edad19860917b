"""Load rule packs from YAML, validate them, compile their checks once per level.

`load_packs` returns packs and `Problem`s (file, rule id, reason) instead of raising, so `rules check`
can report every mistake in one run; `load_default_packs` raises on any problem (a shipped pack with a
mistake is a bug; it lives in `canhgac_rules.validate`, beside the full check it runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from canhgac_rules.checks import CompiledCheck, CompileError, InputRef
from canhgac_rules.checks.registry import REGISTRY
from canhgac_rules.model import Input, PackHeader, Rule


@dataclass(frozen=True)
class Problem:
    """One mistake in a pack, printed as `file: rule id: reason`."""

    file: str
    rule_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.rule_id}: {self.reason}"


@dataclass(eq=False)
class LoadedPack:
    header: PackHeader
    file: str
    rules: list[LoadedRule] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def version(self) -> str:
        return self.header.version


@dataclass(eq=False)
class LoadedRule:
    """A validated rule with its pack; `compiled(level)` caches the check compiled for that level."""

    rule: Rule
    pack: LoadedPack
    _compiled: dict[int, CompiledCheck] = field(default_factory=dict)
    _static: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.rule.id

    def static_json(self) -> dict[str, Any]:
        """The rule's report fields that do not depend on the target (built once, shared)."""
        cached = self._static
        if cached is None:
            rule = self.rule
            cached = {
                "pack": self.pack.id,
                "title": rule.title.model_dump(),
                "severity": rule.severity,
                "requirements": list(rule.references.requirements),
                "levels": list(rule.levels),
                "references": rule.references.model_dump(),
            }
            self._static = cached
        return cached

    def inputs_for(self, level: int) -> dict[str, Any]:
        return {name: spec.for_level(level) for name, spec in self.rule.inputs.items()}

    def compiled(self, level: int) -> CompiledCheck:
        check = self._compiled.get(level)
        if check is None:
            check = compile_check(self.rule.check, LevelCompiler(self.rule.inputs, level))
            self._compiled[level] = check
        return check


class LevelCompiler:
    """Resolves `{input: name}` for one level and compiles sub-checks through the registry."""

    def __init__(self, inputs: dict[str, Input], level: int) -> None:
        self.inputs = inputs
        self.level = level

    def value(self, raw: Any) -> Any:
        name: str | None = None
        if isinstance(raw, InputRef):
            name = raw.input
        elif isinstance(raw, dict) and set(raw) == {"input"}:
            name = str(raw["input"])
        if name is None:
            return raw
        if name not in self.inputs:
            known = ", ".join(sorted(self.inputs)) or "none"
            raise CompileError(f"unknown input {name!r} (defined: {known})")
        return self.inputs[name].for_level(self.level)

    def sub(self, raw: dict[str, Any]) -> CompiledCheck:
        return compile_check(raw, self)


def compile_check(raw: dict[str, Any], compiler: LevelCompiler) -> CompiledCheck:
    """Validate `raw` against its check type's params model and compile it."""
    type_name = raw.get("type")
    check_type = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    if check_type is None:
        known = ", ".join(sorted(REGISTRY))
        raise CompileError(f"unknown check type {type_name!r} (known: {known})")
    try:
        params = check_type.Params.model_validate(raw)
    except ValidationError as exc:
        raise CompileError(f"check {type_name}: {_first_errors(exc)}") from None
    return check_type.compile(params, compiler)


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(part) for part in error["loc"]) or "-"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def default_packs_dir() -> Path:
    """The packs shipped inside the package (package data)."""
    return Path(str(resources.files("canhgac_rules").joinpath("packs")))


def pack_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files under `paths` (a file, or a folder searched recursively), sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.yaml") if p.is_file()))
            files.extend(sorted(p for p in path.rglob("*.yml") if p.is_file()))
        else:
            files.append(path)
    return files


def load_pack_file(path: Path, problems: list[Problem]) -> LoadedPack | None:
    """Parse and validate one pack file; problems are appended, the bad rules left out."""
    name = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(name, "-", f"cannot read pack: {exc}".replace("\n", " ")))
        return None
    if not isinstance(data, dict):
        problems.append(
            Problem(name, "-", "a pack must be a mapping with id, version, scope, platforms, rules")
        )
        return None
    try:
        header = PackHeader.model_validate(data)
    except ValidationError as exc:
        problems.append(Problem(name, "-", f"pack: {_first_errors(exc)}"))
        return None
    pack = LoadedPack(header=header, file=name)
    for index, raw in enumerate(header.rules):
        rule_id = str(raw.get("id", f"rules[{index}]")) if isinstance(raw, dict) else f"rules[{index}]"
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problems.append(Problem(name, rule_id, _first_errors(exc)))
            continue
        pack.rules.append(LoadedRule(rule=rule, pack=pack))
    return pack


def load_packs(paths: Iterable[Path] | None = None) -> tuple[list[LoadedPack], list[Problem]]:
    """Load packs from `paths` (default: the shipped packs). Structural problems only; see
    `canhgac_rules.validate.check_packs` for the full check (references, compile, examples)."""
    problems: list[Problem] = []
    packs: list[LoadedPack] = []
    files = pack_files(paths if paths is not None else [default_packs_dir()])
    if not files:
        problems.append(Problem("-", "-", "no pack files (*.yaml) found"))
    for path in files:
        pack = load_pack_file(path, problems)
        if pack is not None:
            packs.append(pack)
    return packs, problems
