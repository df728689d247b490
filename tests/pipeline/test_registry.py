"""The stage registry is the one source of truth for Snakemake and DVC."""

import re

import yaml

from pipeline.config import load_config
from pipeline.export_dvc import main as export_main
from pipeline.stages import STAGES, instances
from tests.conftest import ROOT, run


def test_dvc_yaml_is_up_to_date():
    assert export_main(["--check"]) == 0


def test_hand_edited_dvc_yaml_is_detected(tmp_path, capsys):
    edited = tmp_path / "dvc.yaml"
    text = (ROOT / "dvc.yaml").read_text()
    edited.write_text(text.replace("--scale ${scale}", "--scale smoke", 1))
    assert export_main(["--check", "--output", str(edited)]) == 1
    assert "stale or hand-edited" in capsys.readouterr().err


def test_metrics_and_plots_are_declared_and_cached_for_dvc_experiments():
    from pipeline.export_dvc import build_dvc

    stages = build_dvc(load_config("default"))["stages"]
    metrics = [m for s in stages.values() for m in s.get("metrics", [])]
    plots = [p for s in stages.values() for p in s.get("plots", [])]
    assert any("sn22_evaluate" in m for m in metrics) and any(p.endswith("curve.csv") for p in plots)
    # plain paths = cached: `dvc exp show` reads an experiment's metrics from the cache (results/ is git-ignored)
    assert all(isinstance(m, str) for m in metrics + plots)


def test_every_stage_depends_on_validated_config_except_the_validator():
    cfg = load_config("default")
    for inst in instances(cfg):
        deps = inst.deps(cfg, engine="dvc")
        assert ("results/config/validated.json" in deps) == (inst.stage.name != "check_config")


def test_no_two_jobs_write_the_same_output():
    for scale in ("smoke", "default", "rehearsal", "paper"):
        cfg = load_config(scale)
        outs = [o.path for inst in instances(cfg) for o in inst.outputs()]
        assert len(outs) == len(set(outs)), scale


def _snakemake_commands(repo, *extra):
    out = run(["snakemake", "-n", "-p", "--forceall", *extra], repo).stdout
    return sorted(line.split("Shell command: ", 1)[1].strip() for line in out.splitlines()
                  if line.startswith("Shell command: ") and "None" not in line)


def _dvc_commands(repo):
    out = run(["dvc", "repro", "--dry", "-f"], repo).stdout
    return sorted(line[2:].strip() for line in out.splitlines() if line.startswith("> "))


def test_snakemake_and_dvc_plan_the_same_commands(repo_copy):
    snake = _snakemake_commands(repo_copy)
    dvc = _dvc_commands(repo_copy)
    assert snake and snake == dvc
    assert len(snake) == len(instances(load_config("default")))


def test_same_commands_at_smoke_scale(repo_copy):
    snake = _snakemake_commands(repo_copy, "--configfile", "config/scales/smoke.yaml")
    run(["python", "-m", "pipeline.apply_scale", "smoke"], repo_copy)
    assert "scale: smoke" in (repo_copy / "params.yaml").read_text()
    assert snake == _dvc_commands(repo_copy)


def test_rules_are_the_registry_stages(repo_copy):
    out = run(["snakemake", "--list-rules"], repo_copy).stdout.split()
    assert set(out) == set(STAGES) | {"all"}


def test_slurm_dry_run_shows_resources_and_gpus(repo_copy):
    out = run(["snakemake", "-n", "--forceall", "--workflow-profile", "profiles/slurm"], repo_copy).stdout
    blocks = re.split(r"\n(?=rule |localrule )", out)
    seen = 0
    for stage in STAGES.values():
        for block in blocks:
            if re.match(rf"(local)?rule {stage.name}:", block):
                seen += 1
                assert f"mem_mb={stage.resources.mem_mb}" in block
                assert f"gpu={stage.resources.gpu}" in block
    assert seen >= len(STAGES)


