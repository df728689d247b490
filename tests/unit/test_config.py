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
    cfg["data"]["source"] = "ftp"
    with pytest.raises(ConfigError, match=r"data.source.*one of \['synthetic', 'download', 'local'\]"):
        validate_config(cfg)


def test_delta_with_unknown_key_names_the_delta_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  time_bin: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'data.time_bin' \(did you mean 'time_bin_ms'\?\)"):
        load_config("default", files=[bad])


def test_invalid_yaml_reports_file_and_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigError, match=r"broken.yaml line \d+: not valid YAML"):
        cfgmod.read_yaml(bad)


def test_get_key_missing_is_a_config_error():
    with pytest.raises(ConfigError, match="missing key 'data.nope'"):
        get_key(load_config("default"), "data.nope")
