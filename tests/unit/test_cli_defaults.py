"""Stage CLI defaults come from params.yaml (pipeline.cli_defaults): each config value is written once."""

from __future__ import annotations

import importlib
import shlex

from pipeline.cli import build_parser
from pipeline.cli_defaults import config_bindings
from pipeline.config import load_config
from pipeline.stages import STAGES

# CLIs whose flags still carry literal defaults of their own (a literal default wins over params.yaml)
LITERAL_DEFAULTS = {"pipeline.cross_dataset", "pipeline.cross_dataset_eval"}


def _parser(stage):
    module = importlib.import_module(stage.module)
    return build_parser(stage.name, module.__doc__, module.add_arguments)


def test_a_stage_run_by_hand_defaults_to_what_the_pipeline_passes():
    """Every config-bound flag that is not required defaults to the value the pipeline renders for it."""
    cfg = load_config()
    checked = 0
    first = {}  # a CLI's defaults are those of its first stage (dsp_beta_sweep sweeps dsp_train's --beta)
    for stage in STAGES.values():
        first.setdefault(stage.module, stage)
    for stage in first.values():
        inst = next(stage.instances(cfg), None)
        if inst is None or stage.module in LITERAL_DEFAULTS:
            continue
        parser = _parser(stage)
        passed = vars(parser.parse_args(shlex.split(inst.command(cfg))[3:]))
        actions = {f: a for a in parser._actions for f in a.option_strings}
        for flag in config_bindings(stage.name):
            action = actions[flag]
            if not action.required:
                assert action.default == passed[action.dest], (stage.name, flag)
                assert type(action.default) is type(passed[action.dest]), (stage.name, flag)
                checked += 1
    assert checked > 150


def test_help_shows_the_default_and_its_key():
    text = _parser(STAGES["sn22_metatrain"]).format_help()
    assert "params.yaml sn22.train.ways" in " ".join(text.split())


def test_flags_some_stage_of_a_shared_cli_leaves_out_keep_their_own_default():
    """sn22_metatrain does not pass --inner-threshold (sn22_threshold_metatrain does): it runs with 0 (off)."""
    assert "--inner-threshold" not in config_bindings("sn22_metatrain")
    assert _parser(STAGES["sn22_metatrain"]).get_default("inner_threshold") == 0.0
    assert config_bindings("metatrain") == config_bindings("sn22_frozen_metatrain")  # by CLI or by stage name


def test_wildcard_keys_and_required_flags_get_no_config_default():
    bindings = config_bindings("sn22_metatrain")
    assert "--inner-lr" not in bindings  # sn22.train.inner_lr.{method}: one value per method
    parser = _parser(STAGES["sn22_tables"])
    margin = next(a for a in parser._actions if "--noninferiority-margin" in a.option_strings)
    assert margin.required and margin.default is None
