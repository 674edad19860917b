"""`canhgac rules check|list|schema` and `canhgac audit` (registered on the server's `canhgac` app).

The rules library knows nothing of the server: `audit_command(online)` builds the `audit` command, and
the server passes `online`, its own handler for `--site CODE` (targets from its store, the scan stored);
`--offline` runs here entirely.

Only typer/rich are imported at module load; the engine, packs, parsers and report libraries are
imported inside the commands, so `canhgac --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.console import Console

if TYPE_CHECKING:
    import datetime as dt

    from canhgac_rules.loader import LoadedPack
    from canhgac_rules.report_settings import ReportSettings

rules_app = typer.Typer(
    no_args_is_help=True, help="Gói quy tắc tuân thủ / compliance rule packs: check, list, schema."
)
console = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


@rules_app.command("check")
def rules_check(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="pack files or folders (default: the shipped packs)")
    ] = None,
) -> None:
    """Validate packs: schema, unique ids, requirement references, check types, regexes, inputs, and
    that every example behaves as labelled. Prints `file: rule id: reason`; exit 1 on any problem."""
    from canhgac_rules.validate import check_packs

    for path in paths or []:
        if not path.exists():
            err.print(f"usage error: {path}: no such file or folder", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE)
    packs, problems = check_packs(paths or None)
    for problem in problems:
        print(str(problem))
    rules = sum(len(pack.rules) for pack in packs)
    examples = sum(
        len(r.rule.examples.passing) + len(r.rule.examples.failing) for pack in packs for r in pack.rules
    )
    if problems:
        err.print(f"{len(problems)} lỗi / problem(s) in {len(packs)} pack(s)", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID)
    print(f"OK: {len(packs)} pack(s), {rules} rule(s), {examples} example(s) behave as labelled")


@rules_app.command("list")
def rules_list(
    level: Annotated[int | None, typer.Option(min=1, max=5, help="only rules required at this level")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="in đủ mọi ô / print every cell whole (always so when piped)")
    ] = False,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="pack files or folders (default: shipped)")
    ] = None,
) -> None:
    """List rules with their requirements, levels, titles, scope and pack."""
    from rich.table import Table

    from canhgac_rules.terminal import print_table
    from canhgac_rules.validate import check_packs

    packs, problems = check_packs(paths or None, run_examples=False)
    for problem in problems:
        err.print(str(problem), markup=False, highlight=False)
    rows: list[dict[str, Any]] = [
        {
            "id": r.rule.id,
            "requirements": list(r.rule.references.requirements),
            "levels": list(r.rule.levels),
            "title": r.rule.title.model_dump(),
            "severity": r.rule.severity,
            "scope": pack.header.scope,
            "pack": pack.id,
            "pack_version": pack.version,
        }
        for pack in packs
        for r in pack.rules
        if level is None or level in r.rule.levels
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        table = Table("id", "requirements", "levels", "title (vi / en)", "scope", "pack")
        for row in rows:
            table.add_row(
                row["id"],
                ", ".join(row["requirements"]),
                ",".join(map(str, row["levels"])),
                f"{row['title']['vi']} / {row['title']['en']}",
                row["scope"],
                row["pack"],
            )
        print_table(console, table, wide=wide)
    if problems:
        raise typer.Exit(EXIT_INVALID)


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the packs' JSON Schema (generated from the models and the check registry)."""
    from canhgac_rules.schema import pack_schema_json

    sys.stdout.write(pack_schema_json())


@dataclass(frozen=True)
class OnlineAuditRun:
    """What the server's online audit hands back: the report it wrote and a line about where it is kept."""

    report: dict[str, Any]
    files: list[Path]  # the report files, SHA256SUMS last
    note: str  # printed after the summary, e.g. "scan #12 stored / đã lưu"


class OnlineAudit(Protocol):
    """The server's `canhgac audit --site CODE`: scan the site's subtree from its store at `level` (None:
    the site's declared level) with `packs`, keep the scan, write `formats` to `out` through
    `canhgac_rules.report.write_reports`, in edition `lang`, headed by the server's `report:` settings
    with `report` (the command line's) on top. A usage problem (unknown site, bad config) raises
    `canhgac_rules.audit.AuditInputError` (exit 2)."""

    def __call__(
        self,
        site: str,
        *,
        level: int | None,
        config: Path | None,
        out: Path,
        formats: list[str],
        packs: list[LoadedPack],
        now: dt.datetime | None,
        lang: str = "vi",
        report: Mapping[str, Any] | None = None,
    ) -> OnlineAuditRun: ...


