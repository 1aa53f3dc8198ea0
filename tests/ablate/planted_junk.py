"""Real clean text with planted junk, for the ablation tests.

Clean text is the demo corpus's literature (Shakespeare scenes, Milton), split by a hash of the
id into a training part and a held-out part no config sees. The junk is what web crawls are
full of and what the heuristic filters exist for:

- random-character pages (``gopher_quality``, ``special_characters``),
- pages of boilerplate lines repeated over and over (``gopher_repetition``, ``fineweb_quality``),
- spam-like bullet lists of offers and links (``gopher_quality``'s bullet rule, ...).

Everything is seeded: the same demo corpus gives the same files.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import xxhash

BOILERPLATE = [
    "Home | About us | Contact | Privacy policy | Terms of use",
    "Subscribe to our newsletter for the latest deals and updates!",
    "Copyright 2024 Example Media Group. All rights reserved.",
    "Click here to accept cookies and continue browsing.",
    "Share this page on Facebook, Twitter and LinkedIn",
]
OFFERS = ["CHEAP WATCHES", "FREE iPhone", "BEST CASINO BONUS", "LOSE 20 KG FAST", "HOT SINGLES",
          "CRYPTO PROFITS", "DISCOUNT PILLS", "WORK FROM HOME $$$"]


def literature(demo_dir: Path) -> list[dict]:
    rows = []
    with open(demo_dir / "corpus" / "literature.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows.append({"id": row["id"], "text": row["text"], "source": row["source"]})
    return rows


def split_clean(demo_dir: Path, n_train: int, n_eval: int) -> tuple[list[dict], list[dict]]:
    """(training documents, held-out documents) of the literature, chosen by a salted hash of
    the id (unsalted, the choice would correlate with the tokenizer's validation split)."""
    rows = sorted(literature(demo_dir), key=lambda r: xxhash.xxh64_intdigest(b"pick:" + r["id"].encode()))
    return rows[:n_train], rows[n_train:n_train + n_eval]


def random_page(rng: random.Random, chars: int) -> str:
    alphabet = string.ascii_letters + string.digits + string.punctuation
    lines, n = [], 0
    while n < chars:
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 9)))
                 for _ in range(rng.randint(6, 12))]
        lines.append(" ".join(words))
        n += len(lines[-1]) + 1
    return "\n".join(lines)


def boilerplate_page(rng: random.Random, lines: int) -> str:
    return "\n".join(rng.choice(BOILERPLATE) for _ in range(lines))


def spam_list(rng: random.Random, lines: int) -> str:
    out = []
    for _ in range(lines):
        offer = rng.choice(OFFERS)
        out.append(f"- {offer} !!! {rng.randint(50, 95)}% OFF >>> http://deals{rng.randint(1, 999)}"
                   f".example/{offer.split()[0].lower()} <<< ORDER NOW")
    return "\n".join(out)


def junk(n_each: int, seed: int = 0, random_chars: int = 4000) -> list[dict]:
    """``n_each`` documents of each kind of junk: random pages of ``random_chars`` characters,
    boilerplate pages (~4 KB) and spam lists (~4 KB)."""
    rng = random.Random(seed)
    docs = []
    for i in range(n_each):
        docs.append({"id": f"junk/random:{i}", "source": "junk/random", "text": random_page(rng, random_chars)})
        docs.append({"id": f"junk/boilerplate:{i}", "source": "junk/boilerplate",
                     "text": boilerplate_page(rng, 80)})
        docs.append({"id": f"junk/spam:{i}", "source": "junk/spam", "text": spam_list(rng, 50)})
    return docs


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path
