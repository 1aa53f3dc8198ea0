"""Typed config: presets, YAML and CLI overrides, unknown keys and bad values are errors."""

from __future__ import annotations

import argparse

import pytest

from gristmill.cli.train import add_override_flags, configs_from_args
from gristmill.train.config import ConfigError, GPTConfig, TrainConfig, build_configs
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
    ({"n_head": 0}, "n_head must be >= 1, got 0"),
    ({"lr": True}, "lr must be a number, got True"),
    ({"eval_every": -1}, "eval_every must be >= 0"),
])
def test_bad_overrides_are_errors_that_name_the_key(overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        build_configs("tiny", overrides)
    assert "\n" not in str(e.value) and str(e.value).startswith("overrides: ")


def test_the_models_refuse_unknown_keys_and_bad_values_directly():
    with pytest.raises(ConfigError, match="^unknown key 'n_layers'$"):
        GPTConfig(n_layers=3)
    with pytest.raises(ValueError, match="^warmup_steps must be an integer, got 'soon'$"):
        TrainConfig(warmup_steps="soon")


def test_to_dict_is_what_checkpoints_and_config_json_hold():
    m, t = build_configs("tiny", {"lr": 1, "min_lr": 1})
    assert list(m.to_dict()) == ["block_size", "vocab_size", "pad_vocab_multiple", "n_layer",
                                 "n_head", "n_embd", "dropout", "bias"]
    assert t.to_dict()["lr"] == 1.0 and isinstance(t.to_dict()["lr"], float)
    # A checkpoint's stored dicts rebuild the same configs (resume and `sample` do this).
    assert GPTConfig(**m.to_dict()) == m and TrainConfig(**t.to_dict()) == t


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


def test_every_flag_has_its_field_description_as_help():
    p = argparse.ArgumentParser()
    add_override_flags(p)
    helps = {a.dest: a.help for a in p._actions if a.dest.startswith("cfg_")}
    assert helps["cfg_ckpt_every"] == ("steps between `last` checkpoints (and at the end); 0: "
                                       "only at the end (default 200)")
    assert set(helps) == {f"cfg_{k}" for k in [*GPTConfig.model_fields, *TrainConfig.model_fields]}
    assert all(not h.startswith("default") for h in helps.values()), helps


def test_flags_keep_their_names_types_and_defaults():
    """The flags as they were before the config moved to pydantic (--help lists the same)."""
    p = argparse.ArgumentParser()
    add_override_flags(p)
    flags = {a.option_strings[0]: a for a in p._actions if a.dest.startswith("cfg_")}
    assert flags["--n-layer"].type is int and flags["--n-layer"].metavar == "INT"
    assert flags["--lr"].type is float and flags["--lr"].metavar == "FLOAT"
    assert flags["--dtype"].choices == ("auto", "fp32", "bf16", "fp16")
    assert flags["--bias"].option_strings == ["--bias", "--no-bias"]
    assert all(a.default is None for a in flags.values())  # not given: the preset decides
    assert "(default 0.0006)" in flags["--lr"].help and "(default 'auto')" in flags["--dtype"].help
    assert _parse([]).__dict__ == {"config": None, "preset": None,
                                   **{a.dest: None for a in flags.values()}}


def test_train_help_lists_the_settings_in_place_and_they_parse():
    """The settings' flags are added to `gristmill train` when it is used (reading them needs
    pydantic): its help shows them before the logging flags, and they parse with the old names."""
    from gristmill.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices
               and "train" in a.choices)
    train = sub.choices["train"]
    assert "--n-layer" not in train._option_string_actions  # not read for other commands
    text = train.format_help()
    model, training, logging_ = (text.index(s) for s in (
        "model overrides", "training overrides", "logging (any command)"))
    assert model < training < logging_
    assert text.index("--n-layer INT") < text.index("--verbose")
    args = parser.parse_args(["train", "--data", "S", "--out", "R", "--lr", "0.01", "--no-bias"])
    assert (args.input, args.output, args.cfg_lr, args.cfg_bias) == ("S", "R", 0.01, False)
    m, t = configs_from_args(args)
    assert (m.bias, t.lr) == (False, 0.01)
