"""The report's section registry: a section registered in a test appears in the terminal
report and on the HTML page, in its place, and is gone once unregistered."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console, RenderableType

from gristmill.report import sections
from gristmill.report.html import render
from gristmill.report.html_blocks import table
from gristmill.report.run import RunDir
from gristmill.report.stats import RunStats, compute_stats
from gristmill.report.terminal import print_report
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table


@pytest.fixture(scope="module")
def stats(run_dir) -> RunStats:
    return compute_stats(RunDir.open(run_dir))


def _longest(st: RunStats) -> list[tuple[str, float]]:
    """Mean characters per kept document, per source: a section of this test's own."""
    return [(s, row["kept_chars"] / row["kept"]) for s, row in st.by_source.items() if row["kept"]]


def _terminal(st: RunStats) -> list[RenderableType]:
    t = terminal_table("Mean kept length", "source", "chars")
    for s, mean in _longest(st):
        add_row(t, s, f"{mean:.1f}")
    return [t]


def _html(st: RunStats) -> str:
    return table(["source", "chars"], [[s, (f"{mean:.1f}", mean)] for s, mean in _longest(st)])


MEAN_LENGTH = sections.Section("mean_length", "Mean kept length", _terminal, _html)


def _terminal_text(st: RunStats) -> str:
    buf = io.StringIO()
    print_report(st, Console(file=buf, width=80, markup=False))
    return buf.getvalue()


def test_registered_section_in_both_outputs(stats):
    kept_milton = stats.by_source["milton"]
    mean = f"{kept_milton['kept_chars'] / kept_milton['kept']:.1f}"
    with sections.registered(MEAN_LENGTH):
        text, page = _terminal_text(stats), render(stats)
    # terminal: after the last built-in section, with the real mean of a real source
    assert text.index("Errors by type") < text.index("Mean kept length")
    assert re.search(rf"milton\s+│\s+{re.escape(mean)}", text)
    # page: its own <section> after the built-in ones, in the nav, with the same number
    ids = re.findall(r'<section id="([^"]+)">', page)
    assert ids == [s.key for s in sections.page_order(stats) if s.title] + ["mean_length"]
    assert "web" not in ids  # JSONL text: no web section, in the nav or the page
    assert '<a href="#mean_length">Mean kept length</a>' in page
    body = page.split('<section id="mean_length">', 1)[1].split("</section>", 1)[0]
    assert "<h2>Mean kept length</h2>" in body and f">{mean}</td>" in body and "milton" in body
    # unregistered when the block ends: both outputs are back to the built-in sections
    assert MEAN_LENGTH not in sections.page_order()
    assert "Mean kept length" not in _terminal_text(stats) and "mean_length" not in render(stats)


def test_a_key_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        sections.register(sections.Section("funnel", "Funnel again", _terminal, _html))
    with sections.registered(MEAN_LENGTH), pytest.raises(ValueError, match="registered twice"):
        sections.register(MEAN_LENGTH)
    assert MEAN_LENGTH not in sections.page_order()


def test_subsection_sits_inside_the_section_above(stats):
    """The annotate-mode and C4 tables have no title of their own: on the page they are part
    of "Filters and reasons", in the terminal they follow its table."""
    page = render(stats)
    filters = page.split('<section id="filters">', 1)[1].split("</section>", 1)[0]
    assert "<h3>C4 line cleaning: removed from documents that reached it</h3>" in filters
    text = _terminal_text(stats)
    assert text.index("Removed, by filter and reason") < text.index("C4 line cleaning") \
        < text.index("By source")
