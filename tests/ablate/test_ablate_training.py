"""Proxy-model training (``gristmill.ablate.training``): equal token budgets, segments that
train exactly the model one uninterrupted run trains, and model directories that are reused,
retrained or refused for the right reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from gristmill.ablate.evalsets import ChoiceItem, ChoiceSet, TextSet
from gristmill.ablate.spec import AblationSpec, ConfigEntry
from gristmill.ablate.training import ModelPlan, budget, eval_steps, train_and_score
from gristmill.config import PipelineConfig
from gristmill.errors import UserError
from gristmill.train.config import build_configs

SMALL = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=4, warmup_steps=2,
             lr=3e-3, min_lr=3e-4, progress=False, dtype="fp32", log_every=1)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on a shared machine: one thread is fastest
    yield
    torch.set_num_threads(before)


def _scenes(demo_dir: Path, n: int) -> list[dict]:
    rows = []
    with open(demo_dir / "corpus" / "literature.jsonl", encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


@pytest.fixture(scope="module")
def shards(demo_dir, tmp_path_factory) -> Path:
    """30 demo scenes in shards of a 512-token BPE trained on them (20% validation)."""
    from gristmill.tokenize import load_tokenizer, write_shards
    from gristmill.tokenize.train_bpe import train_bpe

    d = tmp_path_factory.mktemp("abl_shards")
    rows = _scenes(demo_dir, 30)
    pq.write_table(pa.table({"text": [r["text"] for r in rows]}), d / "kept.parquet")
    train_bpe([str(d / "kept.parquet")], 512, d / "tok" / "tokenizer.json")
    tok = load_tokenizer(str(d / "tok" / "tokenizer.json"))
    write_shards([(r["id"], tok.encode(r["text"])) for r in rows], d / "shards", tok,
                 val_fraction=0.2)
    return d / "shards"


@pytest.fixture(scope="module")
def evals(demo_dir) -> tuple[list[TextSet], list[ChoiceSet]]:
    texts = [r["text"][:3000] for r in _scenes(demo_dir, 40)[32:36]]
    items = [ChoiceItem("To be, or not", ["to be", "xqz"], 0), ChoiceItem("My lord", ["!", "."], 1)]
    return [TextSet("scenes", "-", texts, sum(len(t.encode()) for t in texts), "t1")], \
        [ChoiceSet("mc", "-", items, "c1")]


def _plan(shards: Path, out: Path, steps: int, points: int, seed: int = 0) -> ModelPlan:
    every = eval_steps(steps, points)[0]
    m, t = build_configs("tiny", {**SMALL, "max_steps": steps, "seed": seed,
                                  "ckpt_every": every, "eval_every": every})
    return ModelPlan("cfg", seed, out, shards, m, t, 4 * 32, eval_steps(steps, points))


def _key(plan: ModelPlan) -> dict:
    return {"config": plan.config, "train": plan.tcfg.seed, "model": plan.mcfg.to_dict()}


def test_equal_budgets_and_evaluation_points():
    spec = AblationSpec(inputs=[], configs=[ConfigEntry("a", "a", PipelineConfig())], output="-",
                        tokens=100_000, overrides={"batch_size": 8, "grad_accum": 2},
                        nproc_per_node=4)
    steps, per_step = budget(spec)  # tiny: block 256
    assert per_step == 8 * 2 * 4 * 256 and steps == round(100_000 / per_step) == 6
    assert eval_steps(293, 4) == [74, 148, 222, 293]
    assert eval_steps(5, 4) == [2, 4, 5] and eval_steps(1, 4) == [1]


def test_segments_train_the_same_model_as_one_uninterrupted_run(shards, evals, tmp_path):
    texts, choices = evals
    one = _plan(shards, tmp_path / "one", 12, 1)
    seg = _plan(shards, tmp_path / "seg", 12, 4)
    a = train_and_score(one, _key(one), texts, choices)
    b = train_and_score(seg, _key(seg), texts, choices)
    assert [p["step"] for p in a["points"]] == [12]
    assert [p["step"] for p in b["points"]] == [3, 6, 9, 12]
    fa, fb = a["points"][-1], b["points"][-1]
    assert fb["bpb"]["scenes"]["bpb"] == pytest.approx(fa["bpb"]["scenes"]["bpb"], rel=1e-6)
    assert fb["mc"]["mc"]["acc_norm"] == fa["mc"]["mc"]["acc_norm"]
    assert "mc" not in b["points"][0]["mc"]  # multiple choice only at the end
    wa = torch.load(one.dir / "ckpt" / "last.pt", weights_only=True)["model"]
    wb = torch.load(seg.dir / "ckpt" / "last.pt", weights_only=True)["model"]
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])
    # the bpb falls as the model trains
    curve = [p["bpb"]["scenes"]["bpb"] for p in b["points"]]
    assert curve[-1] < curve[0]


def test_model_directories_are_reused_retrained_or_refused(shards, evals, tmp_path):
    texts, choices = evals
    plan = _plan(shards, tmp_path / "m", 4, 2)
    first = train_and_score(plan, _key(plan), texts, choices)
    stamp = (plan.dir / "ckpt" / "last.pt").stat().st_mtime_ns
    assert train_and_score(plan, _key(plan), texts, choices) == first  # nothing to do
    assert (plan.dir / "ckpt" / "last.pt").stat().st_mtime_ns == stamp
    # a new eval set is scored on the final weights without training again
    extra = TextSet("more", "-", texts[0].texts[:1], 10, "t2")
    state = train_and_score(plan, _key(plan), [*texts, extra], choices)
    assert "more" in state["points"][-1]["bpb"] and "more" not in state["points"][0]["bpb"]
    assert (plan.dir / "ckpt" / "last.pt").stat().st_mtime_ns == stamp
    # another seed is another model: this directory is trained again from scratch
    other = _plan(shards, plan.dir, 4, 2, seed=1)
    assert train_and_score(other, _key(other), texts, choices)["points"] != first["points"]
    # a directory that is not one of the ablation's models is never touched
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a model of this ablation"):
        train_and_score(_plan(shards, foreign, 4, 2), {"x": 1}, texts, choices)
    assert (foreign / "notes.txt").read_text() == "mine"
