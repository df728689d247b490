import json
import subprocess
import sys

from metasnn.errors import DataError
from metasnn.io import atomic_directory
from pipeline.cli import stage_main


def _add(p):
    p.add_argument("--out")
    p.add_argument("--fail", default="no")


def _run(args, ctx):
    ctx.seeds = [3]
    ctx.data_source = "synthetic"
    with atomic_directory(args.out) as tmp:
        (tmp / "result.txt").write_text("ok")
        if args.fail == "user":
            raise DataError("data/raw/x.bin: truncated (12 bytes, not a multiple of 5); re-download it")
        ctx.write_provenance(tmp)


def test_user_error_is_one_line_exit_2_and_no_output(tmp_path, capsys):
    out = tmp_path / "out"
    rc = stage_main("demo", "demo", _add, _run, ["--out", str(out), "--fail", "user", "--log", str(tmp_path / "l.log")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1] == "error: data/raw/x.bin: truncated (12 bytes, not a multiple of 5); re-download it"
    assert not any("Traceback" in line for line in err)
    assert not out.exists()
    assert "error: data/raw/x.bin" in (tmp_path / "l.log").read_text()


def test_provenance_records_how_the_output_was_made(tmp_path):
    out = tmp_path / "out"
    rc = stage_main("demo", "demo", _add, _run, ["--out", str(out), "--scale", "smoke", "--log", str(tmp_path / "l.log")])
    assert rc == 0
    prov = json.loads((out / "provenance.json").read_text())
    for key in ("git_sha", "git_dirty", "command", "config_hash", "scale", "data_source", "packages", "device",
                "seeds", "wall_time_s"):
        assert key in prov, key
    assert prov["scale"] == "smoke" and prov["seeds"] == [3] and prov["data_source"] == "synthetic"
    assert prov["command"].startswith("python -m pipeline.demo --out")
    assert prov["packages"]["torch"].startswith("2.13.0")


def test_every_stage_module_has_help(tmp_path):
    from pipeline.stages import STAGES

    for stage in STAGES.values():
        proc = subprocess.run([sys.executable, "-m", stage.module, "--help"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (stage.module, proc.stderr[-2000:])
        assert "--scale" in proc.stdout and "--log" in proc.stdout
