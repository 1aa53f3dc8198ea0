"""Deterministic synthetic corpus for the memory benchmark and its CI-sized test.

    .venv/bin/python benchmarks/synth_corpus.py --docs 100000 --out /tmp/synth/100k.jsonl [--demo DIR]

Documents of ~830 bytes of real text (lines of the demo corpus's literature, one fortune or SMS
each), 20% of them near-duplicates of an earlier document (0-10% of the words inserted, deleted
or replaced, lines kept) and a fifth of those exact copies but for spacing: the shape dedup sees on web
text. Document ``i`` depends only on ``i`` and the seed, so any size is a prefix of a larger
one and two machines write the same bytes. Needs the demo corpus (``gristmill data demo DIR``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

TARGET_BYTES = 830
NEAR_DUP_SHARE = 0.20
_BOILERPLATE = ("click here to subscribe to our newsletter", "all rights reserved",
                "share this page with your friends", "read more about our privacy policy")


class SynthCorpus:
    """Document ``i`` of the synthetic corpus, from the demo corpus's texts."""

    def __init__(self, demo: Path, seed: int = 0) -> None:
        def texts(name: str) -> list[str]:
            with open(demo / "corpus" / f"{name}.jsonl", encoding="utf-8") as f:
                return [json.loads(line)["text"] for line in f]

        self.seed = seed
        self.lines = [ln.strip() for t in texts("literature") for ln in t.split("\n") if len(ln.strip()) > 20]
        self.short = [t for t in texts("fortunes") + texts("sms_spam") if 20 < len(t) < 400]

    def fresh(self, i: int) -> str:
        """An original document: one short text among literature lines, ~830 bytes in all."""
        rng = random.Random(self.seed * 1_000_003 + 2 * i)
        size = rng.randint(TARGET_BYTES // 2, TARGET_BYTES * 3 // 2)
        body = [rng.choice(self.short)]
        n = len(body[0])
        while n < size:
            body.append(rng.choice(self.lines))
            n += len(body[-1]) + 1
        rng.shuffle(body)
        return "\n".join(body)

    def text(self, i: int) -> str:
        """Document ``i``: fresh, or (20%) a near-duplicate of an earlier one. Edits keep the
        line structure, so a near-duplicate passes the line-based filters its original passes
        and reaches dedup; a fifth of them differ only in spacing (exact dedup's case)."""
        rng = random.Random(self.seed * 1_000_003 + 2 * i + 1)
        if i < 10 or rng.random() >= NEAR_DUP_SHARE:
            return self.fresh(i)
        lines = [ln.split(" ") for ln in self.fresh(i - rng.randint(1, min(i, 50_000))).split("\n")]
        if rng.random() < 0.2:
            return "\n".join("  ".join(words) for words in lines)  # the same text, spaced out
        n_words = sum(len(words) for words in lines)
        for _ in range(max(1, int(rng.uniform(0.0, 0.1) * n_words))):
            words = rng.choice(lines)
            kind = rng.randrange(3)
            if kind == 0:
                words.insert(rng.randrange(len(words) + 1), rng.choice(words))
            elif kind == 1 and len(words) > 1:
                del words[rng.randrange(len(words))]
            else:
                words[rng.randrange(len(words))] = rng.choice(_BOILERPLATE).split()[0]
        return "\n".join(" ".join(words) for words in lines)

    def record(self, i: int) -> dict:
        return {"id": f"doc{i:09d}", "text": self.text(i), "source": "synthetic"}


def write_jsonl(demo: Path, n_docs: int, path: Path, seed: int = 0, start: int = 0) -> Path:
    """Documents ``start`` .. ``start + n_docs`` as one JSONL file (written under a temporary
    name and renamed, so a file that exists is complete)."""
    gen = SynthCorpus(demo, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for i in range(start, start + n_docs):
            f.write(json.dumps(gen.record(i), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--demo", type=Path, default=Path("/tmp/demo"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    write_jsonl(args.demo, args.docs, args.out, args.seed)
    print(args.out, args.out.stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
