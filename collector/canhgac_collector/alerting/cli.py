"""`canhgac alerts list|ack|silence …`: the alert store from the server's shell. Runs with the server
config's database access, i.e. as an administrator; remote users go through the API, scoped by role."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.alerting.settings import DateRange, MaintenanceWindow, WeeklyWindow
from canhgac_collector.cli_support import ConfigOpt, WideOpt
from canhgac_rules.terminal import print_table

console = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 4
STATES = ("pending", "firing", "acknowledged", "resolved")
SessionOpener = Callable[[Path | None], sessionmaker[Session]]


def _fail(code: int, text: str) -> typer.Exit:
    err.print(text, markup=False, highlight=False)
    return typer.Exit(code)


def _weekly(text: str) -> WeeklyWindow:
    """ "0,1@22:00-06:00" → days 0 and 1 (Monday, Tuesday) from 22:00 to 06:00."""
    try:
        days, span = text.split("@")
        start, end = span.split("-")
        return WeeklyWindow(days=[int(d) for d in days.split(",")], start=start, end=end)
    except ValueError as exc:
        raise _fail(
            EXIT_BAD_INPUT, f"--weekly {text!r}: expected DAYS@HH:MM-HH:MM, e.g. 5,6@00:00-23:59 ({exc})"
        ) from None


def _dates(text: str) -> DateRange:
    """ "2027-02-05..2027-02-11" or "12-30..01-02"."""
    start, _, end = text.partition("..")
    try:
        return DateRange(start=start, end=end or start)
    except ValueError as exc:
        raise _fail(EXIT_BAD_INPUT, f"--dates {text!r}: {exc}") from None


def make_alerts_app(open_sessions: SessionOpener) -> typer.Typer:
    """The `alerts` commands; `open_sessions(config)` is how the server's CLI opens its store (the config
    checked, the schema current, the configured sites synced)."""
    alerts_app = typer.Typer(
        no_args_is_help=True, help="Cảnh báo / alerts: list, acknowledge, maintenance windows."
    )
    silence_app = typer.Typer(
        no_args_is_help=True, help="Thời gian bảo trì / maintenance windows (silences)."
    )
    alerts_app.add_typer(silence_app, name="silence")

    @alerts_app.command("list")
    def list_alerts(
        config: ConfigOpt = None,
        site: Annotated[str | None, typer.Option(help="site code: its whole subtree")] = None,
        state: Annotated[
            list[str] | None, typer.Option(help="pending | firing | acknowledged | resolved")
        ] = None,
        open_only: Annotated[bool, typer.Option("--open", help="only not yet resolved")] = False,
        limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
        as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
        wide: WideOpt = False,
    ) -> None:
        """List alerts, newest first."""
        from canhgac_collector.store.models import Alert, Site

        for s in state or []:
            if s not in STATES:
                raise _fail(EXIT_BAD_INPUT, f"--state {s!r}: choose from {', '.join(STATES)}")
        sessions = open_sessions(config)
        stmt = select(Alert, Site.code).join(Site, Alert.site_id == Site.id)
        with sessions() as session:
            if site is not None:
                path = session.scalar(select(Site.path).where(Site.code == site))
                if path is None:
                    raise _fail(EXIT_NOT_FOUND, f"--site {site!r}: no such site / không có địa điểm này")
                stmt = stmt.where(Site.path.startswith(path, autoescape=True))
            if state:
                stmt = stmt.where(Alert.state.in_(state))
            if open_only:
                stmt = stmt.where(Alert.state != "resolved")
            rows = session.execute(stmt.order_by(Alert.id.desc()).limit(limit)).all()
        items: list[dict[str, Any]] = [
            {
                "id": a.id,
                "state": a.state,
                "severity": a.severity,
                "rule": a.rule,
                "site": code,
                "subject": a.subject_name,
                "since": a.since.isoformat(),
                "flap_count": a.flap_count,
                "summary": a.summary,
                "acknowledged_by": a.acknowledged_by,
            }
            for a, code in rows
        ]
        if as_json:
            print(json.dumps({"alerts": items}, ensure_ascii=False))
            return
        table = Table("id", "trạng thái / state", "mức / sev.", "địa điểm / site", "nội dung / summary")
        for i in items:
            flap = f" (chập chờn {i['flap_count']})" if i["flap_count"] else ""
            table.add_row(str(i["id"]), i["state"], i["severity"], i["site"], i["summary"] + flap)
        print_table(console, table, wide=wide)

    @alerts_app.command("ack")
    def ack(
        alert_id: int,
        config: ConfigOpt = None,
        comment: Annotated[str | None, typer.Option(help="ghi chú / what is being done")] = None,
        by: Annotated[str, typer.Option(help="who acknowledges")] = "cli",
    ) -> None:
        """Acknowledge an alert (stops its escalation)."""
        from canhgac_collector.alerting.engine import AckError, acknowledge

        sessions = open_sessions(config)
        try:
            with sessions.begin() as session:
                alert = acknowledge(session, alert_id, by, comment, dt.datetime.now(dt.UTC))
                summary = alert.summary
        except AckError as exc:
            raise _fail(EXIT_NOT_FOUND, f"không xác nhận được / cannot acknowledge: {exc}") from None
        console.print(f"Đã xác nhận / acknowledged #{alert_id}: {summary}", markup=False, highlight=False)

    @silence_app.command("add")
    def silence_add(
        name: Annotated[str, typer.Option(help="what the window is for, e.g. 'Tết 2027'")],
        site: Annotated[str, typer.Option(help="site code: the window covers its subtree")],
        config: ConfigOpt = None,
        start: Annotated[
            str | None, typer.Option(help="one-off: ISO time with offset, e.g. 2027-03-01T07:00+07:00")
        ] = None,
        end: Annotated[str | None, typer.Option(help="one-off: end time")] = None,
        weekly: Annotated[
            str | None, typer.Option(help="DAYS@HH:MM-HH:MM (0 = Monday), e.g. 6@22:00-06:00")
        ] = None,
        dates: Annotated[
            list[str] | None, typer.Option(help="YYYY-MM-DD..YYYY-MM-DD or MM-DD..MM-DD (repeatable)")
        ] = None,
        rule: Annotated[list[str] | None, typer.Option(help="only these rules (default: all)")] = None,
        comment: str | None = None,
    ) -> None:
        """Add a maintenance window (one-off, weekly or dates)."""
        from canhgac_collector.store.models import Silence, Site

        try:
            w = MaintenanceWindow(
                name=name,
                site=site,
                rules=rule or [],
                starts_at=dt.datetime.fromisoformat(start) if start else None,
                ends_at=dt.datetime.fromisoformat(end) if end else None,
                weekly=_weekly(weekly) if weekly else None,
                dates=[_dates(d) for d in dates or []],
            )
        except ValueError as exc:
            raise _fail(EXIT_BAD_INPUT, f"thời gian bảo trì không hợp lệ / invalid window: {exc}") from None
        sessions = open_sessions(config)
        with sessions.begin() as session:
            row = session.scalar(select(Site).where(Site.code == site))
            if row is None:
                raise _fail(EXIT_NOT_FOUND, f"--site {site!r}: no such site / không có địa điểm này")
            kind = "once" if w.starts_at else "weekly" if w.weekly else "dates"
            s = Silence(
                name=w.name,
                site_id=row.id,
                rules=list(w.rules),
                kind=kind,
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                schedule={
                    "weekly": w.weekly.model_dump() if w.weekly else None,
                    "dates": [d.model_dump() for d in w.dates],
                },
                comment=comment,
                created_by="cli",
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(s)
            session.flush()
            sid = s.id
        console.print(f"silence #{sid} ({kind}) on {site}", markup=False, highlight=False)

    @silence_app.command("list")
    def silence_list(
        config: ConfigOpt = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        wide: WideOpt = False,
    ) -> None:
        """List maintenance windows stored in the database (config windows are in server.yaml)."""
        from canhgac_collector.store.models import Silence, Site

        with open_sessions(config)() as session:
            rows = session.execute(
                select(Silence, Site.code).join(Site, Silence.site_id == Site.id).order_by(Silence.id)
            ).all()
        items: list[dict[str, Any]] = [
            {
                "id": s.id,
                "name": s.name,
                "site": code,
                "kind": s.kind,
                "rules": s.rules,
                "starts_at": s.starts_at.isoformat() if s.starts_at else None,
                "ends_at": s.ends_at.isoformat() if s.ends_at else None,
                "schedule": s.schedule,
            }
            for s, code in rows
        ]
        if as_json:
            print(json.dumps({"silences": items}, ensure_ascii=False))
            return
        table = Table("id", "tên / name", "địa điểm / site", "kiểu / kind", "lịch / schedule")
        for i in items:
            sched = (
                f"{i['starts_at']} → {i['ends_at']}"
                if i["kind"] == "once"
                else json.dumps(i["schedule"], ensure_ascii=False)
            )
            table.add_row(str(i["id"]), i["name"], i["site"], i["kind"], sched)
        print_table(console, table, wide=wide)

    @silence_app.command("delete")
    def silence_delete(silence_id: int, config: ConfigOpt = None) -> None:
        """Delete a maintenance window."""
        from canhgac_collector.store.models import Silence

        with open_sessions(config).begin() as session:
            s = session.get(Silence, silence_id)
            if s is None:
                raise _fail(EXIT_NOT_FOUND, f"no silence {silence_id} / không có")
            session.delete(s)
        console.print(f"silence #{silence_id} deleted", markup=False, highlight=False)

    return alerts_app
