"""The training-loop skeleton: resume after a crash gives identical weights, divergence, RNG states."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from metasnn.errors import TrainingDivergedError
from metasnn.meta import InnerLoop, MetaOptimizer, functional_loss, meta_loss
from metasnn.meta.training import CheckpointConfig, curve_csv, rng_state, set_rng_state, train_loop
from metasnn.snn import SN22ConvSNN, initialise

torch.set_num_threads(1)


class _Crash(RuntimeError):
    pass


def _episode(step: int):
    g = torch.Generator().manual_seed(1000 + step)
    from types import SimpleNamespace

    return SimpleNamespace(
        support_x=(torch.rand(8, 3, 2, 8, 8, generator=g) < 0.3).float(), support_y=torch.arange(3),
        query_x=(torch.rand(8, 6, 2, 8, 8, generator=g) < 0.3).float(), query_y=torch.arange(3).repeat(2),
    )


def _run(tmp_path, crash_at: int | None = None, config_hash: str = "h1", total: int = 7):
    torch.manual_seed(0)
    model = SN22ConvSNN((2, 8, 8), 3, channels=(2, 3, 4), burn_in=3)
    initialise(model, "lsuv", _episode(0).support_x, generator=torch.Generator().manual_seed(0))
    params = dict(model.named_parameters())
    opt = MetaOptimizer(params.values(), lr=1e-2, total_steps=total)
    fn = functional_loss(model)

    def step_fn(step):
        loss, acc, _ = meta_loss(params, fn, [_episode(step)], InnerLoop(lr=0.5))
        # consume the global RNGs, so a resume must restore them to stay identical
        noise = torch.rand(()).item() * 0 + np.random.rand() * 0 + random.random() * 0  # noqa: NPY002
        opt.step(loss)
        return {"loss": float(loss.detach()) + noise, "acc": acc, "r": torch.rand(()).item()}

    def after(step, row):
        if crash_at is not None and step == crash_at:
            raise _Crash(f"simulated kill after step {step}")

    ckpt = CheckpointConfig(tmp_path / "ckpt", every=2, config_hash=config_hash)
    result = train_loop(step_fn, total, {"model": model, "optimizer": opt}, checkpoint=ckpt, after_step=after)
    return model, result


def test_resume_after_crash_reaches_identical_weights(tmp_path):
    ref_model, ref = _run(tmp_path / "a")
    with pytest.raises(_Crash):
        _run(tmp_path / "b", crash_at=4)  # checkpoints after 2 and 4 completed steps; step 4 is lost
    model, res = _run(tmp_path / "b")
    assert res.resumed_from == 4
    for (name, p), q in zip(ref_model.named_parameters(), model.parameters(), strict=True):
        assert torch.equal(p, q), name
    assert [r["loss"] for r in res.rows] == [r["loss"] for r in ref.rows]
    assert [r["r"] for r in res.rows] == [r["r"] for r in ref.rows]  # torch RNG restored
    assert [r["step"] for r in res.rows] == list(range(7))


def test_checkpoint_of_another_config_is_ignored(tmp_path):
    with pytest.raises(_Crash):
        _run(tmp_path, crash_at=3)
    _, res = _run(tmp_path, config_hash="other")
    assert res.resumed_from == 0


def test_divergence_raises_clear_error():
    def step_fn(step):
        return {"loss": float("nan") if step == 2 else 1.0, "acc": 0.5}

    with pytest.raises(TrainingDivergedError, match="outer step 2.*not finite"):
        train_loop(step_fn, 5, {})
    with pytest.raises(TrainingDivergedError, match="above the divergence limit"):
        train_loop(lambda s: {"loss": 1e9}, 3, {}, max_loss=1e4)


def test_non_finite_gradient_stops_before_update():
    w = torch.ones(2, requires_grad=True)
    opt = MetaOptimizer([w], lr=0.1, total_steps=3)
    with pytest.raises(TrainingDivergedError, match="not finite"):
        opt.step((w * float("inf")).sum())
    assert torch.equal(w.detach(), torch.ones(2))


def test_rng_state_round_trip():
    state = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_curve_csv_columns():
    text = curve_csv([{"step": 0, "loss": 1.5, "acc": 0.25}, {"step": 1, "loss": 1.25, "acc": 0.5}])
    assert text.splitlines() == ["step,loss,acc", "0,1.5,0.25", "1,1.25,0.5"]


# --- a kill during a checkpoint write leaves .checkpoint.pt.<random>.tmp: a rerun removes it ---

_KILLED_DURING_SECOND_CHECKPOINT = r"""
import os, signal, sys
import torch
import metasnn.io
from metasnn.meta.training import CheckpointConfig, train_loop

calls = []
real_fsync = os.fsync
def fsync(fd):
    calls.append(fd)
    if len(calls) == 3:  # save 1: file + dir; save 2: the temporary file is written, not yet renamed
        os.kill(os.getpid(), signal.SIGKILL)
    return real_fsync(fd)
metasnn.io.os.fsync = fsync
torch.manual_seed(0)
model = torch.nn.Linear(3, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
def step(i):
    opt.zero_grad(); loss = model(torch.ones(1, 3)).pow(2).sum(); loss.backward(); opt.step()
    return {"loss": float(loss.detach())}
train_loop(step, 4, {"model": model, "optimizer": opt}, checkpoint=CheckpointConfig(sys.argv[1], 1, "h"))
"""


def test_resume_removes_own_stale_checkpoint_temporaries_only(tmp_path):
    import signal
    import subprocess
    import sys

    ckpt_dir = tmp_path / "ckpt"
    proc = subprocess.run([sys.executable, "-c", _KILLED_DURING_SECOND_CHECKPOINT, str(ckpt_dir)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    stale = [p.name for p in ckpt_dir.iterdir() if p.name.startswith(".checkpoint.pt.") and p.name.endswith(".tmp")]
    assert len(stale) == 1 and (ckpt_dir / "checkpoint.pt").is_file()
    others = {"notes.txt": "mine", ".other.pt.abcd1234.tmp": "other", ".checkpoint.pt.tmp": "no random part",
              "checkpoint.pt.abcd1234.tmp": "not hidden"}
    for name, text in others.items():
        (ckpt_dir / name).write_text(text)
    (ckpt_dir / ".checkpoint.pt.dir12345.tmp").mkdir()  # a directory of that name is not a leftover file

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(i):
        opt.zero_grad()
        loss = model(torch.ones(1, 3)).pow(2).sum()
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    res = train_loop(step, 4, {"model": model, "optimizer": opt}, checkpoint=CheckpointConfig(ckpt_dir, 1, "h"))
    assert res.resumed_from == 1 and [r["step"] for r in res.rows] == [0, 1, 2, 3]
    assert sorted(p.name for p in ckpt_dir.iterdir()) == sorted(
        ["checkpoint.pt", ".checkpoint.pt.dir12345.tmp", *others])
    assert all((ckpt_dir / name).read_text() == text for name, text in others.items())


def test_resume_of_a_finished_run_also_removes_stale_temporaries(tmp_path):
    ckpt = CheckpointConfig(tmp_path, every=1, config_hash="h")
    train_loop(lambda s: {"loss": 1.0}, 2, {}, checkpoint=ckpt)
    (tmp_path / ".checkpoint.pt.x1y2z3_a.tmp").write_bytes(b"half a checkpoint")
    res = train_loop(lambda s: {"loss": 1.0}, 2, {}, checkpoint=ckpt)
    assert res.resumed_from == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
