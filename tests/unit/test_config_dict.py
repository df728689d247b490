"""One to_dict / from_dict for the method configs; the small plasticity methods' networks round-trip through
model.pt (metasnn.model_file)."""

from __future__ import annotations

import json

import pytest
import torch

from metasnn.baselines.eihl import EIHLConfig
from metasnn.baselines.stdp import STDPConfig
from metasnn.meta.sn22 import SN22Config
from metasnn.plasticity.dsp import DSPConfig
from metasnn.plasticity.hp import HPConfig
from metasnn.plasticity.intrinsic import IP2Config
from metasnn.plasticity.metaplasticity import MP23Config


@pytest.mark.parametrize("cfg", [SN22Config(channels=(4, 8)), DSPConfig(), MP23Config(grid=(4, 2)),
                                 IP2Config(mask=("threshold",)), STDPConfig(), EIHLConfig(), HPConfig()])
def test_round_trip_through_json(cfg):
    d = cfg.to_dict()
    assert not any(isinstance(v, tuple) for v in d.values())  # JSON-ready
    assert type(cfg).from_dict(json.loads(json.dumps(d))) == cfg


def test_missing_tuple_fields_take_their_defaults():
    assert SN22Config.from_dict({"method": "fomaml_snn"}).channels == (32, 64, 128)
    assert DSPConfig.from_dict({}).channels == (8, 16)


def test_networks_round_trip_through_the_model_file(tmp_path):
    from types import SimpleNamespace

    from metasnn.data.sources import DataSource
    from metasnn.model_file import load_evaluator, networks_state, read_model, save_model
    from metasnn.plasticity.intrinsic import IntrinsicNet, build_evaluator, model_record

    nets = {"intrinsic": IntrinsicNet(IP2Config(hidden=4, mask=("threshold",)), seed=1),
            "point": IntrinsicNet(IP2Config("point", hidden=4, mask=("threshold",)))}
    ds = SimpleNamespace(name="double_nmnist", frame_shape=(2, 32, 16), num_steps=12, time_bin_ms=10.0,
                         data_sources={"nmnist": DataSource("nmnist", "synthetic", 50)})
    save_model(tmp_path, model_record(nets, ds, seed=3), networks_state(nets))
    record, state = read_model(tmp_path)
    assert (record.method, record.seed, record.extra, set(state)) == ("ip2", 3, {"mask": ["threshold"]}, set(nets))
    assert record.config["hidden"] == 4 and not {"model", "inner_lr"} & set(record.config)  # not shared
    assert load_evaluator(tmp_path).net.config == nets["intrinsic"].config
    ev = build_evaluator(record, state, "point")
    assert ev.net.config == nets["point"].config and (ev.frame_shape, ev.num_steps) == ((2, 32, 16), 12)
    for k, v in nets["point"].state_dict().items():
        assert torch.equal(ev.net.state_dict()[k], v)
