import pytest

from metasnn.errors import ConfigError
from pipeline import config as cfgmod
from pipeline.config import deep_merge, get_key, load_config, validate_config


@pytest.mark.parametrize("scale", ["smoke", "default", "paper"])
def test_every_scale_validates(scale):
    cfg = load_config(scale)
    assert cfg["scale"] == scale


def test_scale_deltas_only_change_what_they_name():
    default, smoke = load_config("default"), load_config("smoke")
    assert smoke["data"]["source"] == default["data"]["source"]  # merged deeply, not replaced
    assert smoke["data"]["time_bin_ms"] != default["data"]["time_bin_ms"]


def test_deep_merge_recurses_and_replaces_leaves():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    out = deep_merge(base, {"a": {"c": [3]}})
    assert out == {"a": {"b": 1, "c": [3]}, "d": 1}
    assert base["a"]["c"] == [1, 2]  # inputs untouched


def test_unknown_key_names_key_and_suggests_fix():
    cfg = load_config("default")
    cfg["data"]["sourc"] = "local"
    with pytest.raises(ConfigError, match=r"unknown key 'data.sourc' \(did you mean 'source'\?\)"):
        validate_config(cfg)


def test_float_written_without_dot_is_explained():
    cfg = load_config("default")
    cfg["data"]["time_bin_ms"] = "1e-3"
    with pytest.raises(ConfigError, match="data.time_bin_ms.*integer"):
        validate_config(cfg)


def test_enum_violation_lists_choices():
    cfg = load_config("default")
    cfg["data"]["source"]["nmnist"] = "ftp"
    with pytest.raises(ConfigError, match=r"data.source.nmnist.*one of \['shipped', 'synthetic', 'download', 'local'\]"):
        validate_config(cfg)


def _delta_refused(tmp_path, text: str, match: str) -> None:
    """A scale delta ``text`` is refused by load_config with an error matching ``match``."""
    delta = tmp_path / "scale.yaml"
    delta.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config("default", files=[delta])


def test_delta_with_unknown_key_names_the_delta_file(tmp_path, monkeypatch):
    _delta_refused(tmp_path, "data:\n  time_bin: 3\n",
                   r"scale.yaml: unknown key 'data.time_bin' \(did you mean 'time_bin_ms'\?\)")


def test_invalid_yaml_reports_file_and_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigError, match=r"broken.yaml line \d+: not valid YAML"):
        cfgmod.read_yaml(bad)


def test_get_key_missing_is_a_config_error():
    with pytest.raises(ConfigError, match="missing key 'data.nope'"):
        get_key(load_config("default"), "data.nope")


# --- mistakes that JSON schema or YAML let through (found by fuzzing) ---


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [("sn22:\n  train:\n    ways: 5.0\n", "sn22.train.ways", "as an integer, 5, without a decimal point"),
     ("seeds: [0.0]\n", "seeds.0", "as an integer, 0, without a decimal point")],
)
def test_integer_valued_float_is_an_error_naming_key_file_and_fix(tmp_path, text, key, fix):
    delta = tmp_path / "delta.yaml"
    delta.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config("default", files=[delta])
    msg = str(err.value)
    assert msg.startswith(f"{delta}: ") and f"'{key}'" in msg and fix in msg and "\n" not in msg


def test_float_hint_only_for_numbers_written_as_strings():
    cfg = load_config("default")
    cfg["sn22"]["train"]["ways"] = "five"
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert "sn22.train.ways" in str(err.value) and "decimal point" not in str(err.value)
    cfg = load_config("default")
    cfg["data"]["asl_train_fraction"] = "1e-3"  # PyYAML reads 1e-3 (no dot) as a string
    with pytest.raises(ConfigError, match=r"data.asl_train_fraction.*number.*write floats with a decimal point"):
        validate_config(cfg)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_value_is_an_error(value):
    cfg = load_config("default")
    cfg["data"]["asl_train_fraction"] = value
    with pytest.raises(ConfigError, match=r"'data.asl_train_fraction' is (nan|inf): not a finite number"):
        validate_config(cfg)


