"""Honest throughput: achieved FLOP/s everywhere, MFU only against the peak of the actual GPU.

MFU is reported only against the peak of the device that ran. The peak comes from a table of
dense (no 2:4 sparsity) tensor-core figures from NVIDIA's datasheets, looked up by the CUDA device
name and the training dtype. An unknown GPU, or a CPU, gets no MFU (``None``), only GFLOP/s.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import torch

# (substring of torch.cuda.get_device_name(), dense bf16/fp16 TFLOP/s, dense tf32 TFLOP/s).
# The first match wins, so more specific names come first.
PEAK_TFLOPS: list[tuple[str, float, float]] = [
    ("GB200", 2500.0, 1250.0),
    ("B200", 2250.0, 1100.0),
    ("GH200", 989.0, 494.0),
    ("H200", 989.0, 494.0),
    ("H100 PCIe", 756.0, 378.0),
    ("H100", 989.0, 494.0),  # SXM / HBM3
    ("H800", 989.0, 494.0),
    ("A100", 312.0, 156.0),
    ("A800", 312.0, 156.0),
    ("L40S", 362.0, 183.0),
    ("L40", 181.0, 90.5),
    ("L4", 121.0, 60.0),
    ("A10G", 70.0, 35.0),
    ("A10", 125.0, 62.5),
    ("RTX 4090", 165.0, 82.6),
    ("RTX 3090", 71.0, 35.6),
    ("V100", 125.0, 15.7),  # fp16 only (no bf16); tf32 column is plain fp32
    ("T4", 65.0, 8.1),
]


def peak_flops(device: torch.device, dtype: str) -> float | None:
    """Peak FLOP/s of ``device`` for training in ``dtype`` (fp32 counts as TF32), or None."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, half, tf32 in PEAK_TFLOPS:
        if key in name:
            return (half if dtype in ("bf16", "fp16") else tf32) * 1e12
    return None


def resolve_dtype(requested: str, device: torch.device, compile: bool = False) -> str:
    """``auto`` -> bf16 where it is faster: CUDA with bf16 support; on CPU only compiled and with
    native bf16 (AVX512-BF16/AMX). Measured by benchmarks/train.py on an AVX512-BF16 CPU: eager
    bf16 autocast is slower than fp32 (the casts cost more than the matmuls save at this size),
    compiled bf16 is faster (the casts are fused away)."""
    if requested != "auto":
        if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError("this GPU has no bf16; use --dtype fp16 (with a GradScaler) or fp32")
        return requested
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if compile and cpu_has_native_bf16() else "fp32"


def cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class Throughput:
    """Tokens per second over the steps since the last report, not counting the time spent in
    ``paused()`` blocks (evaluation, metrics and checkpoint writes are not training speed)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new interval now (after each report)."""
        self.started, self.steps, self.paused_s = time.perf_counter(), 0, 0.0

    def step_done(self) -> None:
        self.steps += 1

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.paused_s += time.perf_counter() - t0

    def tokens_per_s(self, tokens_per_step: int) -> float:
        elapsed = max(time.perf_counter() - self.started - self.paused_s, 1e-9)
        return tokens_per_step * self.steps / elapsed