def audit_command(online: OnlineAudit | None = None) -> Callable[..., None]:
    """The `canhgac audit` command; `--site CODE` runs `online` (given by the server's CLI)."""

    def audit(
        offline: Annotated[
            bool, typer.Option("--offline", help="audit saved configs / agent outputs, no server")
        ] = False,
        configs: Annotated[
            Path | None, typer.Option("--configs", help="folder of saved device configs")
        ] = None,
        facts: Annotated[
            Path | None, typer.Option("--facts", help="folder of `canhgac-agent once --json` outputs")
        ] = None,
        level: Annotated[
            int | None,
            typer.Option("--level", help="security level 1-5 (cấp độ); online: the site's declared one"),
        ] = None,
        platform: Annotated[
            str | None, typer.Option("--platform", help="cisco_ios | huawei_vrp | hp_comware | juniper_junos")
        ] = None,
        formats: Annotated[
            str, typer.Option("--format", help="comma list of html,json,csv,pdf")
        ] = "html,json",
        out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
        previous: Annotated[
            Path | None, typer.Option("--previous", help="a previous scan's JSON report, to diff")
        ] = None,
        site_name: Annotated[
            str | None, typer.Option("--site-name", help="system / site name shown in the report")
        ] = None,
        roles: Annotated[
            Path | None,
            typer.Option(
                "--roles", help="YAML: devices: {name: {role: core|distribution|access|router|firewall}}"
            ),
        ] = None,
        site: Annotated[
            str | None, typer.Option("--site", help="site code (online audit against the server)")
        ] = None,
        config: Annotated[
            Path | None,
            typer.Option(
                "--config",
                "-c",
                envvar="CANHGAC_CONFIG",
                help="server.yaml, for the online audit (default: $CANHGAC_CONFIG, then "
                "/etc/canhgac/server.yaml)",
            ),
        ] = None,
        packs_dir: Annotated[
            list[Path] | None, typer.Option("--packs", help="extra/other pack files or folders")
        ] = None,
        now: Annotated[
            str | None,
            typer.Option("--now", hidden=True, help="evaluate as of this ISO time (reproducible re-runs)"),
        ] = None,
        lang: Annotated[
            str, typer.Option("--lang", help="HTML/PDF edition: vi (tiếng Việt, default) or en")
        ] = "vi",
        report_config: Annotated[
            Path | None,
            typer.Option("--report-config", help="YAML: agency, unit, unit_code, place, auditor, unit_head…"),
        ] = None,
        agency: Annotated[
            str | None, typer.Option("--agency", help="cơ quan chủ quản (report header)")
        ] = None,
        unit: Annotated[str | None, typer.Option("--unit", help="đơn vị thực hiện (report header)")] = None,
        unit_code: Annotated[
            str | None, typer.Option("--unit-code", help="ký hiệu in 'Số: …/BC-<code>'")
        ] = None,
        report_number: Annotated[
            str | None, typer.Option("--report-number", help="số of the report, if already issued")
        ] = None,
        place: Annotated[str | None, typer.Option("--place", help="địa danh of the date line")] = None,
        auditor: Annotated[
            str | None, typer.Option("--auditor", help="người kiểm tra (signature block)")
        ] = None,
        unit_head: Annotated[
            str | None, typer.Option("--unit-head", help="thủ trưởng đơn vị (signature block)")
        ] = None,
    ) -> None:
        """Kiểm tra tuân thủ theo cấp độ / level-based compliance audit → reports + SHA256SUMS.

        Exit codes: 0 the scan ran (even with failures), 1 invalid rule packs, 2 usage error.
        """

        def usage(message: str) -> typer.Exit:
            err.print(f"usage error: {message}", markup=False, highlight=False)
            return typer.Exit(EXIT_USAGE)

        if offline and site:
            raise usage("--site is for the online audit; with --offline give --configs/--facts")
        if not offline and not site:
            raise usage(
                "give --site CODE (online audit against the server's store) or --offline --configs/--facts"
            )
        if not offline and online is None:
            raise usage("--site needs the server's online audit, which this command was built without")
        if not offline and (configs or facts):
            raise usage("--configs/--facts need --offline")
        if offline and level is None:
            raise usage("--level N (1-5) is required with --offline")
        if level is not None and not 1 <= level <= 5:
            raise usage(f"--level must be 1-5, got {level}")
        if out is None:
            raise usage("--out DIR is required")
        import datetime as dt

        try:
            as_of = dt.datetime.fromisoformat(now) if now else None
        except ValueError:
            raise usage(f"--now {now!r}: not an ISO date-time") from None
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.UTC)
        from canhgac_rules.report import parse_formats
        from canhgac_rules.report_settings import LANGUAGES, load_report_settings

        try:
            chosen = parse_formats(formats)
        except ValueError as exc:
            raise usage(str(exc)) from None
        if lang not in LANGUAGES:
            raise usage(f"--lang {lang!r}: choose from {', '.join(LANGUAGES)}")
        flags = {
            "agency": agency,
            "unit": unit,
            "unit_code": unit_code,
            "number": report_number,
            "place": place,
            "auditor": auditor,
            "unit_head": unit_head,
        }
        try:
            from_file = load_report_settings(report_config)
            settings = from_file.merged(flags)
        except ValueError as exc:
            raise usage(f"report settings: {exc}") from None
        # Online, the server's `report:` block is the base: only what was given here goes on top.
        given = {**from_file.model_dump(exclude_defaults=True), **settings.model_dump(exclude_defaults=True)}
        if platform is not None:
            from canhgac_rules.configs import PLATFORMS

            if platform not in PLATFORMS:
                raise usage(f"--platform {platform!r}: choose from {', '.join(PLATFORMS)}")

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from canhgac_rules.audit import AuditInputError, run_offline_audit
        from canhgac_rules.engine import Target
        from canhgac_rules.validate import check_packs

        packs, problems = check_packs(packs_dir or None, run_examples=False)
        if packs_dir:
            shipped, more = check_packs(None, run_examples=False)
            packs = [*shipped, *packs]
            problems = [*more, *problems]
        if problems:
            for problem in problems:
                err.print(str(problem), markup=False, highlight=False)
            raise typer.Exit(EXIT_INVALID)
        if not offline:
            assert site is not None
            assert online is not None
            run = _Run(out, chosen, lang, given)
            _run_online(online, site, level, config, run, previous, site_name, packs, as_of)
            return
        assert level is not None
        total = _count_inputs(configs, facts)
        progress = Progress(
            TextColumn("[bold]Đang kiểm tra / auditing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=not err.is_terminal or total < 20,
        )
        with progress:
            task = progress.add_task("", total=total)

            def advance(target: Target) -> None:
                progress.update(task, advance=1, description=target.name[:40])

            try:
                _result, report = run_offline_audit(
                    packs,
                    level=level,
                    configs_dir=configs,
                    facts_dir=facts,
                    platform=platform,
                    roles_file=roles,
                    site_name=site_name,
                    previous=previous,
                    on_target=advance,
                    now=as_of,
                )
            except AuditInputError as exc:
                raise usage(str(exc)) from None
        _finish(report, out, chosen, level, settings, lang)

    return audit


@dataclass(frozen=True)
class _Run:
    """Where and how the online audit writes its report."""

    out: Path
    formats: list[str]
    lang: str
    report: dict[str, Any]  # report settings given on the command line


def _finish(
    report: dict[str, Any], out: Path, formats: list[str], level: int, settings: ReportSettings, lang: str
) -> None:
    """Write the reports, print the summary line and SHA256SUMS."""
    from canhgac_rules.report import write_reports

    files = write_reports(report, out, formats, settings=settings, lang=lang)
    _print_summary(report, level, files[-1])


def _print_summary(report: dict[str, Any], level: int, sums: Path) -> None:
    overall = report["summary"]["overall"]
    score = "—" if overall["score"] is None else f"{overall['score'] * 100:.1f}%"
    console.print(
        f"Cấp độ / level {level}: {report['scan']['scope']['devices']} thiết bị / devices, "
        f"{report['scan']['scope']['hosts']} máy / hosts · đạt / pass {overall['pass']} · "
        f"không đạt / fail {overall['fail']} · lỗi / error {overall['error']} · "
        f"N/A {overall['not_applicable']} · điểm / score {score} · "
        f"xem xét thủ công / manual items {len(report['manual_review'])}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for item in report["scan"].get("skipped") or []:
        console.print(
            f"cảnh báo / warning: bỏ qua / skipped {item['file']}: {item['reason']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{sums}:", markup=False, highlight=False)
    sys.stdout.write(sums.read_text(encoding="utf-8"))


def _run_online(
    online: OnlineAudit,
    site: str,
    level: int | None,
    config: Path | None,
    run_as: _Run,
    previous: Path | None,
    site_name: str | None,
    packs: list[LoadedPack],
    as_of: dt.datetime | None,
) -> None:
    """`canhgac audit --site CODE`: hosts, devices (SNMP and configs) and the site network of the subtree,
    from the server's store. The server stores the scan (trigger "cli") with the SHA-256 of its JSON
    report, and diffs it against the previous stored scan of the same site and level."""
    from canhgac_rules.audit import AuditInputError

    def usage(message: str) -> typer.Exit:
        err.print(f"usage error: {message}", markup=False, highlight=False)
        return typer.Exit(EXIT_USAGE)

    if previous is not None:
        raise usage("--previous is for --offline: a --site scan is diffed against the stored previous scan")
    if site_name is not None:
        raise usage("--site-name is for --offline: a --site scan names the site as the store does")
    try:
        run = online(
            site,
            level=level,
            config=config,
            out=run_as.out,
            formats=run_as.formats,
            packs=packs,
            now=as_of,
            lang=run_as.lang,
            report=run_as.report,
        )
    except AuditInputError as exc:
        raise usage(str(exc)) from None
    _print_summary(run.report, run.report["scan"]["level"], run.files[-1])
    console.print(run.note, markup=False, highlight=False)


def _count_inputs(configs: Path | None, facts: Path | None) -> int:
    total = 0
    if configs is not None and configs.is_dir():
        total += sum(1 for p in configs.rglob("*") if p.is_file())
    if facts is not None and facts.is_dir():
        total += sum(1 for _ in facts.rglob("*.json"))
    return total
