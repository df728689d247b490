import os
import pickle

import pytest
import torch

from metasnn.errors import CheckpointError
from metasnn.io import atomic_directory, atomic_write_json, atomic_write_text, load_tensors, save_tensors


def test_atomic_write_replaces_and_leaves_no_temporaries(tmp_path):
    p = tmp_path / "sub" / "x.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [f.name for f in p.parent.iterdir()] == ["x.txt"]
    assert oct(p.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_atomic_write_json_is_canonical(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    atomic_write_json(a, {"b": 1, "a": [1.5, 2]})
    atomic_write_json(b, {"a": [1.5, 2], "b": 1})
    assert a.read_bytes() == b.read_bytes()


def test_atomic_directory_failure_keeps_previous_output(tmp_path):
    out = tmp_path / "out"
    with atomic_directory(out) as d:
        (d / "f").write_text("v1")
    with pytest.raises(RuntimeError), atomic_directory(out) as d:
        (d / "f").write_text("half")
        raise RuntimeError("killed")
    assert (out / "f").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_directory_interrupted_first_run_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as d:
        (d / "f").write_text("half")
        raise KeyboardInterrupt
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_tensors_round_trip(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "step": 7, "rng": torch.get_rng_state()}
    save_tensors(state, tmp_path / "c.pt")
    back = load_tensors(tmp_path / "c.pt")
    assert torch.equal(back["w"], state["w"]) and back["step"] == 7


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_loading_refuses_code_in_a_handed_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, bad, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="evil.pt: cannot be loaded safely"):
        load_tensors(bad)
    assert not (tmp_path / "pwned").exists()


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt: file not found"):
        load_tensors(tmp_path / "nope.pt")


def test_remove_stale_temporaries_removes_only_this_paths_leftovers(tmp_path):
    from metasnn.io import remove_stale_temporaries

    names = [".x.pt.abc123_z.tmp", ".x.pt.q1w2e3r4.tmp", ".y.pt.abc123_z.tmp", "x.pt", ".x.pt.tmp", "x.pt.abc.tmp",
             ".x.pt.abc123_z.tmp.keep", ".x.pt.ABC.tmp"]
    for name in names:
        (tmp_path / name).write_text(name)
    removed = remove_stale_temporaries(tmp_path / "x.pt")
    assert sorted(p.name for p in removed) == [".x.pt.abc123_z.tmp", ".x.pt.q1w2e3r4.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def test_atomic_directory_removes_what_a_killed_build_left(tmp_path):
    out = tmp_path / "out"
    (tmp_path / ".out.k1ll3d_0.tmp").mkdir()
    (tmp_path / ".out.k1ll3d_0.tmp" / "model.pt").write_text("half")
    (tmp_path / ".out.k1ll3d_1.old").mkdir()
    (tmp_path / ".other.k1ll3d_0.tmp").mkdir()
    (tmp_path / ".out.notadir1.tmp").write_text("a file, not a build directory")
    with atomic_directory(out) as d:
        (d / "f").write_text("v1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.k1ll3d_0.tmp", ".out.notadir1.tmp", "out"]
