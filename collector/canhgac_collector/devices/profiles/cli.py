"""`canhgac profiles check [PATH…]`: validate device profiles the way `rules check` validates packs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

profiles_app = typer.Typer(
    no_args_is_help=True,
    help="Hồ sơ thiết bị / device profiles (vendor MIBs for CPU, memory, temperature, fans, PSUs): check.",
)
err = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


@profiles_app.command("check")
def profiles_check(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="profile files or folders (default: the shipped profiles)")
    ] = None,
) -> None:
    """Kiểm tra hồ sơ / validate profiles: schema, OID syntax, regexes, state maps, duplicate names and
    overlapping matches across files. Prints `file: profile: reason`; exit 1 on any problem."""
    from canhgac_agent.snmp.profiles.loader import load_profiles

    for path in paths or []:
        if not path.exists():
            err.print(f"usage error: {path}: no such file or folder", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE)
    loaded, problems = load_profiles(paths or None)
    for problem in problems:
        print(str(problem))
    if problems:
        err.print(f"{len(problems)} lỗi / problem(s)", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID)
    files = len({lp.file for lp in loaded})
    print(f"OK: {len(loaded)} profile(s) in {files} file(s)")
