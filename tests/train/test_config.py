"""Typed config: presets, YAML and CLI overrides, unknown keys and bad values are errors."""

from __future__ import annotations

import argparse

import pytest

from gristmill.train.config import (
    ConfigError,
    add_override_flags,
    build_configs,
    configs_from_args,
)
from gristmill.train.model import PRESETS


def test_presets_and_typed_overrides():
    m, t = build_configs("gpt2-medium", {"lr": "1e-4", "min_lr": 1e-5, "n_layer": "3",
                                         "compile": "true", "dtype": "bf16"})
    assert (m.n_layer, m.n_head, m.n_embd) == (3, 16, 1024)
    assert t.lr == 1e-4 and isinstance(t.lr, float)
    assert t.compile is True and t.dtype == "bf16"
    m, _ = build_configs(None, {})
    assert m.n_embd == PRESETS["tiny"]["n_embd"]  # tiny is the default


@pytest.mark.parametrize("overrides,match", [
    ({"n_layers": 3}, "unknown key 'n_layers'.*n_layer"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"n_layer": 2.5}, "n_layer must be an integer"),
    ({"compile": "maybe"}, "compile must be a boolean"),
    ({"dtype": "fp8"}, "dtype must be one of"),
    ({"n_embd": 100, "n_head": 3}, "divisible"),
    ({"min_lr": 1.0, "lr": 0.1}, "min_lr <= lr"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
])
def test_bad_overrides_are_errors_that_name_the_key(overrides, match):
    with pytest.raises(ConfigError, match=match):
        build_configs("tiny", overrides)


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ConfigError, match="gpt2-small"):
        build_configs("gpt5", {})


def _parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    p.add_argument("--preset")
    add_override_flags(p)
    return p.parse_args(argv)


def test_yaml_then_flags_override_the_preset(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("preset: gpt2-small\nn_layer: 4\nlr: 0.001\nbatch_size: 2\n")
    m, t = configs_from_args(_parse(["--config", str(cfg), "--lr", "0.002", "--no-bias",
                                     "--max-steps", "7"]))
    assert (m.n_layer, m.n_embd, m.bias) == (4, 768, False)
    assert (t.lr, t.batch_size, t.max_steps) == (0.002, 2, 7)


def test_yaml_unknown_key_names_the_file(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: unknown key 'learning_rate'"):
        configs_from_args(_parse(["--config", str(cfg)]))


def test_cli_flags_are_typed():
    with pytest.raises(SystemExit):
        _parse(["--n-layer", "two"])


def test_every_flag_has_its_field_comment_as_help():
    p = argparse.ArgumentParser()
    add_override_flags(p)
    helps = {a.dest: a.help for a in p._actions if a.dest.startswith("cfg_")}
    assert "steps between `last` checkpoints" in helps["cfg_ckpt_every"]
    assert all(not h.startswith("default") for h in helps.values()), helps
