"""``gristmill ablate``: does the data a config keeps train a better model?

The method (FineWeb, DCLM and Dolma compare candidate datasets this way): run every pipeline
config on the same input, train one small proxy model per config and seed on the same number
of tokens with the same model and hyper-parameters, and score every model on the same
evaluation data, which no config chose. ``docs/ablations.md`` says what the numbers mean.

Modules, in the order an ablation uses them:

- ``spec``: the ablation's settings (configs, token budget, model, seeds, evals), checked.
- ``heldout``: carve the default eval set out of the raw input before any filtering.
- ``evalsets``: the evaluation data (texts for bits per byte, multiple-choice files).
- ``runs``: one pipeline run (with token shards) per config, reused while unchanged.
- ``training``: the proxy models, trained in segments with evaluations between; resumable.
- ``results``: ``ablation.json`` (the contract), means, spreads and comparisons.
- ``orchestrate``: the whole ablation, step by step (``run_ablation``).
- ``terminal`` and ``page``: the summary in the terminal and the HTML page.

Layout of an ablation directory ``DIR``::

    .gristmill-ablation        marker: gristmill made this directory
    ablation.json              the results (written last)
    carve.json, input/         the raw input minus the held-out slice (when there is one)
    eval/heldout.jsonl         the held-out slice
    runs/NAME/                 the pipeline run of config NAME (kept/, shards/, summary.json)
    models/NAME/seed-K/        a proxy model: the trainer's run directory plus model.json
                               (what it was trained on), evals.json (scores along the way)
"""
