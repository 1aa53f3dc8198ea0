"""The GPT itself: attention masking, shapes and counts of the presets, init, KV-cache generation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gristmill.train.model import GPT, PRESETS, CausalSelfAttention, GPTConfig


def test_sdpa_is_causal_equals_explicit_upper_triangular_mask():
    torch.manual_seed(0)
    cfg = GPTConfig(block_size=16, vocab_size=50, n_layer=1, n_head=4, n_embd=32)
    attn = CausalSelfAttention(cfg).eval()
    x = torch.randn(3, 16, 32)
    got = attn(x)

    # The textbook computation: scores, -inf above the diagonal, softmax, mix values.
    B, T, C = x.shape
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, 4, C // 4).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(C // 4)
    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    y = F.softmax(scores + mask, dim=-1) @ v
    want = attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    # And the mask matters: position 0's output must not depend on later tokens.
    x2 = x.clone()
    x2[:, 1:] = torch.randn_like(x2[:, 1:])
    torch.testing.assert_close(attn(x2)[:, 0], got[:, 0])


def _gpt2_expected_params(V: int, T: int, d: int, L: int) -> int:
    # wte + wpe + per layer (ln_1, c_attn, c_proj, ln_2, c_fc, mlp.c_proj) + ln_f; head is tied.
    per_layer = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (4 * d * d + 4 * d) + (4 * d * d + d)
    return V * d + T * d + L * per_layer + 2 * d


def test_gpt2_small_parameter_count_and_decay_groups():
    with torch.device("meta"):
        model = GPT(GPTConfig(**PRESETS["gpt2-small"]))
    assert model.num_params() == 124_439_808  # GPT-2 small as published by OpenAI / HF
    groups = model.param_groups(0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)] for p in groups[0]["params"]}
    no_decay = {names[id(p)] for p in groups[1]["params"]}
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    layer_mats = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"]
    layer_vecs = ["ln_1.weight", "ln_1.bias", "attn.c_attn.bias", "attn.c_proj.bias",
                  "ln_2.weight", "ln_2.bias", "mlp.c_fc.bias", "mlp.c_proj.bias"]
    assert decay == {"transformer.wte.weight", "transformer.wpe.weight"} | {
        f"transformer.h.{i}.{n}" for i in range(12) for n in layer_mats}
    assert no_decay == {"transformer.ln_f.weight", "transformer.ln_f.bias"} | {
        f"transformer.h.{i}.{n}" for i in range(12) for n in layer_vecs}
    # Every parameter is in exactly one group, the tied head counted once (as wte).
    assert sum(p.numel() for g in groups for p in g["params"]) == 124_439_808
    assert model.lm_head.weight is model.transformer.wte.weight


@pytest.mark.parametrize("preset", ["gpt2-medium", "gpt2-large", "gpt2-xl"])
def test_larger_gpt2_presets_have_the_published_sizes(preset):
    published = {"gpt2-medium": 354_823_168, "gpt2-large": 774_030_080, "gpt2-xl": 1_557_611_200}
    with torch.device("meta"):
        model = GPT(GPTConfig(**PRESETS[preset]))
    c = model.config
    assert model.num_params() == _gpt2_expected_params(50257, 1024, c.n_embd, c.n_layer)
    assert model.num_params() == published[preset]


def test_vocab_padding_is_optional_and_only_adds_rows():
    cfg = GPTConfig(**PRESETS["gpt2-small"], pad_vocab_multiple=64)
    assert cfg.padded_vocab_size == 50304 and cfg.vocab_size == 50257
    with torch.device("meta"):
        model = GPT(cfg)
    assert model.num_params() == 124_439_808 + (50304 - 50257) * 768


def test_config_asserts_its_invariants():
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=100, n_head=3)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(dropout=1.5)


def test_residual_projections_get_scaled_init():
    torch.manual_seed(0)
    cfg = GPTConfig(block_size=8, vocab_size=64, n_layer=8, n_head=4, n_embd=256)
    model = GPT(cfg)
    scaled = 0.02 / math.sqrt(2 * cfg.n_layer)
    for block in model.transformer.h:
        assert block.attn.c_proj.weight.std().item() == pytest.approx(scaled, rel=0.05)
        assert block.mlp.c_proj.weight.std().item() == pytest.approx(scaled, rel=0.05)
        assert block.mlp.c_fc.weight.std().item() == pytest.approx(0.02, rel=0.05)
        assert torch.count_nonzero(block.attn.c_attn.bias) == 0


def test_flops_per_token_is_6n_plus_causal_attention():
    cfg = GPTConfig(block_size=1024, **PRESETS["gpt2-small"])
    with torch.device("meta"):
        model = GPT(cfg)
    n = 124_439_808 - 1024 * 768  # wpe is a lookup, not a matmul
    assert model.flops_per_token() == 6 * n + 6 * 12 * 768 * 1024


def _small_model(block_size=12) -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=block_size, vocab_size=97, pad_vocab_multiple=8, n_layer=2,
                          n_head=2, n_embd=16)).eval()
    # Sharpen the output so greedy decoding is not a tie-break lottery.
    with torch.no_grad():
        model.transformer.wte.weight.mul_(8)
    return model


def test_kv_cache_logits_equal_full_forward():
    model = _small_model()
    idx = torch.randint(0, 97, (2, 10))
    full, _ = model(idx)
    from gristmill.train.model import KVCache

    cache = KVCache(model.config, 2, torch.device("cpu"), torch.float32)
    a, _ = model(idx[:, :4], cache=cache)  # prefill
    b, _ = model(idx[:, 4:7], cache=cache)  # a chunk after a prefix (explicit mask path)
    c = [model(idx[:, t : t + 1], cache=cache)[0] for t in range(7, 10)]  # one token at a time
    torch.testing.assert_close(torch.cat([a, b, *c], dim=1), full, rtol=1e-4, atol=1e-5)
    assert cache.pos == 10


@pytest.mark.parametrize("temperature,top_k", [(0.0, None), (1.0, 5)])
def test_kv_cache_generation_equals_no_cache(temperature, top_k):
    model = _small_model(block_size=12)
    prompt = torch.randint(0, 97, (2, 5))
    # 20 new tokens > block_size: also covers the cache being rebuilt on the sliding window.
    outs = []
    for use_cache in (True, False):
        gen = torch.Generator().manual_seed(7)
        outs.append(model.generate(prompt, 20, temperature=temperature, top_k=top_k,
                                   use_cache=use_cache, generator=gen))
    assert outs[0].shape == (2, 25)
    assert torch.equal(outs[0], outs[1])
    assert outs[0].max() < 97  # padded vocabulary rows are never sampled


def test_top_k_restricts_sampling_to_the_k_likeliest():
    model = _small_model()
    prompt = torch.randint(0, 97, (1, 3))
    logits, _ = model(prompt)
    top3 = set(torch.topk(logits[0, -1, :97], 3).indices.tolist())
    gen = torch.Generator().manual_seed(0)
    seen = {int(model.generate(prompt, 1, temperature=5.0, top_k=3, generator=gen)[0, -1])
            for _ in range(40)}
    assert seen <= top3 and len(seen) > 1
