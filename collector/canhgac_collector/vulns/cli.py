"""`canhgac vulns import FILE [--format osv|debian] [--name NAME]` and `canhgac vulns list`.

The file is read and validated whole before the store is touched; then the feed replaces the one of
the same name in one transaction. A bad file exits 2 with one line naming the entry and the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.cli_support import ConfigOpt, WideOpt
from canhgac_collector.vulns.feeds import MAX_FILE_BYTES, FeedError, parse_feed
from canhgac_collector.vulns.store import store_feed
from canhgac_rules.terminal import print_table

console = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
SessionOpener = Callable[[Path | None], sessionmaker[Session]]


def _fail(text: str) -> typer.Exit:
    err.print(text, markup=False, highlight=False)
    return typer.Exit(EXIT_BAD_INPUT)


def make_vulns_app(open_sessions: SessionOpener) -> typer.Typer:
    """The `vulns` commands; `open_sessions(config)` opens the server's store."""
    app = typer.Typer(no_args_is_help=True, help="Vulnerability feeds (HS-26): import, list.")

    @app.command("import")
    def import_feed(
        file: Annotated[Path, typer.Argument(help="OSV JSON (object or array) or Debian tracker JSON")],
        fmt: Annotated[Literal["osv", "debian"], typer.Option("--format", help="osv | debian")] = "debian",
        name: Annotated[
            str | None, typer.Option(help="feed name (default: the format); a re-import replaces it")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        config: ConfigOpt = None,
    ) -> None:
        """Import a feed: validated whole, then stored in one transaction (nothing on error)."""
        try:
            size = file.stat().st_size
            if size > MAX_FILE_BYTES:
                raise _fail(f"{file}: {size} bytes, at most {MAX_FILE_BYTES} allowed")
            data = file.read_bytes()
        except OSError as exc:
            raise _fail(f"{file}: cannot read: {exc.strerror}") from None
        try:
            feed = parse_feed(data, fmt)
        except FeedError as exc:
            raise _fail(f"{file}: lỗi nguồn CVE / bad {fmt} feed: {exc}; nothing imported") from None
        sessions = open_sessions(config)
        try:
            with sessions.begin() as session:
                summary = store_feed(session, feed, name=name or fmt, source=file.name, data=data)
        except ValueError as exc:
            raise _fail(f"{exc}; nothing imported") from None
        if as_json:
            print(json.dumps(summary.__dict__, ensure_ascii=False))
            return
        console.print(
            f"feed {summary.name} ({fmt}) {'replaced' if summary.replaced else 'imported'}: "
            f"{summary.entries} entries, {summary.records} fixable ranges, {summary.skipped} without a fix; "
            f"ecosystems: {', '.join(summary.ecosystems) or '-'}",
            highlight=False,
            soft_wrap=True,
        )

    @app.command("list")
    def list_feeds(
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        wide: WideOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        """The imported feeds: name, format, file, when, sizes, ecosystems."""
        from canhgac_collector.store.models import VulnFeed

        with open_sessions(config)() as session:
            feeds = session.scalars(select(VulnFeed).order_by(VulnFeed.name)).all()
            items = [
                {
                    "name": f.name,
                    "format": f.format,
                    "source": f.source,
                    "sha256": f.sha256,
                    "imported_at": f.imported_at.isoformat(),
                    "entries": f.entries,
                    "records": f.records,
                    "skipped": f.skipped,
                    "ecosystems": list(f.ecosystems),
                }
                for f in feeds
            ]
        if as_json:
            print(json.dumps(items, ensure_ascii=False))
            return
        table = Table("name", "format", "file", "imported", "ranges", "ecosystems")
        for item in items:
            table.add_row(
                str(item["name"]),
                str(item["format"]),
                str(item["source"]),
                str(item["imported_at"])[:16],
                str(item["records"]),
                ", ".join(item["ecosystems"]),  # type: ignore[arg-type]
            )
        print_table(console, table, wide=wide)

    return app
