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
    assert str(tmp_path / "N-MNIST") in msg and "data.source.nmnist: local" in msg and "garrickorchard" in msg
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


# --- every archive failure is a DataError naming the archive, and leaves nothing in the target ---


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


def _tar_gz(path, files):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_truncated_tar_gz_is_a_dataerror(tmp_path):
    import os

    archive = _tar_gz(tmp_path / "a.tar.gz", {f"Train/0/{i}.bin": os.urandom(4000) for i in range(5)})
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as err:
        check_members(archive, tmp_path / "t")
    assert str(archive) in str(err.value)
    with pytest.raises(DataError, match="a.tar.gz"):
        download.safe_extract(archive, tmp_path / "t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz"]


def _bad_crc_zip(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("Train/0/good.bin", b"\x01" * 500)
        zf.writestr("Train/0/bad.bin", b"\x02" * 500)
    data = bytearray(path.read_bytes())
    i = data.index(b"\x02" * 500)
    data[i + 100] ^= 0xFF  # flip payload bits: the stored CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def test_zip_with_bad_crc_is_a_dataerror_and_leaves_no_partial_file(tmp_path):
    archive = _bad_crc_zip(tmp_path / "crc.zip")
    check_members(archive, tmp_path / "out")  # the central directory is intact
    with pytest.raises(DataError) as err:
        download.safe_extract(archive, tmp_path / "out" / "target")
    assert str(archive) in str(err.value) and "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crc.zip"]  # no target, no temporary, no parent


def test_failed_extraction_into_existing_target_leaves_it_as_it_was(tmp_path):
    target = tmp_path / "target"
    (target / "Train" / "0").mkdir(parents=True)
    (target / "Train" / "0" / "old.bin").write_bytes(b"old")
    before = _tree(target)
    with pytest.raises(DataError, match="crc.zip"):
        download.safe_extract(_bad_crc_zip(tmp_path / "crc.zip"), target)
    assert _tree(target) == before and (target / "Train" / "0" / "old.bin").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crc.zip", "target"]


def test_successful_extraction_merges_into_existing_target(tmp_path):
    target = tmp_path / "target"
    (target / "Train" / "0").mkdir(parents=True)
    (target / "Train" / "0" / "old.bin").write_bytes(b"old")
    archive = tmp_path / "ok.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Train/0/new.bin", b"new")
        zf.writestr("Test/1/x.bin", b"x")
    assert download.safe_extract(archive, target) == ["Train/0/new.bin", "Test/1/x.bin"]
    assert _tree(target) == ["Test", "Test/1", "Test/1/x.bin", "Train", "Train/0", "Train/0/new.bin", "Train/0/old.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.zip", "target"]


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("Train/link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="link.zip: member 'Train/link' is a link"):
        download.safe_extract(archive, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_missing_or_directory_archive_is_a_dataerror(tmp_path):
    with pytest.raises(DataError, match="nope.zip: archive not found"):
        check_members(tmp_path / "nope.zip", tmp_path / "t")
    (tmp_path / "dir.zip").mkdir()
    with pytest.raises(DataError, match="dir.zip"):
        download.safe_extract(tmp_path / "dir.zip", tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_file_and_directory_of_the_same_name_is_a_dataerror(tmp_path):
    archive = tmp_path / "clash.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Train", b"a file")
        zf.writestr("Train/0/x.bin", b"x")
    with pytest.raises(DataError, match="clash.zip"):
        download.safe_extract(archive, tmp_path / "t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clash.zip"]


# --- ASL-DVS: tonic's URL points to a deleted Dropbox file (tonic issue 284) ---


def _assert_asldvs_hint(msg, root):
    assert "\n" not in msg
    assert "original host is gone" in msg and "tonic issue 284" in msg
    assert "data.source.asldvs: local" in msg and "<data.root>/ASL-DVS/<letter a-y without j>/*.mat" in msg
    assert str(root / "ASL-DVS") in msg


def test_asldvs_download_failure_says_the_host_is_gone(monkeypatch, tmp_path):
    def gone(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)

    monkeypatch.setattr(download, "_open_url", gone)
    with pytest.raises(NetworkUnavailableError) as err:
        download_raw("asldvs", tmp_path)
    _assert_asldvs_hint(str(err.value), tmp_path)
    assert not (tmp_path / "ASL-DVS").exists()


def test_asldvs_download_of_something_else_says_the_host_is_gone(monkeypatch, tmp_path):
    # a deleted share may answer 200 with an HTML page: the md5 check fails, with the same hint
    monkeypatch.setattr(download, "_open_url", lambda request, timeout: FakeResponse(b"<html>file deleted</html>"))
    with pytest.raises(DataError) as err:
        download_raw("asldvs", tmp_path)
    assert "md5" in str(err.value)
    _assert_asldvs_hint(str(err.value), tmp_path)
    assert not (tmp_path / "ASL-DVS").exists() and not (tmp_path / "downloads" / "ASLDVS.zip").exists()


def test_download_of_an_unknown_dataset_is_a_dataerror(tmp_path):
    with pytest.raises(DataError, match="unknown raw dataset"):
        download_raw("mnist", tmp_path)
