"""The download source with a monkeypatched network: md5 checks, safe extraction, no-network message."""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
import zipfile

import pytest

from metasnn.data import download
from metasnn.data.download import Archive, check_members, download_raw
from metasnn.data.emulator import emulate_nmnist
from metasnn.data.layout import scan_layout
from metasnn.errors import DataError, NetworkUnavailableError


def test_tonic_urls_and_md5s_are_used():
    arch = download.archives("nmnist")
    assert [a.filename for a in arch] == ["train.zip", "test.zip"]
    assert arch[0].md5 == "20959b8e626244a1b502305a9e6e2031" and arch[1].md5 == "69ca8762b2fe404d9b9bad1103e97832"
    assert download.archives("asldvs")[0].md5 == "33f8b87bf45edc0bfed0de41822279b9"


def test_no_network_gives_one_clear_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download, "_open_url", offline)
    with pytest.raises(NetworkUnavailableError) as err:
        download_raw("nmnist", tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "train.zip" in msg and str(tmp_path / "downloads") in msg
    assert str(tmp_path / "N-MNIST") in msg and "data.source: local" in msg and "garrickorchard" in msg
    assert not (tmp_path / "N-MNIST").exists()


def _zip_of(root, prefix):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.relative_to(root).parts[0] == prefix:
                zf.write(path, path.relative_to(root).as_posix())
    return buf.getvalue()


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_verifies_md5_and_extracts_layout(monkeypatch, tmp_path):
    emulate_nmnist(tmp_path / "src", 1, 1, seed=0)
    blobs = {"https://x/train": _zip_of(tmp_path / "src", "Train"), "https://x/test": _zip_of(tmp_path / "src", "Test")}
    fake = [Archive("https://x/train", "train.zip", hashlib.md5(blobs["https://x/train"]).hexdigest()),
            Archive("https://x/test", "test.zip", hashlib.md5(blobs["https://x/test"]).hexdigest())]
    calls = []
    monkeypatch.setattr(download, "archives", lambda dataset: fake)
    monkeypatch.setattr(download, "_open_url", lambda req, timeout: calls.append(req.full_url) or FakeResponse(blobs[req.full_url]))
    target = download_raw("nmnist", tmp_path / "raw")
    assert target == tmp_path / "raw" / "N-MNIST"
    assert scan_layout("nmnist", target) == scan_layout("nmnist", tmp_path / "src")
    # second call: archives present with the right md5 -> no network
    download_raw("nmnist", tmp_path / "raw")
    assert len(calls) == 2
    # a corrupted download is refused and deleted
    fake[0] = Archive("https://x/train", "train.zip", "0" * 32)
    (tmp_path / "raw" / "downloads" / "train.zip").unlink()
    with pytest.raises(DataError, match="md5"):
        download_raw("nmnist", tmp_path / "raw")
    assert not (tmp_path / "raw" / "downloads" / "train.zip").exists()


@pytest.mark.parametrize("member", ["../evil.bin", "Train/../../evil.bin", "/abs/evil.bin"])
def test_zip_members_escaping_the_target_are_refused_before_extraction(tmp_path, member):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Train/0/00001.bin", b"\x00" * 5)
        zf.writestr(member, b"x")
    target = tmp_path / "out" / "target"
    with pytest.raises(DataError, match="escapes"):
        download.safe_extract(archive, target)
    assert not (target / "Train").exists() and not (tmp_path / "out" / "evil.bin").exists()


def test_tar_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("Train/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(DataError, match="link"):
        check_members(archive, tmp_path / "t")


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"nope")
    with pytest.raises(DataError, match="not a zip or tar"):
        check_members(tmp_path / "x.zip", tmp_path / "t")