def test_slurm_dry_run_at_paper_scale_requests_what_the_rehearsal_measured(repo_copy):
    """Paper scale: each submission asks for config/resources/paper.yaml (measured), GPU stages for a GPU,
    and METASNN_GPU_PARTITION sends exactly the GPU stages to their own partition."""
    from pipeline.registry import scale_resources

    measured = scale_resources("paper")
    cmd = ("METASNN_GPU_PARTITION=gpuq snakemake -n --forceall --workflow-profile profiles/slurm "
           "--configfile config/scales/paper.yaml")
    blocks = re.split(r"\n(?=rule |localrule )", run(cmd, repo_copy).stdout)
    seen = set()
    for name, res in measured.items():
        for block in blocks:
            if re.match(rf"(local)?rule {name}:", block):
                seen.add(name)
                assert f"mem_mb={res.mem_mb}" in block and f"runtime={res.runtime_min}" in block, name
                assert f"gpu={res.gpu}" in block
                assert ("slurm_partition=gpuq" in block) == bool(res.gpu), name
    assert {"sn22_metatrain", "dsp_train", "build_metadataset"} <= seen
    assert any(STAGES[n].resources.gpu for n in seen)


def test_bad_key_stops_snakemake_with_one_line(repo_copy):
    bad = repo_copy / "bad.yaml"
    bad.write_text("data:\n  sourc: local\n")
    proc = run(["snakemake", "-n", "--configfile", "bad.yaml"], repo_copy, check=False)
    assert proc.returncode != 0
    assert "bad.yaml: unknown key 'data.sourc' (did you mean 'source'?)" in proc.stderr  # names the file that set it
    assert "Traceback" not in proc.stderr
    assert not (repo_copy / "results").exists()


def test_bad_key_stops_dvc_before_any_stage(repo_copy):
    params = repo_copy / "params.yaml"
    params.write_text(params.read_text().replace("on_corrupt: error", "on_corrupt: error\n  windw_ms: 3"))
    proc = run(["dvc", "repro"], repo_copy, check=False)
    assert proc.returncode != 0
    assert "unknown key 'data.windw_ms' (did you mean 'window_ms'?)" in proc.stderr + proc.stdout
    assert not (repo_copy / "results" / "config" / "validated.json").exists()
    produced = [p for p in (repo_copy / "results").rglob("*") if p.is_file()] if (repo_copy / "results").exists() else []
    assert produced == []


def test_check_config_cli_reports_bad_key_on_one_line(repo_copy):
    params = repo_copy / "params.yaml"
    params.write_text(params.read_text().replace("seeds: [0, 1, 2]", "seeds: [0, 1, 2]\nseedz: 3"))
    proc = run(["python", "-m", "pipeline.check_config", "--params", "params.yaml", "--out", "results/config/validated.json"],
               repo_copy, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: unknown key 'seedz' (did you mean 'seeds'?)")


def test_every_few_shot_method_is_scored_on_the_same_tasks():
    """One evaluation task set: every stage that scores meta-val / meta-test tasks takes config eval_seed, and its
    CLI builds every non-train episode sampler from that seed (was 1234, 4321, 10 000 and 10 000 + seed)."""
    import ast
    import importlib
    import inspect

    from pipeline.registry import P
    from pipeline.stages import STAGES

    scoring = {"sn22_evaluate", "sn22_inner_steps", "sn22_frozen_evaluate", "sn22_threshold_evaluate", "sn22_transfer",
               "wu22_fewshot_hp", "dsp_train", "dsp_beta_sweep", "mp23_train", "ip2_train", "cross_dataset_eval"}
    for name in scoring:
        args = dict(STAGES[name].args)
        assert args.get("--eval-seed") == P("eval_seed"), name
    for module in {STAGES[name].module for name in scoring}:
        tree = ast.parse(inspect.getsource(importlib.import_module(module)))
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "EpisodeSampler"):
            split = call.args[1] if len(call.args) > 1 else None
            if isinstance(split, ast.Constant) and split.value == "train":
                continue  # meta-training episodes follow the training seed
            seed = next(k.value for k in call.keywords if k.arg == "seed")
            assert "eval_seed" in ast.unparse(seed), f"{module}: EpisodeSampler(..., seed={ast.unparse(seed)})"


