"""Tables for people and for pipes: on a terminal a table fits the screen; piped, or with `--wide`, every
cell is printed whole, so an id copied from the output is the id the next command expects."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

UNBOUNDED = 1_000_000  # columns: wider than any table we print


def print_table(console: Console, table: Table, *, wide: bool = False) -> None:
    """Print `table` on `console`, never cutting a cell with "…" when `wide` or not on a terminal."""
    if not wide and console.is_terminal:
        console.print(table)
        return
    needed = Measurement.get(console, console.options.update(width=UNBOUNDED), table).maximum
    whole = Console(
        file=console.file,
        width=max(needed, 1),
        force_terminal=console.is_terminal,
        color_system=console.color_system,  # type: ignore[arg-type]  # the same names rich accepts
        highlight=False,
    )
    whole.print(table)
