"""``DIR/ablation.json``: per config what it kept, what its models saw, how they scored, and
which differences between configs the seeds can tell apart.

The contract (keys may be added, never renamed)::

    {"configs": [{"name", "config_hash", "kept_documents", "kept_tokens", "train_tokens",
                  "epochs", "eval": {EVAL: {"bpb": [one per seed], "mean", "std"}},
                  "mc": {FILE_STEM: {"acc_norm": [one per seed], "mean", "stderr"}}}],
     "preset", "tokens", "seeds", "tokenizer"}

``std`` is the sample standard deviation over seeds (0 with one seed); ``stderr`` is the
binomial standard error ``sqrt(p (1 - p) / n)`` of the mean accuracy over ``n`` questions.
``comparisons`` holds, per eval set and pair of configs, the difference of the means and
whether it is within the seed spread: the ranges (min..max over seeds) of the two configs
overlap, so these seeds cannot say which config is better. With one seed the spread is
unknown (``null``).
"""

from __future__ import annotations

import math
import statistics
from itertools import combinations
from pathlib import Path
from typing import Any

from gristmill import __version__
from gristmill.ablate.evalsets import ChoiceSet, TextSet
from gristmill.ablate.runs import RunInfo
from gristmill.ablate.spec import AblationSpec
from gristmill.ablate.training import ModelPlan, val_losses

ABLATION_FILE = "ablation.json"
MARKER = ".gristmill-ablation"  # written first: gristmill made this ablation directory


def spread(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value)."""
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def binomial_stderr(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n else float("nan")


def _final(state: dict, steps: int) -> dict:
    return next((p for p in state["points"] if p["step"] == steps), {"bpb": {}, "mc": {}})


def _curve(plan: ModelPlan, state: dict, texts: list[TextSet]) -> dict:
    """One model's scores along its training, for the eval sets of this ablation."""
    current = {s.name: s.sha256 for s in texts}
    return {"seed": plan.seed, "dir": str(plan.dir), "train_s": state.get("train_s"),
            "points": [{"step": p["step"], "tokens": p.get("tokens", p["step"] * plan.tokens_per_step),
                        "bpb": {k: v["bpb"] for k, v in p["bpb"].items()
                                if current.get(k) == v.get("sha256")}}
                       for p in state["points"]],
            "val_loss": [[s, s * plan.tokens_per_step, v] for s, v in val_losses(plan.dir)]}


def config_entry(run: RunInfo, models: list[tuple[ModelPlan, dict]], texts: list[TextSet],
                 choices: list[ChoiceSet]) -> dict:
    """One config's row of ``ablation.json``."""
    plan0 = models[0][0]
    train_tokens = plan0.steps * plan0.tokens_per_step
    epochs = train_tokens / run.train_split_tokens if run.train_split_tokens else math.inf
    finals = [_final(state, plan.steps) for plan, state in models]
    evals: dict[str, Any] = {}
    for s in texts:
        bpb = [f["bpb"][s.name]["bpb"] for f in finals]
        loss = [f["bpb"][s.name]["loss"] for f in finals]
        evals[s.name] = {"bpb": bpb, **spread(bpb), "loss": loss,
                         "tokens": finals[0]["bpb"][s.name]["tokens"]}
    mc: dict[str, Any] = {}
    for c in choices:
        acc = [f["mc"][c.name]["acc_norm"] for f in finals]
        sp = spread(acc)
        mc[c.name] = {"acc_norm": acc, "mean": sp["mean"], "stderr": binomial_stderr(sp["mean"], len(c.items)),
                      "std": sp["std"], "n": len(c.items)}
    return {
        "name": run.name, "config_hash": run.config_hash,
        "input_records": run.input_records, "kept_documents": run.kept_documents,
        "kept_tokens": run.kept_tokens, "train_split_tokens": run.train_split_tokens,
        "train_tokens": train_tokens, "epochs": epochs, "repeats_data": epochs > 1,
        "tokenizer": run.tokenizer.get("name"), "vocab_size": run.tokenizer.get("vocab_size"),
        "eval": evals, "mc": mc, "run_dir": str(run.run_dir),
        "models": [_curve(plan, state, texts) for plan, state in models],
    }


def _overlap(a: list[float], b: list[float]) -> bool:
    return max(min(a), min(b)) <= min(max(a), max(b))


def comparisons(configs: list[dict]) -> list[dict]:
    """Every pair of configs on every eval set: the difference and whether seeds can tell."""
    out = []
    for a, b in combinations(configs, 2):
        for name in a["eval"]:
            va, vb = a["eval"][name]["bpb"], b["eval"][name]["bpb"]
            out.append({"eval": name, "metric": "bpb", "a": a["name"], "b": b["name"],
                        "diff": b["eval"][name]["mean"] - a["eval"][name]["mean"],
                        "better": a["name"] if a["eval"][name]["mean"] < b["eval"][name]["mean"] else b["name"],
                        "within_seed_spread": _overlap(va, vb) if len(va) > 1 else None})
        for name in a["mc"]:
            ma, mb = a["mc"][name], b["mc"][name]
            se = math.hypot(ma["stderr"], mb["stderr"])
            out.append({"eval": name, "metric": "acc_norm", "a": a["name"], "b": b["name"],
                        "diff": mb["mean"] - ma["mean"],
                        "better": a["name"] if ma["mean"] > mb["mean"] else b["name"],
                        "within_seed_spread": (_overlap(ma["acc_norm"], mb["acc_norm"])
                                               if len(ma["acc_norm"]) > 1 else None),
                        "within_2_stderr": abs(mb["mean"] - ma["mean"]) <= 2 * se})
    return out


