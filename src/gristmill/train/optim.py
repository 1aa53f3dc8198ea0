"""AdamW with GPT-2-style decay groups, and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math

import torch

from gristmill.train.config import TrainConfig
from gristmill.train.model import GPT


def make_optimizer(model: GPT, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW over ``model.param_groups``; the fused CUDA kernel when training on a GPU.

    The fused kernel updates every parameter in one launch instead of a few per tensor, which is
    a measurable share of a small model's step time on a GPU.
    """
    fused = device.type == "cuda"
    return torch.optim.AdamW(
        model.param_groups(cfg.weight_decay),
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
        eps=1e-8,
        fused=fused,
    )


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based).

    Linear warmup over ``warmup_steps`` (step 0 already gets ``lr / warmup_steps``, never 0, so
    the first update is not wasted), then cosine from ``lr`` down to ``min_lr`` at the last step.
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    decay_steps = max(1, cfg.max_steps - 1 - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / decay_steps)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)