def test_duplicate_key_is_an_error_naming_key_line_and_file(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(cfgmod.PARAMS.read_text() + "\ndevice: cuda\n")
    with pytest.raises(ConfigError) as err:
        cfgmod.read_yaml(params)
    msg = str(err.value)
    assert msg.startswith(f"{params} line ") and "duplicate key 'device'" in msg and "delete one" in msg
    _delta_refused(tmp_path, "sn22:\n  train:\n    ways: 5\n    shots: 1\n    ways: 3\n",
                   r"scale.yaml line 5: duplicate key 'sn22.train.ways' \(first set on line 3\)")


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n")
    assert cfgmod.read_yaml(f) == {"base": {"x": 1, "y": 2}, "m": {"x": 3, "y": 2}}


def test_unreadable_or_recursive_yaml_is_a_config_error(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(ConfigError, match="bin.yaml: not a UTF-8 text file"):
        cfgmod.read_yaml(tmp_path / "bin.yaml")
    (tmp_path / "rec.yaml").write_text("seeds: &s [0, *s]\n")
    with pytest.raises(ConfigError, match="'seeds.1' contains itself"):
        validate_config(cfgmod.read_yaml(tmp_path / "rec.yaml"))
    with pytest.raises(ConfigError, match="unknown key"):
        validate_config({**load_config("default"), 1: "x", None: "y"})  # non-string keys: no TypeError


def test_workflow_config_check_reads_every_file_again(tmp_path):
    # Snakemake merges params.yaml + --configfile itself (keeping the last of two equal keys);
    # the Snakefile's check reads each file again
    delta = tmp_path / "delta.yaml"
    delta.write_text("device: cpu\ndevice: cuda\n")
    with pytest.raises(ConfigError, match=r"delta.yaml line 2: duplicate key 'device'"):
        cfgmod.validate_workflow_config(load_config("default"), [cfgmod.PARAMS, delta])
    delta.write_text("sn22:\n  train:\n    ways: 5.0\n")
    merged = deep_merge(load_config("default"), cfgmod.read_yaml(delta))
    with pytest.raises(ConfigError, match=rf"^{delta}: key 'sn22.train.ways' must be of type integer, got 5.0"):
        cfgmod.validate_workflow_config(merged, [cfgmod.PARAMS, delta])
    cfgmod.validate_workflow_config(load_config("default"), [cfgmod.PARAMS])


def test_check_config_cli_checks_configfile_deltas(tmp_path, capsys):
    from pipeline import check_config
    from tests.conftest import run_stage

    delta = tmp_path / "paper.yaml"
    delta.write_text("seeds: [0]\nseeds: [1]\n")
    out = tmp_path / "validated.json"
    code = run_stage(check_config, "check_config", ["--params", str(cfgmod.PARAMS), "--configfile", str(delta),
                                                    "--out", str(out)], tmp_path)
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert lines and "paper.yaml line 2: duplicate key 'seeds'" in lines[0]
    delta.write_text("seeds: [0.0]\n")
    assert run_stage(check_config, "check_config", ["--params", str(cfgmod.PARAMS), "--configfile", str(delta),
                                                    "--out", str(out)], tmp_path) != 0
    assert "paper.yaml: key 'seeds.0' must be of type integer" in capsys.readouterr().err and not out.exists()


def test_a_section_the_schema_file_omits_is_checked_against_its_defaults(tmp_path, monkeypatch):
    """A new method's params section needs no schema entry: its keys and types come from params.yaml."""
    import yaml

    from pipeline import config_infer

    schema = cfgmod.read_yaml(config_infer.SCHEMA)
    del schema["properties"]["mp23"]
    schema["required"].remove("mp23")
    (tmp_path / "schema.yaml").write_text(yaml.safe_dump(schema))
    monkeypatch.setattr(config_infer, "SCHEMA", tmp_path / "schema.yaml")
    assert config_infer.load_schema()["properties"]["mp23"]["properties"]["hidden"] == {"type": "integer"}
    validate_config(load_config("default"))  # the defaults fit their own shape
    for change, error in [({"hiden": 32}, r"unknown key 'mp23.hiden' \(did you mean 'hidden'\?\)"),
                          ({"hidden": 32.0}, r"'mp23.hidden' must be of type integer.*without a decimal point"),
                          ({"outer_lr": {"double_nmnist": "3e-3", "double_asldvs": 1.0e-3}},
                           "mp23.outer_lr.double_nmnist.*decimal point"),
                          ({"variants": ["abcd", 1]}, r"mp23.variants.1' must be of type string")]:
        cfg = load_config("default")
        cfg["mp23"] = {**cfg["mp23"], **change}
        with pytest.raises(ConfigError, match=error):
            validate_config(cfg)
    cfg = load_config("default")
    del cfg["mp23"]["hidden"]
    with pytest.raises(ConfigError, match="missing key: 'hidden' is a required property under 'mp23'"):
        validate_config(cfg)
    # a typo in params.yaml itself: its keys are checked against what the stage registry reads, not against itself
    typo = tmp_path / "params.yaml"
    typo.write_text(cfgmod.PARAMS.read_text().replace("  grid: [8, 4]", "  gird: [8, 4]", 1))
    monkeypatch.setattr(config_infer, "PARAMS", typo)
    assert "gird" in cfgmod.read_yaml(typo)["mp23"]
    with pytest.raises(ConfigError, match=r"unknown key 'mp23.gird' \(did you mean 'grid'\?\)"):
        validate_config(cfgmod.read_yaml(typo))


def test_inferred_schema_shapes():
    from pipeline.config_infer import inferred_schema

    assert inferred_schema([1, 2.5]) == {"type": "array", "items": {"type": "number"}}
    assert inferred_schema([[8, 4]]) == {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
    assert inferred_schema([]) == {"type": "array", "items": {}}
    assert inferred_schema(True) == {"type": "boolean"}  # not an integer
    assert inferred_schema(None) == {}
