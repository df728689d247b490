"""Layout checks of local raw datasets and the on_corrupt policy."""

from __future__ import annotations

import shutil

import pytest

from metasnn.data.emulator import emulate_nmnist
from metasnn.data.layout import scan_layout, validate_recordings
from metasnn.errors import DataError


@pytest.fixture(scope="module")
def nmnist_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw") / "N-MNIST"
    emulate_nmnist(root, 2, 2, seed=0)
    return root


def test_missing_root_names_path_and_layout(tmp_path):
    with pytest.raises(DataError) as err:
        scan_layout("nmnist", tmp_path / "nowhere")
    msg = str(err.value)
    assert str(tmp_path / "nowhere") in msg and "Train/<digit 0-9>/*.bin" in msg and "\n" not in msg


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda r: shutil.rmtree(r / "Test"), "Test: directory not found"),
    (lambda r: shutil.rmtree(r / "Train" / "7"), "7: directory not found"),
    (lambda r: (r / "Train" / "seven").mkdir(), "unexpected folder(s) seven"),
    (lambda r: [f.unlink() for f in (r / "Test" / "3").iterdir()], "no .bin recordings"),
])
def test_wrong_nmnist_layouts(nmnist_root, tmp_path, breakage, message):
    root = tmp_path / "N-MNIST"
    shutil.copytree(nmnist_root, root)
    breakage(root)
    with pytest.raises(DataError, match="expected layout") as err:
        scan_layout("nmnist", root)
    assert message in str(err.value)


def test_asldvs_layout_needs_every_letter(tmp_path):
    for letter in "abc":
        (tmp_path / letter).mkdir()
        (tmp_path / letter / f"{letter}_0001.mat").write_bytes(b"")
    with pytest.raises(DataError, match=r"/d: directory not found"):
        scan_layout("asldvs", tmp_path)


def test_on_corrupt_policy(nmnist_root, tmp_path):
    root = tmp_path / "N-MNIST"
    shutil.copytree(nmnist_root, root)
    files = scan_layout("nmnist", root)
    (root / files["test"]["4"][0]).write_bytes(b"\x01\x02")
    with pytest.raises(DataError, match="on_corrupt: skip"):
        validate_recordings("nmnist", root, files, "error")
    (root / "Train" / "5" / "00002.bin").write_bytes(bytes([50, 1, 0, 0, 1]))  # x out of range
    files = scan_layout("nmnist", root)
    kept, skipped = validate_recordings("nmnist", root, files, "skip")
    assert sorted(s["file"] for s in skipped) == ["Test/4/00001.bin", "Train/5/00002.bin"]
    assert kept["train"]["5"] == ["Train/5/00001.bin"] and kept["test"]["4"] == ["Test/4/00002.bin"] and any("x outside" in s["problem"] for s in skipped)
    # a class left without any valid recording is an error even when skipping
    (root / files["test"]["4"][1]).write_bytes(b"\x01\x02")
    with pytest.raises(DataError, match="every recording of class '4'"):
        validate_recordings("nmnist", root, files, "skip")
