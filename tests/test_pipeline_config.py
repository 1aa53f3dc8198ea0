"""Config validation: unknown keys and wrong types name the key and the file."""

from __future__ import annotations

import pytest

from gristmill.config import ConfigError, load_config, parse_config


def test_unknown_key_names_key_and_file(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("input:\n  txt_field: body\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "input.txt_field: unknown key" in str(e.value) and str(p) in str(e.value)


def test_wrong_type_names_key(tmp_path):
    p = tmp_path / "y.yaml"
    p.write_text("output:\n  num_shards: many\n")
    with pytest.raises(ConfigError, match=r"output.num_shards"):
        load_config(p)


def test_unknown_filter_lists_registered():
    with pytest.raises(ConfigError, match="registered filters: .*word_count"):
        parse_config({"filters": [{"name": "wordcount"}]})


def test_left_out_sections_are_off():
    cfg = parse_config({})
    assert cfg.normalize is None and cfg.filters == [] and cfg.dedup is None and cfg.tokenize is None


def test_digest_is_stable_and_sensitive():
    a = parse_config({"filters": [{"name": "word_count", "params": {"min_words": 3}}]})
    b = parse_config({"filters": [{"name": "word_count", "params": {"min_words": 3}}]})
    c = parse_config({"filters": [{"name": "word_count", "params": {"min_words": 4}}]})
    assert a.digest() == b.digest() != c.digest()


def test_bad_yaml_and_missing_file(tmp_path):
    p = tmp_path / "z.yaml"
    p.write_text("filters: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
