"""The model card written beside every trained model: what it is, on what data, how good.

Generated from the metrics JSON so the two can never disagree. No timestamps: the same
training run gives the same card.
"""

from __future__ import annotations

import os
from pathlib import Path


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _metrics_table(m: dict) -> list[str]:
    rows = ["| label | precision | recall | F1 | ROC-AUC | PR-AUC | support |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for lab, v in m["labels"].items():
        rows.append(f"| {lab} | {_f(v['precision'])} | {_f(v['recall'])} | {_f(v['f1'])} | "
                    f"{_f(v['roc_auc'])} | {_f(v['pr_auc'])} | {v['support']} |")
    cm = m["confusion_matrix"]
    rows += ["", "Confusion matrix (rows: true label, columns: predicted):", "",
             "| true \\ predicted | " + " | ".join(cm["labels"]) + " |",
             "|---|" + "---:|" * len(cm["labels"])]
    for lab, row in zip(cm["labels"], cm["matrix"], strict=True):
        rows.append(f"| {lab} | " + " | ".join(str(x) for x in row) + " |")
    return rows


def render_card(metrics: dict, description: str = "") -> str:
    name, pos, thr = metrics["name"], metrics["positive"], metrics["threshold"]
    sp = metrics["split"]
    cfg = metrics["config"]
    lines = [
        f"# Model card: {name}",
        "",
        f"fastText classifier `{metrics['model']}`, trained by `gristmill classifier train`.",
        "",
        "## What the labels mean",
        "",
        description.strip() or "(no description given; pass --description when training)",
        "",
        "## Data",
        "",
        "Files: " + ", ".join(f"`{d}`" for d in metrics["data"]),
        "",
    ]
    if metrics.get("relabel"):
        lines += ["Labels changed as the data was read (`--relabel`): " + "; ".join(
            f"`{r['rule']}` ({r['changed']} examples)" for r in metrics["relabel"]) + ".", ""]
    lines += [
        "| split | documents | " + " | ".join(sorted(sp["labels"]["train"])) + " |",
        "|---|---:|" + "---:|" * len(sp["labels"]["train"]),
    ]
    for s in ("train", "valid", "test"):
        labs = sp["labels"][s]
        lines.append(f"| {s} | {sp['sizes'][s]} | "
                     + " | ".join(str(labs.get(k, 0)) for k in sorted(sp["labels"]["train"])) + " |")
    d = sp["dedup"]
    lines += [
        "",
        f"Splits are leak-free: near-duplicates (word 3-gram Jaccard >= {cfg['dedup_threshold']}, or the "
        f"same preprocessed text) were grouped before splitting, and each group went to one split "
        f"({d['groups']} groups; {d['grouped_docs']} documents share a group with another). "
        f"{d['conflicting_groups']} groups had members with different labels: {d['relabelled']} "
        f"documents took their group's majority label and {d['dropped']} were dropped (label ties), "
        f"policy `{cfg['conflicts']}`.",
        "",
        "## Training",
        "",
        "Preprocessing (shared with inference): `gristmill.classify.preprocess.preprocess` "
        "(NFKC, lowercase, words and punctuation as separate tokens, one line).",
        "",
        "fastText parameters: " + ", ".join(f"{k}={v}" for k, v in metrics["fasttext_params"].items()),
        "",
        ("Hyperparameters were chosen by fastText autotune on the validation split "
         f"({cfg['autotune_duration']} s budget); autotune depends on machine speed, so it is not "
         "reproducible." if cfg["autotune"] else
         "Reproducible: one thread and a fixed seed give a byte-identical model." if cfg["threads"] == 1
         else "Trained on several threads: not bit-for-bit reproducible."),
        "",
        "## Results on the test split",
        "",
    ]
    if pos is not None:
        t = metrics["test"]
        lines += [f"Positive label `{pos}`, decision threshold {thr:.4f} ({metrics['threshold_rule']}): "
                  f"precision {_f(t['precision'])}, recall {_f(t['recall'])}, F1 {_f(t['f1'])}, "
                  f"ROC-AUC {_f(t['roc_auc'])}, PR-AUC {_f(t['pr_auc'])}.", ""]
    lines += _metrics_table(metrics["test"])
    if "quantized" in metrics:
        q = metrics["quantized"]
        lines += ["", f"Quantized copy `{q['model']}` ({q['model_bytes']} bytes vs "
                  f"{metrics['model_bytes']}): test F1 {_f(q['test']['f1'])} at threshold "
                  f"{_f(q['threshold'])}."]
    remove = f"[{pos}]" if pos else "[LABEL]"
    lines += [
        "",
        "## Use in a pipeline",
        "",
        "```yaml",
        "filters:",
        "  - name: fasttext",
        f"    params: {{model: {metrics.get('model_path', metrics['model'])}, remove: {remove}, "
        f"threshold: {thr if thr is not None else 0.5:.4f}, tag: {name}}}",
        "```",
        "",
        "Full metrics: the `.metrics.json` file beside the model.",
    ]
    return "\n".join(lines) + "\n"


def write_card(path: Path, metrics: dict, description: str = "") -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_card(metrics, description), encoding="utf-8")
    os.replace(tmp, path)
