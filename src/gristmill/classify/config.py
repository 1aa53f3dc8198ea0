"""fastText training settings, apart from the trainer so that declaring the
``classifier train`` flags (their defaults come from here) imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass

# The transfer recipe's rules for choosing a trial (search.choose).
SELECT_RULES = ("valid", "cv", "cv-1se")


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


@dataclass
class GroupConfig:
    """``--group-by``: whole groups held out (``classify.groupsplit``). Kept apart from
    ``ClassifierConfig``, whose fields make the built-in models' recipe hash."""

    field: str
    valid_groups: tuple[str, ...] = ()  # empty: drawn at random (seeded by split_seed)
    test_groups: tuple[str, ...] = ()


@dataclass
class RecipeConfig:
    """How hyper-parameters and cleaning are chosen (``classify.search``).

    ``plain``: ``ClassifierConfig``'s parameters as given (autotune when asked), cleaning
    ``clean`` (none when None). ``transfer``: a search on the validation split (out of group
    with ``--group-by``) over ``search.SPACE``, with and without every cleaning option unless
    ``clean`` fixes it."""

    recipe: str = "plain"  # plain | transfer
    clean: tuple[str, ...] | None = None
    search_trials: int = 16
    search_budget_s: float = 120.0
    # prediction cost, as a multiple of the defaults' (search.search); 1.25: what the < 10%
    # classifier budget of the recommended pipeline leaves a model (search's docstring)
    max_cost: float | None = 1.25
    # how the search chooses its trial (search.choose): one of SELECT_RULES; cv also scores
    # each trial on up to ``folds`` blocks of whole training groups
    select: str = "valid"
    folds: int = 4
