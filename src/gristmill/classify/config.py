"""fastText training settings, apart from the trainer so that declaring the
``classifier train`` flags (their defaults come from here) imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClassifierConfig:
    """Training settings; defaults suit short texts (jokes, SMS, comments) of a few classes."""

    epoch: int = 10  # small data: several passes
    lr: float = 0.2
    dim: int = 50  # vector size; 50 is plenty for a few labels
    word_ngrams: int = 2  # bigrams: "not funny" differs from "funny"
    minn: int = 0  # character n-grams off (no subwords) unless asked
    maxn: int = 0
    min_count: int = 1
    bucket: int = 200_000  # hashed n-gram rows; fastText's 2M makes 400 MB models
    loss: str = "softmax"
    seed: int = 1
    threads: int = 1  # 1 = reproducible
    autotune: bool = False
    autotune_duration: int = 60  # seconds
    quantize: bool = False
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    dedup_threshold: float = 0.7  # word 3-gram Jaccard that makes two texts one group
    conflicts: str = "majority"  # label conflicts inside a group: majority | drop
