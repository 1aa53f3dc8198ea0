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
    for s in [k for k in ("train", "valid", "test", "test_in_group") if k in sp["sizes"]]:
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
    ]
    lines += _groups_section(sp)
    lines += [
        "## Training",
        "",
        "Preprocessing (shared with inference): `gristmill.classify.preprocess.preprocess` "
        "(NFKC, lowercase, words and punctuation as separate tokens, one line)"
        + (f", after the cleaning options {', '.join(f'`{c}`' for c in metrics['clean'])} "
           f"(`preprocess: {metrics['preprocess_name']}`; docs/classifiers.md says what each removes)."
           if metrics.get("clean") else "."),
        "",
        "fastText parameters: " + ", ".join(f"{k}={v}" for k, v in metrics["fasttext_params"].items()),
        "",
        _how_chosen(metrics),
        "",
    ]
    grouped = "test_in_group" in metrics
    if grouped:
        lines += _transfer_section(metrics)
    lines += [
        "## Results on the out-of-group test groups" if grouped else "## Results on the test split",
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
    lines += _prevalence_section(metrics)
    lines += _calibration_section(metrics)
    remove = f"[{pos}]" if pos else "[LABEL]"
    prep = metrics.get("preprocess_name", "gristmill")
    prep_param = "" if prep == "gristmill" else f", preprocess: {prep}"
    lines += [
        "",
        "## Use in a pipeline",
        "",
        "```yaml",
        "filters:",
        "  - name: fasttext",
        f"    params: {{model: {metrics.get('model_path', metrics['model'])}, remove: {remove}, "
        f"threshold: {thr if thr is not None else 0.5:.4f}, tag: {name}{prep_param}}}",
        "```",
        "",
        "Full metrics: the `.metrics.json` file beside the model.",
    ]
    return "\n".join(lines) + "\n"


def _groups_section(sp: dict) -> list[str]:
    if "group_by" not in sp:
        return []
    g = sp["groups"]
    how = "named on the command line" if sp.get("groups_chosen") == "given" else "drawn at random (seeded)"
    return [
        f"Out of group (`--group-by {sp['group_by']}`): whole groups were held out, {how}. "
        f"Training groups: {_names(g['train'])}; validation groups (the threshold, and the "
        f"transfer recipe's choices, are made there): {_names(g['valid'])}; test groups (used for nothing "
        f"else): {_names(g['test'])}. `test_in_group` is a random share of the training groups "
        f"(by near-duplicate group), held out from training. {sp['cross_role_dropped']} held-out "
        f"documents were dropped as near-duplicates of documents in an earlier role (train, then "
        f"validation).",
        "",
    ]


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:12])
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def _folds(s: dict) -> str:
    """How the search's grouped cross-validation scored the trials (empty without it)."""
    folds = s.get("fold_groups") or []
    if not folds:
        return ""
    rule = " (a default trial unless beaten by more than one standard error)" if s.get("select") == "cv-1se" else ""
    return (f" and, averaged with it, {len(folds)} folds of held-out training groups "
            f"({'; '.join(', '.join(f) for f in folds)}){rule}")


def _cv(s: dict) -> str:
    c = s["chosen"]
    return f" (mean over the folds {c['cv_f1']:.3f} ± {c['cv_se']:.3f})" if "cv_f1" in c else ""


def _how_chosen(metrics: dict) -> str:
    cfg = metrics["config"]
    if metrics.get("recipe") == "transfer":
        s = metrics["search"]
        where = "the out-of-group validation groups" if "test_in_group" in metrics else "the validation split"
        repro = ("reproducible (one thread, stopped by its trial count)" if s["stopped_by"] == "trials"
                 and cfg["threads"] == 1 else "not reproducible (stopped by its time budget, or several threads)")
        return (f"Transfer recipe: hyper-parameters and cleaning chosen by {s['trials_run']} trials "
                f"(at most {s['trials_max']}, {s['budget_s']:g} s budget, {s['seconds']:g} s used; "
                f"stopped by {s['stopped_by']}) on {where}{_folds(s)}, by the positive label's F1 at each "
                f"trial's best threshold: chosen F1 {s['chosen']['valid_f1']:.3f}{_cv(s)}, prediction cost "
                f"x{s['chosen']['cost_ratio']:.2f} the defaults' (limit "
                f"{'none' if s.get('max_cost') is None else 'x' + format(s['max_cost'], 'g')}). The search is {repro}; "
                f"every trial is in the metrics JSON (`search.trials`).")
    if cfg["autotune"]:
        return ("Hyperparameters were chosen by fastText autotune on the validation split "
                f"({cfg['autotune_duration']} s budget); autotune depends on machine speed, so it is not "
                "reproducible.")
    return ("Reproducible: one thread and a fixed seed give a byte-identical model." if cfg["threads"] == 1
            else "Trained on several threads: not bit-for-bit reproducible.")


