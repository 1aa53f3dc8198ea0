"""gristmill: turn raw text into a trained language model.

Two halves meet in one file format: the corpus pipeline (Apache Beam) writes Parquet
documents and Arrow token shards; the trainer (PyTorch) reads the shards by memory map.
"""

__version__ = "0.1.0"
