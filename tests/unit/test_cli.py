import json
import subprocess
import sys

from metasnn.data.sources import DataSource
from metasnn.errors import DataError
from metasnn.io import atomic_directory
from metasnn.reporting.provenance import VOLATILE_KEYS, read_provenance
from pipeline.cli import stage_main
from tests.conftest import ROOT


def _add(p):
    p.add_argument("--out")
    p.add_argument("--fail", default="no")


def _run(args, ctx):
    ctx.seeds = [3]
    ctx.use_sources([DataSource("nmnist", "shipped", 900), DataSource("asldvs", "synthetic", 480)])
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
    prov = read_provenance(out)
    for key in ("git_sha", "git_dirty", "command", "config_hash", "scale", "data_source", "data_sources", "packages",
                "device", "seeds", "wall_time_s"):
        assert key in prov, key
    assert prov["scale"] == "smoke" and prov["seeds"] == [3]
    assert prov["data_source"] == "emulated ASL-DVS + real N-MNIST (subset, 900 recordings)"
    assert prov["data_sources"]["nmnist"]["label"] == "real N-MNIST (subset, 900 recordings)"
    assert prov["command"].startswith("python -m pipeline.demo --out")
    assert prov["packages"]["torch"].startswith("2.13.0")


def test_volatile_facts_stay_out_of_the_hashed_output(tmp_path):
    """Two identical runs leave byte-identical outputs (what DVC hashes); wall time and git state go beside the log."""
    import shutil

    outputs, out = [], tmp_path / "out"
    for _ in range(2):
        shutil.rmtree(out, ignore_errors=True)
        assert stage_main("demo", "demo", _add, _run, ["--out", str(out), "--log", str(tmp_path / "l.log")]) == 0
        outputs.append((out / "provenance.json").read_bytes())
    assert outputs[0] == outputs[1]
    stable = json.loads(outputs[0])
    assert not set(VOLATILE_KEYS) & set(stable)
    sidecar = json.loads((tmp_path / "l.run.json").read_text())
    assert stable["run_record"] == str(tmp_path / "l.run.json") and "wall_time_s" in sidecar and "git_sha" in sidecar


def test_every_stage_module_has_help():
    """Each registry stage's CLI builds its parser (in-process: one interpreter for all stages)."""
    import importlib

    from pipeline.cli import build_parser
    from pipeline.stages import STAGES

    for stage in STAGES.values():
        module = importlib.import_module(stage.module)
        assert module.__doc__, f"{stage.module} has no docstring for --help"
        text = build_parser(stage.name, module.__doc__, module.add_arguments).format_help()
        assert "--scale" in text and "--log" in text, stage.module
        source = (ROOT / (stage.module.replace(".", "/") + ".py")).read_text()
        assert 'if __name__ == "__main__":' in source and "main(" in source, stage.module  # one CLI may serve several stages


def test_help_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "pipeline.check_config", "--help"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and "validate" in proc.stdout.lower()
