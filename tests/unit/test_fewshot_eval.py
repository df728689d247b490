"""Few-shot evaluation protocol: fixed task sets, untouched meta-parameters, sn22's repeat statistic."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from metasnn.evaluation.fewshot import evaluate_tasks, repeat_std
from metasnn.meta import InnerLoop, functional_loss
from metasnn.snn import SN22ConvSNN, initialise

torch.set_num_threads(1)


def test_repeat_std_is_std_of_block_means():
    acc = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 0.0])
    # 3 blocks: means 0.3, 0.7, 0.5 -> std 0.2
    assert repeat_std(acc, 3) == pytest.approx(0.2)
    assert np.isnan(repeat_std(acc, 1))
    assert repeat_std(np.ones(10), 5) == 0.0


def test_evaluate_tasks_leaves_meta_parameters_and_is_deterministic():
    torch.manual_seed(0)
    model = SN22ConvSNN((2, 8, 8), 3, channels=(2, 3, 4), burn_in=2)
    gen = torch.Generator().manual_seed(1)
    eps = [SimpleNamespace(index=i, support_x=(torch.rand(8, 3, 2, 8, 8, generator=gen) < 0.3).float(),
                           support_y=torch.arange(3), query_x=(torch.rand(8, 6, 2, 8, 8, generator=gen) < 0.3).float(),
                           query_y=torch.arange(3).repeat(2)) for i in range(4)]
    initialise(model, "lsuv", eps[0].support_x, generator=torch.Generator().manual_seed(0))
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    params = dict(model.named_parameters())
    inner = InnerLoop(steps=2, lr=5.0, second_order=True, record_updates=True)
    a = evaluate_tasks(params, functional_loss(model), eps, inner)
    b = evaluate_tasks(params, functional_loss(model), eps, inner)
    assert [o.accuracy for o in a] == [o.accuracy for o in b]
    assert [o.index for o in a] == [0, 1, 2, 3]
    assert len(a[0].updates) == 2 and len(a[0].support_losses) == 2
    for k, v in model.named_parameters():
        assert torch.equal(v.detach(), before[k]), k
        assert v.grad is None