def tokenizer_summary(runs: list[RunInfo]) -> tuple[str, bool]:
    """(the shared tokenizer's name, or "mixed"; whether one tokenizer is shared)."""
    shas = {r.tokenizer.get("sha256") for r in runs}
    names = sorted({str(r.tokenizer.get("name")) for r in runs})
    shared = len(shas) == 1
    return (names[0] if shared else "mixed"), shared


def build(spec: AblationSpec, runs: list[RunInfo], plans: list[ModelPlan], states: list[dict],
          texts: list[TextSet], choices: list[ChoiceSet], carve: dict | None) -> dict:
    """The whole ``ablation.json``."""
    by_config = {r.name: [(p, s) for p, s in zip(plans, states, strict=True) if p.config == r.name]
                 for r in runs}
    configs = [config_entry(r, by_config[r.name], texts, choices) for r in runs]
    tok, shared = tokenizer_summary(runs)
    plan0 = plans[0]
    train = {k: v for k, v in plan0.tcfg.to_dict().items() if k != "seed"}
    return {
        "configs": configs,
        "preset": spec.preset,
        "tokens": spec.tokens,
        "seeds": spec.seeds,
        "tokenizer": tok,
        "tokenizer_shared": shared,
        "compared_on": ("bits per byte and loss per token (one tokenizer)" if shared else
                        "bits per byte only (the configs' tokenizers differ)"),
        "train_tokens": plan0.steps * plan0.tokens_per_step,
        "steps": plan0.steps,
        "tokens_per_step": plan0.tokens_per_step,
        "model": {k: v for k, v in plan0.mcfg.to_dict().items() if k != "vocab_size"},
        "train": train,
        "nproc_per_node": spec.nproc_per_node,
        "evals": {s.name: s.describe() for s in texts},
        "mc_evals": {c.name: c.describe() for c in choices},
        "heldout": ({k: v for k, v in carve.items() if k != "key"} | {"fraction": spec.heldout}
                    if carve else None),
        "inputs": list(spec.inputs),
        "comparisons": comparisons(configs),
        "gristmill": __version__,
    }


def is_ablation_dir(path: str | Path) -> bool:
    """A directory of ``gristmill ablate`` (finished or not)."""
    return (Path(path) / MARKER).is_file() or (Path(path) / ABLATION_FILE).is_file()


def _stat(cfg: dict, c: dict) -> str:
    if c["metric"] == "bpb":
        e = cfg["eval"][c["eval"]]
        return f"{e['mean']:.4f} ± {e['std']:.4f}"
    m = cfg["mc"][c["eval"]]
    return f"{m['mean']:.3f} ± {m['stderr']:.3f}"


def sentences(report: dict) -> list[str]:
    """The findings in plain words: per comparison which config did better and whether the
    seeds can tell; then every config that repeated its data."""
    by_name = {c["name"]: c for c in report["configs"]}
    out = []
    for c in report["comparisons"]:
        a, b = by_name[c["a"]], by_name[c["b"]]
        unit = "bits per byte (lower is better)" if c["metric"] == "bpb" else "acc_norm (higher is better)"
        other = c["b"] if c["better"] == c["a"] else c["a"]
        head = (f"{c['eval']}, {unit}: {c['a']} {_stat(a, c)}, {c['b']} {_stat(b, c)}; "
                f"{c['better']} is better than {other} by {abs(c['diff']):.4f}")
        if c["within_seed_spread"] is None:
            tail = "one seed, so the seed spread is unknown: train more seeds (--seeds) before trusting it"
        elif c["within_seed_spread"]:
            tail = (f"WITHIN the seed spread: with {report['seeds']} seeds the two configs "
                    "cannot be told apart")
        else:
            tail = f"outside the seed spread (the {report['seeds']} seeds' ranges do not overlap)"
        if c.get("within_2_stderr"):
            tail += "; also within 2 standard errors of the accuracies"
        out.append(f"{head}: {tail}.")
    for cfg in report["configs"]:
        if cfg["repeats_data"]:
            out.append(f"{cfg['name']} repeats its data: {cfg['epochs']:.2f} epochs of "
                       f"{cfg['train_split_tokens']:,} kept training tokens. Repetition changes the "
                       "comparison (repeated tokens are worth less than fresh ones).")
    if not report["tokenizer_shared"]:
        out.append("The configs' tokenizers differ: compare bits per byte only, never loss per token.")
    return out
