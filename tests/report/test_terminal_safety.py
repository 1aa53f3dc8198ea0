"""Text from data never drives the terminal: a real run whose documents carry escape
sequences, an OSC 52 clipboard write, a C1 CSI, a right-to-left override and rich markup in
every field, shown by ``gristmill run``, ``report``, ``report --html``, ``report --compare``
and ``inspect`` through ``gristmill.cli.main``, and once as a subprocess (real bytes)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from gristmill.cli import main

CLEAR = "\x1b[2J"
OSC52 = "\x1b]52;c;aGVsbG8=\x07"  # writes "hello" to the clipboard
CSI8 = "\x9b31m"  # C1 CSI: red, on terminals that honour 8-bit controls
RLO = "\u202e"
MARKUP = "[bold red]RED[/] [link=https://evil.example]click[/link] :warning:"
P = CLEAR + OSC52 + CSI8 + RLO + MARKUP
SHOWN = ("\\x1b[2J", "\\x1b]52;c;aGVsbG8=\\x07", "\\x9b31m", "\\u202e",
         "[bold red]RED[/] [link=https://evil.example]click[/link] :warning:")
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

CONFIG = """
filters:
  - {name: word_count, params: {min_words: %d}}
  - {name: c4, params: {}}
dedup: {exact: {}, minhash: {threshold: 0.8}}
"""


def _hostile_input(demo_dir: Path, dest: Path) -> Path:
    """Real demo documents, plus documents with the payload in every field."""
    corpus = demo_dir / "corpus"
    rows = [json.loads(x) for x in (corpus / "literature.jsonl").read_text().splitlines()[:6]]
    rows += [json.loads(x) for x in (corpus / "sms_spam.jsonl").read_text().splitlines()[:20]]
    body = rows[0]["text"].split("\n")
    long_text = "\n".join(body[:2] + [f"A line with {P} inside it."] + body[2:])
    meta = {f"c4.evil{P}": "3", "annotate.evil": f"would drop {P}", f"note{P}": P}
    rows += [
        {"id": f"{P}short", "text": f"tiny {P}", "source": f"src{P}", "url": f"https://u/{P}",
         **meta},
        {"id": f"{P}long", "text": long_text, "source": f"src{P}", "url": f"https://u/{P}", **meta},
        {"id": f"{P}copy", "text": long_text, "source": f"src{P}", **meta},  # exact duplicate
        {"id": f"{P}lines", "text": "\n".join([f"nine words on a line that never ends {P}"] * 3),
         "source": f"src{P}", **meta},  # no sentence: C4 removes it
    ]
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "input.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write(json.dumps({"id": "no text", f"body{P}": 1}) + "\n")  # error: keys in message
        f.write('{"id": "' + P + '\n')  # error: malformed JSON, the payload in its raw bytes
    return path


def _config(dest: Path, min_words: int) -> Path:
    path = dest / f"config{min_words}.yaml"
    path.write_text(CONFIG % min_words)
    return path


@pytest.fixture(scope="module")
def runs(demo_dir, tmp_path_factory) -> dict:
    """Two runs of the hostile input (min_words 8 and 3), through ``gristmill run``; the run
    directory's own name carries the payload too. Keeps what ``run`` printed."""
    d = tmp_path_factory.mktemp("hostile")
    inp = _hostile_input(demo_dir, d / "in")
    out: dict = {}
    for name, words in (("a", 8), ("b", 3)):
        out[name] = d / f"run-{name}{CLEAR}{RLO}"
        rc, text = _gristmill("run", "--input", str(inp), "--output", str(out[name]),
                              "--config", str(_config(d, words)))
        assert rc == 0, text
        out[f"run_{name}_output"] = text
    return out


def _gristmill(*args: str) -> tuple[int, str]:
    """``gristmill ARGS`` in this process: exit status and everything it printed."""
    buf = io.StringIO()
    with redirect_stdout(buf), redirect_stderr(buf):
        rc = main(list(args))
    return rc, buf.getvalue()


def _assert_safe(out: str) -> None:
    bad = RAW.findall(out)
    assert not bad, f"raw control/bidi characters reached the terminal: {sorted(set(bad))!r}"


def test_run_summary_escapes_the_output_path(runs):
    out = runs["run_a_output"]
    _assert_safe(out)
    assert "run-a\\x1b[2J\\u202e" in out and "kept" in out


def test_report_prints_no_raw_control_characters(runs, tmp_path):
    """As a subprocess: the bytes a terminal would receive."""
    page = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-m", "gristmill.cli", "report", str(runs["a"]),
                        "--width", "250", "--html", str(page)], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = (r.stdout + r.stderr).decode("utf-8")
    _assert_safe(out)
    src = next(line for line in out.splitlines() if line.startswith("src\\x1b"))
    for s in SHOWN:  # the source column, escaped and literal, on one line
        assert s in src
    assert "c4.evil\\x1b[2J" in out  # a metadata key (summed C4 counts)
    assert "would drop \\x1b[2J" in out  # a metadata value (annotate-mode verdicts)
    assert "missing_text" in out and "malformed_json" in out
    html = page.read_text(encoding="utf-8")
    _assert_safe(html.replace("\n", " "))
    assert "src\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07\\x9b31m\\u202e[bold red]RED[/]" in html


@pytest.mark.parametrize("command", ["report", "inspect"])
def test_styled_output_emits_only_its_own_colour_codes(runs, command, monkeypatch):
    """On a colour terminal rich writes SGR codes; those are the only escapes, and the
    ``[link=...]`` in the data makes no hyperlink (OSC 8)."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    extra = ["--filter", "word_count", "-n", "20"] if command == "inspect" else []
    rc, out = _gristmill(command, str(runs["a"]), *extra, "--width", "250")
    assert rc == 0, out
    assert "\x1b[1m" in out  # really styled
    unstyled = re.sub(r"\x1b\[[0-9;]*m", "", out)
    _assert_safe(unstyled)
    assert "[link=https://evil.example]click[/link]" in unstyled


@pytest.mark.parametrize("args", [("--filter", "word_count"), ("--filter", "exact_dedup"),
                                  ("--filter", "c4")])
def test_inspect_prints_no_raw_control_characters(runs, args):
    rc, out = _gristmill("inspect", str(runs["a"]), *args, "-n", "20", "--width", "250")
    assert rc == 0, out
    _assert_safe(out)
    assert f"─ {SHOWN[0]}" in out  # a panel title: the id, escaped
    for s in SHOWN:
        assert s in out
    if args[1] == "exact_dedup":  # the representative's id and text, escaped as well
        assert "duplicate of \\x1b[2J" in out and "A line with \\x1b[2J" in out
    if args[1] == "c4":  # the text keeps its line breaks; the metadata key is escaped
        lines = [ln for ln in out.splitlines() if "never ends \\x1b[2J" in ln]
        assert len(lines) == 3 and "C4 cleaner:" in out and "evil\\x1b[2J" in out


def test_inspect_errors_escape_the_run_path(runs):
    rc, out = _gristmill("inspect", str(runs["a"]), "--filter", "nonexistent")
    assert rc == 2
    _assert_safe(out)
    assert "run-a\\x1b[2J\\u202e" in out


def test_compare_prints_no_raw_control_characters(runs):
    rc, out = _gristmill("report", "--compare", str(runs["a"]), str(runs["b"]), "--width", "250")
    assert rc == 0, out
    _assert_safe(out)
    assert "run-a\\x1b[2J\\u202e" in out and "run-b\\x1b[2J\\u202e" in out
    assert "\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07\\x9b31m\\u202e[bold red]RED[/]" in out  # an id

