"""The whole GPT in one file: attention, MLP, block, model, KV-cache generation.

Its shape (``GPTConfig``) is in ``gristmill.train.config`` and the presets in
``gristmill.train.presets``; neither needs torch.

A decoder-only transformer in the GPT-2 layout, so that a trained model exports to
``transformers.GPT2LMHeadModel`` by renaming and transposing weights (see ``export_hf.py``):

- token + learned position embeddings;
- pre-LayerNorm blocks: ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``, and a final ``ln_f``;
- causal self-attention through ``F.scaled_dot_product_attention(is_causal=True)``, which picks a
  fused kernel (FlashAttention on recent GPUs) and is equal to softmax with an upper-triangular
  -inf mask (tested);
- a GELU MLP of width ``4 * n_embd`` (exact erf GELU; exported as ``activation_function="gelu"``);
- an output head tied to the token embedding (GPT-2 does this; it saves ``vocab * n_embd`` params);
- GPT-2's scaled init: residual output projections get std ``0.02 / sqrt(2 * n_layer)`` so the
  residual stream's variance does not grow with depth.

Generation keeps a KV cache so each new token costs one position, not the whole prefix.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# The network's shape lives with the other settings (torch-free, so `--help` needs no torch).
from gristmill.train.config import PRESETS, GPTConfig  # noqa: F401  (re-exported)


class KVCache:
    """Keys and values of every layer for positions ``[0, pos)``, preallocated to ``block_size``."""

    def __init__(self, cfg: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype):
        hd = cfg.n_embd // cfg.n_head
        shape = (cfg.n_layer, batch, cfg.n_head, cfg.block_size, hd)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.pos = 0  # number of positions filled (advanced by GPT.forward after all layers)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.c_proj.residual_scaled_init = True  # type: ignore[attr-defined]
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head_dim)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        mask, causal = None, True
        if cache is not None:
            p = cache.pos
            cache.k[layer, :, :, p : p + T] = k
            cache.v[layer, :, :, p : p + T] = v
            k, v = cache.k[layer, :, :, : p + T], cache.v[layer, :, :, : p + T]
            if p > 0:
                # New queries sit at positions p..p+T-1 and may see every cached key up to their own
                # position. is_causal would align the mask to the top-left, so give it explicitly.
                causal = False
                if T > 1:
                    i = torch.arange(T, device=x.device)[:, None] + p
                    mask = torch.arange(p + T, device=x.device)[None, :] <= i
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal, dropout_p=self.dropout if self.training else 0.0
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.c_proj.residual_scaled_init = True  # type: ignore[attr-defined]
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(cfg.padded_vocab_size, cfg.n_embd),
                wpe=nn.Embedding(cfg.block_size, cfg.n_embd),
                drop=nn.Dropout(cfg.dropout),
                h=nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
                ln_f=nn.LayerNorm(cfg.n_embd, bias=cfg.bias),
            )
        )
        self.lm_head = nn.Linear(cfg.n_embd, cfg.padded_vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied: one matrix, two uses
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        std = 0.02
        if isinstance(module, nn.Linear):
            if getattr(module, "residual_scaled_init", False):
                std = 0.02 / math.sqrt(2 * self.config.n_layer)
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameters counted once (the tied head is the embedding); optionally without wpe/wte."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel() + self.transformer.wte.weight.numel()
        return n

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position (``targets`` given: plus the mean cross-entropy loss).

        With a ``cache``, ``idx`` holds the positions after ``cache.pos`` and the cache advances.
        """
        B, T = idx.shape
        start = cache.pos if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(f"sequence of {start + T} tokens exceeds block_size {self.config.block_size}")
        pos = torch.arange(start, start + T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, cache, i)
        if cache is not None:
            cache.pos += T
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            # Loss in fp32 even under autocast: log-softmax over 50k classes loses bits in bf16.
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def param_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups: decay every matrix (Linear and embedding weights), not biases or norms.

        Biases and LayerNorm gains are 1-D; decaying them toward zero fights the normalization and
        does not regularize anything, so the rule is: ``dim >= 2`` decays.
        """
        decay, no_decay = [], []
        for _, p in self.named_parameters():  # shared (tied) parameters are yielded once
            if p.requires_grad:
                (decay if p.dim() >= 2 else no_decay).append(p)
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def flops_per_token(self) -> float:
        """Training FLOPs per token (forward + backward), the convention MFU is quoted in.

        ``6 * N`` for the matmuls of the N parameters (wpe is a lookup, not a matmul, so it is
        left out; the tied head is a matmul and counted once through wte), plus attention scores
        and mixing: ``2 (QK^T and AV) * 2 (mul+add) * 3 (fwd+bwd) * L * d * T`` halved because the
        causal mask leaves half the matrix unused (the llm.c convention; nanoGPT counts the full
        matrix, which inflates MFU).
        """
        c = self.config
        n = self.num_params() - self.transformer.wpe.weight.numel()
        return 6.0 * n + 6.0 * c.n_layer * c.n_embd * c.block_size

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
        stop_id: int | None = None,
    ) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T).

        ``temperature == 0`` is greedy decoding. The model sees the last ``block_size`` tokens;
        with the cache, once it is full it is rebuilt from that window, so cached and uncached
        generation see exactly the same context (tested to give the same tokens).
        """
        if idx.size(1) == 0:
            raise ValueError("generation needs at least one prompt token")
        cfg = self.config
        cache: KVCache | None = None
        fresh = idx
        for _ in range(max_new_tokens):
            if use_cache:
                if cache is None or cache.pos + fresh.size(1) > cfg.block_size:
                    cache = KVCache(cfg, idx.size(0), idx.device, self.lm_head.weight.dtype)
                    fresh = idx[:, -cfg.block_size :]
                logits, _ = self(fresh, cache=cache)
            else:
                logits, _ = self(idx[:, -cfg.block_size :])
            logits = logits[:, -1, : cfg.vocab_size].float()  # padded rows are never sampled
            if temperature == 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None and top_k < logits.size(-1):
                    kth = torch.topk(logits, top_k).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator)
            idx = torch.cat([idx, nxt], dim=1)
            fresh = nxt
            if stop_id is not None and bool((nxt == stop_id).all()):
                break
        return idx