def test_profiles_name_only_rules_that_exist():
    """A rule a profile names (set-resources / set-threads entries, and command lines in its comments) is a stage."""
    for profile in sorted((ROOT / "profiles").glob("*/config.yaml")):
        text = profile.read_text()
        config = yaml.safe_load(text) or {}
        named = {str(k) for key in ("set-resources", "set-threads") for k in (config.get(key) or {})}
        named |= set(re.findall(r"--set-(?:resources|threads)\s+([A-Za-z_]\w*)[:=]", text))
        unknown = sorted(named - set(STAGES))
        assert not unknown, f"{profile}: names rules that do not exist: {unknown}"


def test_cross_dataset_runs_one_job_per_trained_model_found_from_the_training_stages():
    """The jobs of cross_dataset_eval are the models the training stages write (method × dataset × seed), each
    reading the directory its training job declares; the table gathers exactly their runs."""
    cfg = load_config("default")
    jobs = {(i.wildcards["method"], i.wildcards["dataset"], i.wildcards["seed"]): i
            for i in STAGES["cross_dataset_eval"].instances(cfg)}
    trainers = {name: st.trains for name, st in STAGES.items() if st.trains}
    assert trainers.items() >= {"sn22_metatrain": ("fomaml_snn", "maml_cnn", "maml_snn"), "wu22_fewshot_hp": ("hp",),
                                "dsp_train": ("dsp", "eihl", "stbp", "stdp"), "mp23_train": ("mp23",),
                                "ip2_train": ("ip2",)}.items()  # a stage added with trains= joins by itself
    trained = {(i.wildcards.get("method", methods[0]), i.wildcards["dataset"], i.wildcards["seed"])
               for name, methods in trainers.items() for i in STAGES[name].instances(cfg)}
    assert set(jobs) == {k for k in trained if k[0] in {m for ms in trainers.values() for m in ms}}
    assert ("dsp_fixed", "double_nmnist", "0") not in jobs  # trained by dsp_train, but not declared in its trains=
    model = {k: i.command(cfg).split(" --model ")[1].split()[0] for k, i in jobs.items()}
    assert model[("mp23", "double_asldvs", "2")] == "results/runs/mp23_train/double_asldvs/seed2"  # a directory output
    assert model[("stbp", "double_nmnist", "1")] == "results/runs/dsp_train/stbp/double_nmnist/seed1"  # model.pt's folder
    assert model[("hp", "double_asldvs", "0")] == "results/runs/wu22_fewshot_hp/double_asldvs/seed0"
    assert "results/runs/dsp_train/stbp/double_nmnist/seed1/metrics.json" in jobs[("stbp", "double_nmnist", "1")].deps(cfg)
    runs = [o.path for i in jobs.values() for o in i.outputs()]
    (table,) = STAGES["cross_dataset"].instances(cfg)
    assert [d for d in table.deps(cfg) if d.startswith("results/runs/")] == runs


def test_a_stage_depends_on_the_pipeline_modules_its_cli_computes_with():
    """A CLI reusing another CLI's helpers or pipeline/cli_runs.py reruns when they change; argument parsing and
    config plumbing (pipeline/cli*.py, config, registry, stages) do not rerun anything."""
    from pipeline.registry.stage import pipeline_imports

    transfer = STAGES["sn22_transfer"].code_paths()
    assert {"pipeline/sn22_transfer.py", "pipeline/cli_runs.py", "pipeline/metatrain.py"} <= set(transfer)
    assert "pipeline/wu22_train.py" in STAGES["wu22_robustness"].code_paths()
    assert "pipeline/evaluate_fewshot.py" not in STAGES["sn22_metatrain"].code_paths()
    every = {f for s in STAGES.values() for f in pipeline_imports(s.module)}
    assert not every & {"pipeline/cli.py", "pipeline/cli_flags.py", "pipeline/cli_defaults.py", "pipeline/config.py"}
