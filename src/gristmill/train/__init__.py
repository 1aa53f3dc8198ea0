"""gristmill.train: a compact GPT trainer on gristmill token shards (the only area that imports torch).

- ``model``: the whole GPT in one file (attention, blocks, KV-cache generation).
- ``config``: the settings as pydantic models, YAML and flag overrides (unknown keys are errors).
- ``presets``: named model shapes (``--preset``).
- ``data``: context+1 windows sampled without replacement per epoch, strided across DDP ranks.
- ``optim``: AdamW decay groups, warmup + cosine schedule.
- ``trainer``: the run in named steps and the loop (grad accumulation, autocast, DDP, metrics).
- ``preflight``: the checks before training (shards, ``--init-from``, ``--resume``).
- ``distributed``: the process group under torchrun.
- ``run_dir``: config.json, metrics.jsonl and the tokenizer copy in RUN_DIR.
- ``checkpoint``: atomic, weights_only-loadable checkpoints with RNG and data state.
- ``perf``: peak-FLOPs table for MFU; dtype choice; the throughput meter.
- ``sample`` / ``export_hf``: generation from a run; export to a transformers GPT-2 directory.
"""
