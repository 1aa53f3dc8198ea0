"""``train --init-from HF_DIR``: export-hf then --init-from gives the same logits before any step,
transformers' own GPT-2 files load the same way, and a checkpoint that does not fit the shards or
the settings is refused with one line and exit 2."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from safetensors.torch import load_file

from gristmill.cli import main
from gristmill.train import import_hf
from gristmill.train.model import GPT
from gristmill.train.sample import load_model

ARGS = ["--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "32",
        "--batch-size", "4", "--warmup-steps", "2", "--lr", "0.01", "--min-lr", "0.001",
        "--eval-batches", "2", "--dtype", "fp32", "--no-progress", "--log-every", "1"]
# What --init-from may be given: everything but the model's shape.
TRAIN_ARGS = ARGS[8:]


@pytest.fixture(scope="module")
def exported(demo_shards, tmp_path_factory):
    """A run trained 20 steps by `gristmill train`, then exported by `gristmill export-hf`."""
    root = tmp_path_factory.mktemp("init")
    run, hf = root / "run", root / "hf"
    assert main(["train", "--data", str(demo_shards), "--out", str(run), *ARGS,
                 "--max-steps", "20", "--eval-every", "20"]) == 0
    assert main(["export-hf", "--ckpt", str(run), "--which", "last", "--out", str(hf)]) == 0
    return run, hf


def _batch() -> torch.Tensor:
    return torch.randint(0, 512, (2, 32), generator=torch.Generator().manual_seed(0))


@pytest.fixture
def captured(monkeypatch):
    """Logits of the model the trainer built, right after --init-from loaded it (before step 1)."""
    seen: dict[str, torch.Tensor] = {}
    load = import_hf.load_weights

    def spy(hf, model):
        load(hf, model)
        model.eval()
        with torch.no_grad():
            seen["logits"] = model(_batch())[0]
        model.train()

    monkeypatch.setattr(import_hf, "load_weights", spy)
    return seen


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gristmill: error: "), err
    return lines[0]


def test_export_then_init_from_gives_identical_logits(exported, demo_shards, tmp_path, captured):
    run, hf = exported
    ours, _ = load_model(run, prefer="last")
    with torch.no_grad():
        want = ours(_batch())[0]
    new = tmp_path / "new"
    assert main(["train", "--data", str(demo_shards), "--out", str(new), *TRAIN_ARGS,
                 "--max-steps", "2", "--eval-every", "2", "--init-from", str(hf)]) == 0
    assert torch.equal(captured["logits"], want)  # transposes and copies are exact
    cfg = json.loads((new / "config.json").read_text())
    assert {k: cfg["model"][k] for k in ("n_layer", "n_head", "n_embd", "block_size",
                                         "vocab_size")} == dict(n_layer=2, n_head=2, n_embd=32,
                                                                block_size=32, vocab_size=512)
    assert cfg["init_from"] == str(hf)
    first = [json.loads(line) for line in (new / "metrics.jsonl").open()]
    assert [r["step"] for r in first] == [1, 2]  # optimizer and step start fresh
    # The trained weights carried over: step 1 starts well below a fresh model's ln(512) = 6.24
    # (5.42 here; a fresh model's first loss is 6.24).
    assert first[0]["loss"] < math.log(512) - 0.5


def test_gpt2model_layout_bin_file_padding_and_no_bias_load_the_same(exported, demo_shards,
                                                                     tmp_path):
    """pytorch_model.bin with GPT2Model's key names (no ``transformer.``), an explicit tied
    lm_head and old causal-mask buffers; a padded vocabulary keeps the real rows exact."""
    run, hf = exported
    ours, _ = load_model(run, prefer="last")
    alt = tmp_path / "alt"
    shutil.copytree(hf, alt)
    sd = load_file(str(alt / "model.safetensors"))
    (alt / "model.safetensors").unlink()
    raw = {k.removeprefix("transformer."): t for k, t in sd.items()}
    raw["lm_head.weight"] = sd["transformer.wte.weight"].clone()
    raw["h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 32, 32))
    torch.save(raw, alt / "pytorch_model.bin")
    ckpt = import_hf.read_hf_checkpoint(alt)
    mcfg, _ = import_hf.configs_from_checkpoint(ckpt, None, {"pad_vocab_multiple": 192}, "test")
    model = GPT(mcfg)
    import_hf.load_weights(ckpt, model)
    assert model.config.padded_vocab_size == 576
    with torch.no_grad():
        assert torch.equal(model.eval()(_batch())[0][..., :512], ours(_batch())[0])

    raw["lm_head.weight"] = raw["lm_head.weight"] + 1  # an untied head cannot be represented
    torch.save(raw, alt / "pytorch_model.bin")
    with pytest.raises(import_hf.InitFromError, match="lm_head differs"):
        import_hf.load_weights(ckpt, GPT(mcfg))


@pytest.mark.parametrize("activation", ["gelu", "gelu_new"])
def test_transformers_own_gpt2_files_give_its_logits(tmp_path, caplog, activation):
    """A GPT2LMHeadModel written by transformers' save_pretrained, not by export-hf. OpenAI's
    tanh GELU ("gelu_new") loads with a warning and nearly the same logits."""
    import transformers  # test-only dependency (pyproject [test])
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=512, n_positions=32, n_embd=32, n_layer=2, n_head=2,
                                  activation_function=activation, bos_token_id=0, eos_token_id=0)
    ref = transformers.GPT2LMHeadModel(cfg).eval()
    ref.save_pretrained(tmp_path / "hf")
    with caplog.at_level("WARNING"):
        ckpt = import_hf.read_hf_checkpoint(tmp_path / "hf")
    assert ("tanh GELU" in caplog.text) == (activation == "gelu_new")
    mcfg, _ = import_hf.configs_from_checkpoint(ckpt, None, {}, "test")
    model = GPT(mcfg).eval()
    import_hf.load_weights(ckpt, model)
    tol = 1e-5 if activation == "gelu" else 1e-3
    with torch.no_grad():
        torch.testing.assert_close(model(_batch())[0], ref(_batch()).logits, rtol=tol, atol=tol)


def test_mismatched_vocabulary_is_refused(exported, gpt2_shards, tmp_path, capsys):
    _, hf = exported  # a 512-token BPE model; these shards are GPT-2 BPE (50257 tokens)
    assert main(["train", "--data", str(gpt2_shards), "--out", str(tmp_path / "r"), *TRAIN_ARGS,
                 "--max-steps", "1", "--init-from", str(hf)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "its vocabulary has 512 tokens but the shards were tokenized with 'gpt2' (50257" in line
    assert not (tmp_path / "r").exists()


def test_other_tokenizer_or_eos_with_the_same_vocab_size_is_refused(exported, demo_shards,
                                                                     tmp_path, capsys):
    _, hf = exported
    swapped = tmp_path / "swapped"
    shutil.copytree(hf, swapped)
    tok = json.loads((swapped / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    a, b = sorted(vocab, key=vocab.get)[300:302]
    vocab[a], vocab[b] = vocab[b], vocab[a]  # same size, two ids exchanged
    (swapped / "tokenizer.json").write_text(json.dumps(tok))
    other_eos = tmp_path / "eos"
    shutil.copytree(hf, other_eos)
    cfg = json.loads((other_eos / "config.json").read_text())
    (other_eos / "config.json").write_text(json.dumps({**cfg, "eos_token_id": 7}))
    for d, why in ((swapped, "its tokenizer differs from the shards' tokenizer"),
                   (other_eos, "its EOS id is 7 but the shards' tokenizer")):
        assert main(["train", "--data", str(demo_shards), "--out", str(tmp_path / "r"),
                     *TRAIN_ARGS, "--max-steps", "1", "--init-from", str(d)]) == 2
        assert why in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("extra, why", [
    (["--n-layer", "3"], "n_layer 3 contradict the model of --init-from"),
    (["--preset", "gpt2-small"], "preset 'gpt2-small' contradict"),
    (["--resume"], "--init-from starts a new run"),
])
def test_contradicting_settings_and_resume_are_refused(exported, demo_shards, tmp_path, capsys,
                                                       extra, why):
    _, hf = exported
    assert main(["train", "--data", str(demo_shards), "--out", str(tmp_path / "r"), *TRAIN_ARGS,
                 "--max-steps", "1", "--init-from", str(hf), *extra]) == 2
    assert why in _one_error_line(capsys.readouterr().err)


def test_not_a_gpt2_directory_is_one_line(demo_shards, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / "config.json").write_text('{"model_type": "llama"}')
    for d, why in (("empty", "no config.json"), ("llama", "model_type 'llama'")):
        assert main(["train", "--data", str(demo_shards), "--out", str(tmp_path / "r"),
                     *TRAIN_ARGS, "--init-from", str(tmp_path / d)]) == 2
        assert why in _one_error_line(capsys.readouterr().err)
