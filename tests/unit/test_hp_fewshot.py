"""HP few-shot: the plastic readout stores the labelled support and reads it back on queries."""

from __future__ import annotations

import torch

from metasnn.plasticity.fewshot import HPFewShotNet
from metasnn.plasticity.hp import HPConfig


def _net() -> HPFewShotNet:
    net = HPFewShotNet((8, 8), ways=3, channels=(4,), label_gain=10.0, config=HPConfig(reset="episode", post_form="softmax"), seed=0)
    with torch.no_grad():
        net.readout.synapse.weight.zero_()  # no global knowledge: only the Hebbian trace can classify
        net.readout.synapse.bias.zero_()
        net.readout.alpha.fill_(1.0)
        net.readout.eta_pre.fill_(0.1)  # plastic drive during the support stays well below the label clamp
        net.readout.beta_post.zero_()
    return net


def _frames(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(4, 3, 2, 8, 8, generator=g) < 0.3).float() * 3


def test_label_clamping_writes_class_columns_of_the_trace():
    net = _net()
    support = _frames(0)
    trace = net.support_trace(support, torch.tensor([0, 1, 2]))
    assert trace.shape == (net.n_features, 3)
    assert trace.abs().sum() > 0
    # permuting the labels permutes the trace's columns (labels drive the post-synaptic term)
    permuted = net.support_trace(support, torch.tensor([2, 0, 1]))
    assert not torch.allclose(trace, permuted)


def test_queries_equal_to_the_support_are_recognised_and_independent():
    net = _net()
    support = _frames(1)
    labels = torch.tensor([2, 0, 1])
    with torch.no_grad():
        logits = net(support, labels, support)
        assert logits.argmax(1).tolist() == labels.tolist()
        # a query's logits do not depend on the other queries
        alone = net(support, labels, support[:, 1:2])
    torch.testing.assert_close(alone[0], logits[1])


def test_meta_parameters_receive_gradients():
    net = HPFewShotNet((8, 8), ways=3, channels=(4,), seed=0)
    loss = torch.nn.functional.cross_entropy(net(_frames(0), torch.tensor([0, 1, 2]), _frames(1)), torch.tensor([0, 1, 2]))
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(loss, [params[n] for n in net.meta_names()])
    assert all(g.abs().sum() > 0 for g in grads)
    assert set(net.meta_names()) == {"readout.alpha", "readout.eta_pre", "readout.beta_post"}
