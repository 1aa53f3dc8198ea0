"""What a fastText classifier may cost: its share of the recommended pipeline's CPU (issue 19).

The issue's budget for classifier prediction is "< 10% of the recommended pipeline's time".
This runs ``run_pipeline`` (Beam in-process, one worker, the default config: exact + MinHash
dedup, GPT-2 tokenization) on the demo corpus in three variants, alternating, ``--rounds``
runs each (the lower CPU counts):

- **default**: the recommended config as shipped (``language``, the ``spam`` and ``toxicity``
  fastText filters);
- **without fastText filters**: ``spam`` and ``toxicity`` left out (``language`` kept);
- **toxicity x K**: K separate copies of the toxicity model, each its own filter in annotate
  mode: what an ensemble of K fastText models in the toxicity slot would cost (one shared
  preprocessing, K predictions; K distinct model objects in memory).

Every filter's calls are timed inside the run (thread CPU, ``classifiers.timed_filters``).

    PYTHONPATH=src .venv/bin/python benchmarks/classifier_budget.py [--demo DIR] [--k 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from classifiers import CLASSIFIER_FILTERS, timed_filters  # noqa: E402
from gristmill.classify.builtin import resolve_model  # noqa: E402
from gristmill.config import load_config  # noqa: E402
from gristmill.data.demo import build_demo  # noqa: E402


def variants(tmp: Path, k: int) -> dict:
    cfg = load_config()
    without = cfg.model_copy(deep=True)
    without.filters = [s for s in cfg.filters if s.name != "fasttext"]
    ens = cfg.model_copy(deep=True)
    tox = next(s for s in ens.filters if s.params.get("tag") == "toxicity")
    src = resolve_model(tox.params["model"])
    at = ens.filters.index(tox)
    for i in range(2, k + 1):  # distinct files: distinct models in the per-process cache
        copy = tmp / f"toxicity{i}.bin"
        shutil.copyfile(src, copy)
        extra = tox.model_copy(deep=True)
        extra.params.update(model=str(copy), tag=f"toxicity{i}")
        ens.filters.insert(at + i - 1, extra)
    return {"default": cfg, "without fastText filters": without, f"toxicity x{k}": ens}


def main(argv: list[str] | None = None) -> int:
    from gristmill.pipelines.run import run_pipeline

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("data/demo"), help="demo corpus (built when missing)")
    ap.add_argument("--k", type=int, default=3, help="ensemble size simulated in the toxicity slot")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if not (args.demo / "corpus" / "fortunes.jsonl").is_file():
        build_demo(args.demo)
    load0 = os.getloadavg()
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="gristmill-budget-") as t:
        tmp = Path(t)
        vs = variants(tmp, args.k)
        for r in range(args.rounds):
            for label, cfg in vs.items():
                names = sorted({s.name for s in cfg.filters})
                acc: dict[str, list[float]] = {}
                with timed_filters(acc, names):
                    t0 = time.process_time()
                    s = run_pipeline([str(args.demo / "corpus")], str(tmp / f"r{r}-{len(res)}-{label[:7]}"), cfg,
                                     workers=1)
                    cpu = time.process_time() - t0
                if label not in res or cpu < res[label]["cpu_s"]:
                    n = s["input_records"]
                    fcpu = {k: v[0] for k, v in acc.items()}
                    ft = sum(v for k, v in fcpu.items() if k.startswith("fasttext"))
                    clf = sum(v for k, v in fcpu.items() if k in CLASSIFIER_FILTERS or k.startswith("fasttext"))
                    res[label] = {"cpu_s": round(cpu, 2), "docs": n, "kept": s["kept"],
                                  "us_per_doc": round(cpu / n * 1e6, 1),
                                  "filter_us_per_doc": {k: round(v / n * 1e6, 1) for k, v in sorted(fcpu.items())},
                                  "fasttext_share": round(ft / cpu, 4), "classifier_share": round(clf / cpu, 4)}
    res["load_before_after"] = [list(load0), list(os.getloadavg())]
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
