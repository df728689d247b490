"""One to_dict / from_dict for the method configs; one model.pt layout for the small plasticity methods."""

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


def test_networks_payload_round_trip(tmp_path):
    from metasnn.io import save_tensors
    from metasnn.plasticity.intrinsic import IntrinsicNet, load_evaluator, model_payload

    nets = {"intrinsic": IntrinsicNet(IP2Config(hidden=4), seed=1), "point": IntrinsicNet(IP2Config("point", hidden=4))}
    payload = model_payload(nets, (2, 32, 16), 12, {"mask": ["threshold"]})
    assert list(payload) == ["models", "frame_shape", "num_steps", "mask"]
    save_tensors(payload, tmp_path / "model.pt")
    ev = load_evaluator(tmp_path, "point")
    assert ev.net.config == nets["point"].config and (ev.frame_shape, ev.num_steps) == ((2, 32, 16), 12)
    for k, v in nets["point"].state_dict().items():
        assert torch.equal(ev.net.state_dict()[k], v)
