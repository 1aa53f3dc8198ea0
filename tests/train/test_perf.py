"""MFU against the actual GPU's peak (table lookup), and no MFU at all on CPU or unknown GPUs."""

from __future__ import annotations

import pytest
import torch

from gristmill.train import perf


@pytest.mark.parametrize("name,dtype,tflops", [
    ("NVIDIA H200", "bf16", 989), ("NVIDIA H100 80GB HBM3", "bf16", 989),
    ("NVIDIA H100 PCIe", "bf16", 756), ("NVIDIA A100-SXM4-80GB", "bf16", 312),
    ("NVIDIA A100-SXM4-80GB", "fp32", 156), ("NVIDIA L4", "fp16", 121),
    ("NVIDIA A10G", "bf16", 70), ("NVIDIA GH200 480GB", "bf16", 989),
])
def test_peak_flops_by_device_name(monkeypatch, name, dtype, tflops):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    assert perf.peak_flops(torch.device("cuda", 0), dtype) == tflops * 1e12


def test_no_peak_for_cpu_or_unknown_gpu(monkeypatch):
    assert perf.peak_flops(torch.device("cpu"), "bf16") is None
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Mystery GPU 9000")
    assert perf.peak_flops(torch.device("cuda", 0), "bf16") is None


def test_auto_dtype_on_cpu_is_bf16_only_when_compiled_and_explicit_choices_are_kept(monkeypatch):
    cpu = torch.device("cpu")
    assert perf.resolve_dtype("auto", cpu) == "fp32"  # eager bf16 is slower (benchmarks/train.py)
    monkeypatch.setattr(perf, "cpu_has_native_bf16", lambda: True)
    assert perf.resolve_dtype("auto", cpu, compile=True) == "bf16"
    monkeypatch.setattr(perf, "cpu_has_native_bf16", lambda: False)
    assert perf.resolve_dtype("auto", cpu, compile=True) == "fp32"
    for d in ("fp32", "bf16", "fp16"):
        assert perf.resolve_dtype(d, torch.device("cpu")) == d
