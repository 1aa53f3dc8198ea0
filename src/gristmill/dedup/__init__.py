"""Exact and near-duplicate detection: the plain-Python core.

The Beam edges live in :mod:`gristmill.pipelines.dedup`; everything here is ordinary Python
(normalization, shingles, MinHash signatures, LSH band parameters, exact Jaccard, union-find) so
it can be tested and benchmarked without a runner.
"""
