"""How a number, a share or a document's recorded facts are written, the same in the
terminal report, ``inspect`` and the HTML page."""

from __future__ import annotations

from gristmill.schemas.records import entries_to_dict


def pct(n: float, d: float) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"


def num(x: float) -> str:
    """Compact number: integers with separators, floats with 4 significant digits."""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.4g}"


def short(x: float) -> str:
    """3 significant digits, for narrow score columns."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e6 else f"{x:.3g}"


def c4_counts(row: dict) -> str:
    """What C4's cleaner recorded about a document (it stores counts, not the lines)."""
    meta = entries_to_dict(row.get("metadata"))
    items = [f"{k[3:]} {v}" for k, v in sorted(meta.items()) if k.startswith("c4.") and v != "0"]
    return ("C4 cleaner: " + ", ".join(items)) if items else ""
