"""Named model shapes (``--preset``): GPT-2's published sizes plus a CPU-sized model.

Plain data, importable without torch or pydantic, so the command line lists the choices without
loading the config models.
"""

from __future__ import annotations

# GPT-2's published shapes (Radford et al. 2019), plus a CPU-sized model for laptops and the demo.
PRESETS: dict[str, dict] = {
    "tiny": dict(block_size=256, n_layer=4, n_head=4, n_embd=128),
    "gpt2-small": dict(n_layer=12, n_head=12, n_embd=768),  # 124M
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),  # 350M
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280),  # 774M
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600),  # 1558M
}
