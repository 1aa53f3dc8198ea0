"""Building blocks of the terminal report's sections: a rich table that fits 80 columns, and
rows whose text from the run is escaped, never read as console markup."""

from __future__ import annotations

from rich.table import Table

from gristmill.safe_text import plain


def table(title: str, *cols: str, right_from: int = 1) -> Table:
    """A titled table, columns from ``right_from`` on right-aligned (numbers) and unwrapped."""
    t = Table(title=plain(title), title_justify="left", title_style="bold", expand=False,
              pad_edge=False, show_edge=False)
    for i, c in enumerate(cols):
        t.add_column(c, justify="right" if i >= right_from else "left",
                     overflow="fold", no_wrap=i >= right_from)
    return t


def add_row(t: Table, *cells: object, style: str | None = None) -> None:
    """Add a row whose cells may hold text from the run (names, reasons, sources, ids):
    a ``str`` cell is escaped (:func:`visible`) and never read as console markup."""
    t.add_row(*(plain(c) if isinstance(c, str) else c for c in cells), style=style)
