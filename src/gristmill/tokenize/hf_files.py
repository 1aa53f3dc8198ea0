"""A tokenizer directory that ``transformers.AutoTokenizer.from_pretrained(DIR)`` loads whole.

``tokenizer.json`` alone loads in ``PreTrainedTokenizerFast(tokenizer_file=...)`` but with no
special tokens: ``eos_token`` is None, and ``AutoTokenizer`` does not know which class to build.
transformers reads two more files beside it:

- ``tokenizer_config.json``: ``tokenizer_class`` (``PreTrainedTokenizerFast``), the special
  tokens, ``model_max_length`` (the context the model will have; transformers warns about
  longer inputs), and how to decode (no prefix space, no clean-up: ids round-trip to the text);
- ``special_tokens_map.json``: the special tokens again (older transformers read them here).

The special tokens come from the vocabulary: EOS is the first of ``EOS_CANDIDATES`` it has
(``<|endoftext|>`` for GPT-2 and ``gristmill tokenizer train``), used as BOS and UNK too as
GPT-2 does (byte-level BPE never needs UNK); PAD is ``<|pad|>`` (or ``<pad>``/``[PAD]``) when the
vocabulary has one. ``gristmill export-hf`` writes the same files beside the model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tokenizers

from gristmill.tokenize.bpe import find_eos_id

PAD_CANDIDATES = ("<|pad|>", "<pad>", "[PAD]")
DEFAULT_MODEL_MAX_LENGTH = 1024  # GPT-2's context; the trainer's gpt2-* presets use it too
FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def special_tokens(tok: tokenizers.Tokenizer, source: str = "tokenizer") -> dict[str, str]:
    """``bos_token``/``eos_token``/``unk_token`` (the end-of-text token) and ``pad_token``
    (when the vocabulary has one), as transformers names them."""
    eos = tok.id_to_token(find_eos_id(tok, source))
    out = {"bos_token": eos, "eos_token": eos, "unk_token": eos}
    pad = next((c for c in PAD_CANDIDATES if tok.token_to_id(c) is not None), None)
    if pad is not None:
        out["pad_token"] = pad
    return out


def tokenizer_config(specials: dict[str, str], model_max_length: int) -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "model_max_length": model_max_length,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
    }


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_hf_tokenizer_files(out_dir: str | Path, tokenizer_json: str,
                             model_max_length: int = DEFAULT_MODEL_MAX_LENGTH) -> list[str]:
    """Write ``FILES`` into ``out_dir`` (which must exist) from a ``tokenizers`` JSON; returns
    their names. Each file is written under a temp name, then renamed."""
    if model_max_length <= 0:
        raise ValueError(f"model_max_length must be positive, got {model_max_length}")
    out = Path(out_dir)
    tok = tokenizers.Tokenizer.from_str(tokenizer_json)
    specials = special_tokens(tok, str(out / "tokenizer.json"))
    _write_text(out / "tokenizer.json", tokenizer_json)
    _write_text(out / "tokenizer_config.json",
                json.dumps(tokenizer_config(specials, model_max_length), indent=2) + "\n")
    _write_text(out / "special_tokens_map.json", json.dumps(specials, indent=2) + "\n")
    return list(FILES)


def train_tokenizer_dir(files: list[str], vocab_size: int, out_dir: str, *,
                        min_frequency: int = 2,
                        model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
                        overwrite: bool = False) -> tokenizers.Tokenizer:
    """Train a byte-level BPE (``train_bpe``) into the directory ``out_dir``, with the files
    transformers needs. The directory follows the run-directory rules: an existing one is
    replaced only with ``overwrite`` and only if gristmill wrote it (or it is empty)."""
    from gristmill.pipelines import rundir
    from gristmill.tokenize.train_bpe import train_bpe

    out = out_dir.rstrip("/") or out_dir
    info = {"gristmill": "tokenizer train", "vocab_size": vocab_size}
    with rundir.new_run_dir(out, files, overwrite, info,
                            complete_file="tokenizer_config.json") as work:
        path = Path(work) / "tokenizer.json"
        tok = train_bpe(files, vocab_size, path, min_frequency=min_frequency)
        write_hf_tokenizer_files(work, path.read_text(encoding="utf-8"), model_max_length)
    return tok