def _transfer_section(metrics: dict) -> list[str]:
    """In-group and out-of-group side by side, at the same threshold, with the drop."""
    tr = metrics["transfer"]
    rows = [("F1", "f1"), ("precision", "precision"), ("recall", "recall"), ("ROC-AUC", "roc_auc"),
            ("PR-AUC", "pr_auc"), ("ECE (calibration error; lower is better)", "ece")]
    f1 = tr["f1"]
    lines = [
        "## In group vs out of group",
        "",
        f"The same model and threshold on held-out documents of the training groups (in group, "
        f"{metrics['split']['sizes']['test_in_group']} documents) and on the test groups it never saw "
        f"(out of group, {metrics['split']['sizes']['test']} documents). Expect the out-of-group "
        f"figures on data from other sources; the in-group ones flatter the model.",
        "",
        "| metric | in group | out of group | drop |",
        "|---|---:|---:|---:|",
    ]
    for label, key in rows:
        r = tr[key]
        lines.append(f"| {label} | {_f(r['in_group'])} | {_f(r['out_of_group'])} | {_f(r['drop'])} |")
    ci = metrics["test"].get("f1_interval_90")
    if ci:
        lines += ["", f"Out-of-group F1 {_f(f1['out_of_group'])}, 90% bootstrap interval {ci[0]:.3f}-{ci[1]:.3f} "
                  f"(resampling the test documents). Another group can differ by more than this: groups "
                  f"differ in topic and in their share of `{metrics['positive']}`, and F1 follows that share."]
    if f1["drop"] is not None and f1["drop"] > 0.1:
        lines += ["", f"**Warning:** F1 drops by {f1['drop']:.3f} out of group: this model does not "
                  f"transfer well beyond the groups it was trained on."]
    return lines + [""]


def _prevalence_section(metrics: dict) -> list[str]:
    """Expected precision and F1 at other shares of positives, from the test set's TPR and FPR
    (``metrics.at_prevalence``): F1 follows the share, so a group with more or fewer positives
    than the test groups scores differently with the same per-class error rates."""
    pv = metrics["test"].get("prevalence")
    if not pv:
        return []
    where = "out-of-group test groups" if "test_in_group" in metrics else "test split"
    lines = ["", "## Expected F1 by share of positives", "",
             f"On the {where} the model flags {pv['tpr']:.1%} of the `{metrics['positive']}` documents (TPR) "
             f"and {pv['fpr']:.1%} of the others (FPR); {pv['share']:.1%} of the documents there are "
             f"`{metrics['positive']}`. Precision and F1 depend on that share. If the per-class rates hold "
             f"on other data, a set with another share gets:", "",
             "| share of positives | precision | recall | F1 |", "|---:|---:|---:|---:|"]
    for row in pv["table"]:
        own = " (test)" if row["share"] == pv["share"] else ""
        lines.append(f"| {row['share']:.1%}{own} | {_f(row['precision'])} | {_f(row['recall'])} | {_f(row['f1'])} |")
    lines += ["", "`gristmill classifier eval --model MODEL --unlabeled NAME=FILE` estimates the share of an "
              "unlabelled file from the share the model flags there, q: share = (q - FPR) / (TPR - FPR), "
              "and reports the expected F1 at it (docs/classifiers.md)."]
    return lines


def _calibration_section(metrics: dict) -> list[str]:
    cal = (metrics["test"].get("calibration") or {})
    if cal.get("ece") is None:
        return []
    what = (f"P({metrics['positive']})" if metrics.get("positive") else "the top label's probability")
    lines = ["", "## Calibration", "",
             f"Expected calibration error of {what} on the "
             f"{'out-of-group test groups' if 'test_in_group' in metrics else 'test split'}: "
             f"{cal['ece']:.3f} ({cal['n_bins']} equal-width probability bins; ECE is the "
             f"document-weighted mean gap between a bin's mean probability and its fraction of "
             f"positives)."]
    if metrics.get("reliability_plot"):
        lines += ["", f"![reliability plot]({metrics['reliability_plot']})"]
    return lines


def write_card(path: Path, metrics: dict, description: str = "") -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_card(metrics, description), encoding="utf-8")
    os.replace(tmp, path)
