"""wu22 Table S1 inference network (metasnn.hardware.inference): codings, training, rates, latency."""

from __future__ import annotations

import time

import pytest
import torch

from metasnn.hardware.inference import InferenceConfig, build_inference_network, encode, fit, measure_latency, rank_code
from metasnn.hardware.rates import load_rates, write_rates


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the stage runs (several threads crawl on a shared 2-core machine)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _frames(seed: int, n_per_class: int, classes: int = 3, t: int = 6, size: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Event counts [T, N, 2, S, S]: class k has noisy events in its own band of rows, at random times."""
    g = torch.Generator().manual_seed(seed)
    frames = (torch.rand(t, classes * n_per_class, 2, size, size, generator=g) < 0.03).float()
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    band = size // classes
    for i, k in enumerate(labels.tolist()):
        hot = torch.rand(t, 2, band, size, generator=g) < 0.5
        frames[:, i, :, k * band:(k + 1) * band] += hot.float() * torch.randint(1, 4, hot.shape, generator=g)
    return frames, labels


def test_rate_coding_clamps_counts_to_one_spike_per_bin():
    frames = torch.zeros(4, 1, 2, 2, 2)
    frames[0, 0, 0, 0, 0] = 3.0
    frames[2, 0, 0, 0, 0] = 1.0
    x = encode(frames, "rate")
    assert x.shape == (4, 1, 8)
    assert x[:, 0, 0].tolist() == [1.0, 0.0, 1.0, 0.0] and float(x.sum()) == 2.0


def test_rank_coding_fires_each_input_at_most_once_at_its_first_event():
    frames, _ = _frames(0, 5)
    rate, rank = encode(frames, "rate"), encode(frames, "rank")
    assert set(rank.unique().tolist()) <= {0.0, 1.0}
    assert int(rank.sum(0).max()) == 1  # at most one spike per input and sample
    first = rate.argmax(0)  # first bin with an event
    fired = rate.sum(0) > 0
    assert torch.equal(rank.sum(0) > 0, fired)  # every input with an event fires once; the others never
    assert torch.equal(rank.argmax(0)[fired], first[fired])
    # pooled inputs: the first bin in which any event of the block arrives
    pooled = encode(frames, "rank", pool=2)
    assert pooled.shape[-1] == 2 * 3 * 3 and int(pooled.sum(0).max()) == 1
    assert torch.equal(rank_code(torch.tensor([[0.0], [2.0], [1.0]])), torch.tensor([[0.0], [1.0], [0.0]]))


def test_network_is_wu22_gp_mlp_with_time_averaged_readout():
    net = build_inference_network(12, 7, seed=0)
    assert net.sizes == [12, 7, 7, 10] and not any(layer.plastic for layer in net.layers)
    assert net.config.threshold == 0.4 and net.config.decay == 0.4 and net.config.readout == "mean"


@pytest.mark.parametrize("coding", ["rate", "rank"])
def test_trainer_learns_above_chance_and_writes_valid_rates(coding, tmp_path):
    t0 = time.perf_counter()
    frames, y = _frames(1, 20)
    frames_test, y_test = _frames(2, 10)
    x, x_test = encode(frames, coding), encode(frames_test, coding)
    res = fit((x, y), (x_test, y_test), InferenceConfig(hidden=32, epochs=6, batch_size=10, lr=3e-3, measure=False))
    assert res.final["test_acc"] >= 0.8  # chance is 1/3
    assert res.curves[0]["epoch"] == 0 and len(res.curves) == 7
    assert [lr["n_out"] for lr in res.layers] == [32, 32, 10]
    assert res.layers[0]["input_rate"] == pytest.approx(float(x_test.mean()), rel=1e-5)
    if coding == "rank":
        assert res.layers[0]["input_rate"] <= 1.0 / x.shape[0] + 1e-9
    path = write_rates(tmp_path / "rates.json", model="wu22_inference", mode="inference", coding=coding,
                       timesteps=x.shape[0], layers=res.layers)
    rates = load_rates(path)
    assert rates.mode == "inference" and rates.coding == coding and rates.source == "measured"
    assert not rates.is_placeholder and rates.sizes == [x.shape[-1], 32, 32, 10]
    assert time.perf_counter() - t0 < 20


def test_measure_latency_times_the_trained_network():
    net = build_inference_network(8, 4, seed=0)
    x = (torch.rand(3, 5, 8, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    m = measure_latency(net, x, min_seconds=0.05, max_reps=20)
    assert m.platform == "CPU" and m.latency_s is not None and m.latency_s > 0
    assert "[8-4-4-10]" in m.note and "batch 1, T=3" in m.note
