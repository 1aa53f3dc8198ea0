"""Load fastText models once per process, with clear errors; predict label probabilities.

fastText models are large C++ objects that cannot be pickled, so they are loaded in each
worker process (never shipped with a filter) and cached here by resolved path, file size
and modification time: every filter (and every Beam DoFn instance) in a process that names
the same file shares one model, and a retrained file is picked up.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gristmill.errors import UserError

if TYPE_CHECKING:  # imported where used: declaring the fasttext filter needs no numpy
    import numpy as np

LABEL_PREFIX = "__label__"

_CACHE: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()


class ModelLoadError(UserError, RuntimeError):
    """A fastText model file is missing, unreadable or not a fastText model."""


_MAGIC = 793712314  # fastText's file-format magic number
_KSUB = 256  # centroids per product-quantizer sub-space (fixed in fastText)


def check_model_file(path: Path) -> None:
    """Walk the fastText file layout and check every section fits the file.

    fastText's C++ loader trusts the sizes it reads: a truncated or damaged file can make it
    allocate many gigabytes or crash the whole process instead of raising. Checking the
    layout first (header, dictionary entries, dense or product-quantized matrices) turns
    that into a clear error naming the file. Costs one pass over the dictionary.
    """
    import mmap
    import struct

    size = path.stat().st_size
    if size < 8:
        raise ModelLoadError(f"{path} is not a fastText model ({size} bytes)")
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as b:
        pos = 0

        def take(fmt: str) -> tuple:
            nonlocal pos
            n = struct.calcsize(fmt)
            if pos + n > size:
                raise ModelLoadError(f"{path} is truncated: {size} bytes, but its layout needs more "
                                     f"(re-train or re-download it)")
            v = struct.unpack_from(fmt, b, pos)
            pos += n
            return v

        def skip(n: int) -> None:
            nonlocal pos
            if n < 0 or pos + n > size:
                raise ModelLoadError(f"{path} is truncated or damaged: a section of {n} bytes at "
                                     f"offset {pos} does not fit in its {size} bytes")
            pos += n

        magic, version = take("<ii")
        if magic != _MAGIC or not 0 < version <= 12:
            raise ModelLoadError(f"{path} is not a fastText model (bad magic number or version)")
        take("<12id")  # Args: dim, ws, epoch, minCount, neg, wordNgrams, loss, model, ...
        nentries, _, nlabels, _, prune = take("<iiiqq")
        if nentries < 0 or prune < -1 or nlabels < 0:  # prune is -1 in unpruned models
            raise ModelLoadError(f"{path} is damaged (negative dictionary size)")
        for _ in range(nentries):
            end = b.find(b"\0", pos)
            if end < 0:
                raise ModelLoadError(f"{path} is truncated inside its dictionary")
            pos = end + 1
            take("<qb")  # count, entry type
        skip(8 * max(prune, 0))  # pruned-index pairs of quantized models

        def pq() -> None:
            dim, _, _, _ = take("<iiii")
            skip(4 * dim * _KSUB)

        for _ in ("input", "output"):
            (quant,) = take("<?")
            if quant:
                (qnorm,) = take("<?")
                m, _ = take("<qq")
                (codesize,) = take("<i")
                skip(codesize)
                pq()
                if qnorm:
                    skip(m)
                    pq()
            else:
                m, n = take("<qq")
                skip(4 * m * n)
        if pos != size:
            raise ModelLoadError(f"{path} has {size - pos} unexpected trailing bytes (damaged?)")


def load_model(path: str | os.PathLike) -> Any:
    """The ``fasttext`` model at ``path``, loaded at most once per process per file version."""
    import fasttext  # imported lazily: only processes that classify pay for it

    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise ModelLoadError(
            f"fastText model not found: {p} (train one with `gristmill classifier train "
            f"--input FILE --output {path}`, or name a built-in model: `gristmill models list`)"
        )
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            check_model_file(p)
            try:
                model = fasttext.load_model(str(p))
                labels = model.get_labels()
            except Exception as e:  # ValueError (bad format), MemoryError (truncated file)
                raise ModelLoadError(
                    f"cannot load fastText model {p}: {type(e).__name__}: {e}. The file is corrupt, "
                    f"truncated or not a fastText .bin/.ftz; re-train or re-download it"
                ) from None
            if not labels:
                raise ModelLoadError(f"{p} is a fastText model without labels (not a classifier)")
            _CACHE[key] = model
    return model


def load_for_filter(filter_name: str, path: str | os.PathLike, needed: list[str]) -> Any:
    """``load_model`` for a filter: errors name the filter, and the model must predict every
    label in ``needed`` (a filter asking for a label its model lacks would never fire)."""
    try:
        model = load_model(path)
    except ModelLoadError as e:
        raise ModelLoadError(f"filter {filter_name!r}: {e}") from None
    labels = model_labels(model)
    missing = [lab for lab in needed if lab not in labels]
    if missing:
        shown = f"{labels}" if len(labels) <= 12 else f"{labels[:12]} and {len(labels) - 12} more"
        raise ValueError(f"filter {filter_name!r}: model {path} has no label(s) {missing} (it does not "
                         f"know them); its labels are {shown}")
    return model


def model_labels(model: Any) -> list[str]:
    """The model's labels without fastText's ``__label__`` prefix, in the model's order."""
    return [strip_prefix(x) for x in model.get_labels()]


def strip_prefix(label: str) -> str:
    return label[len(LABEL_PREFIX):] if label.startswith(LABEL_PREFIX) else label


def label_probs(model: Any, line: str, threshold: float = 0.0) -> dict[str, float]:
    """{label: probability} for one prepared, newline-free line: the per-document fast path.

    Labels below ``threshold`` are left out (fastText prunes them before sorting, which
    matters for models with many labels such as lid.176); callers treat a missing label as 0.
    """
    # The C++ binding (``model.f``) directly: the Python wrapper's ``predict`` builds numpy
    # arrays and tuples around it, a third of the whole cost for a short text.
    if "\n" in line:
        raise ValueError("predict processes one line at a time (remove '\\n')")
    n = len(LABEL_PREFIX)
    # fastText may give 1.00001; a conditional is cheaper than min() in this per-label loop
    return {lab[n:]: p if p < 1.0 else 1.0 for p, lab in model.f.predict(line + "\n", -1, threshold, "strict")}


def predict_probs(
    model: Any, texts: Sequence[str], prep: Callable[[str], str] | None = None
) -> tuple[list[str], np.ndarray]:
    """(labels, probabilities): one row per text, one column per model label.

    ``prep`` must be the transformation the model was trained with (``preprocess`` for
    gristmill models); ``None`` means the texts are already prepared.
    """
    import numpy as np

    labels = model_labels(model)
    col = {lab: j for j, lab in enumerate(labels)}
    probs = np.zeros((len(texts), len(labels)), dtype=float)
    if not texts:
        return labels, probs
    lines = [prep(t) if prep else t for t in texts]
    lines = [ln.replace("\n", " ") for ln in lines]  # predict() refuses newlines
    pred_labels, pred_probs = model.predict(lines, k=-1, threshold=0.0)
    for i, (labs, ps) in enumerate(zip(pred_labels, pred_probs, strict=True)):
        for lab, p in zip(labs, ps, strict=True):
            probs[i, col[strip_prefix(lab)]] = min(float(p), 1.0)  # fastText may give 1.00001
    return labels, probs
