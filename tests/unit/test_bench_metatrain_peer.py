"""The benchmark's snnTorch peer computes the sn22 network's maths: same meta-loss as ``plain`` in float64."""

from __future__ import annotations

import argparse

import pytest
import torch

snn = pytest.importorskip("snntorch", reason="the snnTorch peer needs snntorch (scripts/install.sh installs it)")

from benchmarks import bench_metatrain as bench  # noqa: E402

# tiny sizes: 16×16 frames (2×2 after three pools), few channels, T = 16 with 6 burn-in steps; a dense
# input so every layer spikes
TINY = "--height 16 --width 16 --steps-t 16 --burn-in 6 --channels 4 6 8 --ways 3 --queries 2 --rate 0.2"


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread, as the benchmark (tiny ops are many times slower with several threads on a busy
    machine); the benchmark functions set the thread count for their process, so give it back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _args(extra: str = "") -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args((TINY + " " + extra).split())


def _outer(args: argparse.Namespace, model: torch.nn.Module, dtype: torch.dtype):
    from metasnn.meta import InnerLoop, functional_loss, task_loss

    params = dict(model.named_parameters())
    loss, logits, _ = task_loss(params, functional_loss(model), bench._episode(args, dtype, seed=1),
                                InnerLoop(steps=1, lr=args.inner_lr, second_order=True))
    return loss, logits, torch.autograd.grad(loss, list(params.values()))


def test_snntorch_peer_uses_snntorch_neurons():
    args = _args()
    plain = bench._model(args, "plain", torch.float64, "cpu")
    peer = bench._model(args, "snntorch", torch.float64, "cpu", plain.state_dict())
    assert all(isinstance(m, snn.Synaptic) for m in peer.traces)
    assert all(isinstance(m, snn.Leaky) for m in peer.refractory)
    assert all(m.alpha.dtype == torch.float64 and float(m.alpha) == 0.9 for m in peer.traces)  # not a float32 0.9
    # the same weights, in the same order
    for a, b in zip(plain.parameters(), peer.parameters(), strict=True):
        assert torch.equal(a, b)


def test_snntorch_peer_meta_loss_equals_plain_in_float64():
    args = _args()
    plain = bench._model(args, "plain", torch.float64, "cpu")
    peer = bench._model(args, "snntorch", torch.float64, "cpu", plain.state_dict())
    loss_plain, logits_plain, grads_plain = _outer(args, plain, torch.float64)
    loss_peer, logits_peer, grads_peer = _outer(args, peer, torch.float64)
    # not a trivial agreement: the adapted network separates the queries and every weight gets a gradient
    assert logits_plain.std() > 1e-3
    assert all(g.abs().max() > 0 for g in grads_plain)
    assert abs(loss_peer.item() - loss_plain.item()) < 1e-9
    torch.testing.assert_close(logits_peer, logits_plain, rtol=1e-9, atol=1e-12)
    # second-order meta-gradients: snnTorch's surrogates return float32 spikes, so the gradient through
    # every spike is rounded to float32 (the maths is the same: ~1e-7 relative, not 1e-15)
    for gp, g in zip(grads_peer, grads_plain, strict=True):
        torch.testing.assert_close(gp, g, rtol=1e-5, atol=1e-5 * float(g.abs().max()))


def test_loss_agreement_reports_the_snntorch_peer():
    report = bench.loss_agreement(_args())
    f64 = report["float64"]
    assert set(f64) >= {"loss_folded", "loss_plain", "loss_snntorch", "abs_diff", "abs_diff_snntorch"}
    assert f64["abs_diff_snntorch"] < 1e-9


def test_snntorch_peer_is_measured_like_the_others():
    out = bench.measure(_args("--impl snntorch --order first --measure-steps 1"))
    assert out["impl"] == "snntorch" and out["seconds_per_step"] > 0 and out["conv_seconds_per_step"] > 0
    assert out["peak_rss_mb"] > 0
