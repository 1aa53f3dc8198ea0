"""``run_ablation``: the whole ablation, step by step, resumable at every step.

1. Take the output directory (it must be new, empty, or an ablation directory; one writer).
2. Carve the held-out slice out of the raw input (when there is one) and read the eval sets.
3. Run every config's pipeline (reused while unchanged) and check the tokenizers.
4. Train and score the proxy models, seed by seed (every config's seed 0 first, so an
   interrupted ablation already holds one comparable model per config).
5. Write ``ablation.json``.

Each step skips what an earlier, interrupted or shorter ablation in the same directory already
did (``heldout``, ``runs`` and ``training`` say how each recognises its own work).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from gristmill import __version__
from gristmill.ablate import heldout, results, runs, training
from gristmill.ablate.evalsets import ChoiceSet, TextSet, load_choices, load_texts
from gristmill.ablate.spec import HELDOUT, AblationSpec, check, eval_name
from gristmill.errors import UserError
from gristmill.pipelines import rundir

log = logging.getLogger("gristmill.ablate")
MARKER = results.MARKER


def take_output(spec: AblationSpec) -> Path:
    """The ablation directory: refused where a run would be (``rundir``'s rules), and when it
    exists without the marker and is not empty (gristmill did not make it)."""
    out = Path(spec.output)
    rundir.check_output_location(spec.output, [*spec.inputs, *spec.evals, *spec.mc_evals])
    if out.exists() and not out.is_dir():
        raise rundir.UnsafeOutput(f"--output {out} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise rundir.UnsafeOutput(f"--output {out} is not empty and has no {MARKER} marker, so it "
                                  "is not an ablation gristmill made; give a new directory")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"gristmill": __version__}) + "\n")
    return out


def prepare_device(device: str) -> None:
    """``cpu`` hides the GPUs from this process (before torch touches CUDA) and from the
    workers torchrun starts; ``cuda`` must find one."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    elif device == "cuda":
        from gristmill.train.score import cuda_available

        if not cuda_available():
            raise UserError("--device cuda: torch sees no CUDA device (is this torch a CUDA build? "
                            "see the README's GPU note)")


def eval_sets(spec: AblationSpec, out: Path) -> tuple[list[TextSet], list[ChoiceSet]]:
    """The text sets (the user's reference texts first: the first one is the report's curve)
    and the multiple-choice sets."""
    texts = [load_texts(eval_name(f), f, spec.eval_bytes) for f in spec.evals]
    if spec.heldout > 0:
        texts.append(load_texts(HELDOUT, str(out / heldout.HELDOUT_FILE), spec.eval_bytes))
    choices = [load_choices(eval_name(f), f) for f in spec.mc_evals]
    for s in texts:
        log.info("eval %s: %d documents, %s bytes (%s)", s.name, len(s.texts), f"{s.bytes:,}", s.path)
    return texts, choices


def run_configs(spec: AblationSpec, out: Path, carve: dict | None) -> list[runs.RunInfo]:
    if carve is not None:
        inputs, key = [str(out / heldout.INPUT_DIR)], {"carve_sha256": carve["input_sha256"]}
    else:
        inputs, key = list(spec.inputs), {"files": heldout.input_fingerprint(spec.inputs)}
    infos = []
    for entry in spec.configs:
        cfg = runs.config_as_run(entry, carve is not None, spec.tokenizer)
        info = runs.run_config(entry, cfg, inputs, out / "runs", key, spec.workers)
        if info.train_split_tokens == 0:
            raise UserError(f"config {entry.name} kept no training tokens ({info.kept_documents} "
                            f"documents kept): nothing to train a model on")
        infos.append(info)
    name, shared = results.tokenizer_summary(infos)
    if shared:
        log.info("every config uses the tokenizer %s: models compare on bits per byte and loss", name)
    else:
        log.warning("the configs use different tokenizers (%s): models compare on bits per byte "
                    "only", ", ".join(f"{r.name}: {r.tokenizer.get('name')}" for r in infos))
    return infos


def run_ablation(spec: AblationSpec) -> dict:
    """Run (or finish) the ablation ``spec`` describes; returns ``ablation.json``'s content."""
    check(spec)
    out = take_output(spec)
    with rundir.output_lock(str(out)):
        prepare_device(spec.device)
        # Results of an earlier ablation here no longer describe what the directory holds.
        (out / results.ABLATION_FILE).unlink(missing_ok=True)
        carve = None
        if spec.heldout > 0:
            carve = heldout.carve(spec.inputs, spec.configs[0].config.input, spec.heldout, out)
        texts, choices = eval_sets(spec, out)
        infos = run_configs(spec, out, carve)
        plans = training.plan_models(spec, infos, out / "models")
        steps, per_step = plans[0].steps, plans[0].tokens_per_step
        log.info("%d model(s): %d steps of %s tokens = %s training tokens each; evaluated at "
                 "steps %s", len(plans), steps, f"{per_step:,}", f"{steps * per_step:,}",
                 ", ".join(map(str, plans[0].points)))
        by_run = {i.name: i for i in infos}
        states: dict[int, dict] = {}
        order = sorted(range(len(plans)), key=lambda k: (plans[k].seed, k))
        for k in order:
            plan = plans[k]
            key = plan.key(by_run[plan.config], spec.nproc_per_node)
            states[k] = training.train_and_score(plan, key, texts, choices, spec.nproc_per_node,
                                                 "cpu" if spec.device == "cpu" else None)
        report = results.build(spec, infos, plans, [states[k] for k in range(len(plans))],
                               texts, choices, carve)
        tmp = out / f".{results.ABLATION_FILE}.tmp"
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        os.replace(tmp, out / results.ABLATION_FILE)
    return report
