"""The cost meter and the paper-scale projection built on it (make paper-rehearsal)."""

import time

import pytest

from metasnn.errors import ConfigError
from metasnn.reporting.cost_meter import WorkMeter
from metasnn.reporting.projection import (
    JobProjection,
    LoopProjection,
    Sizing,
    project_stage,
    resources,
    table_rows,
    write_projection,
)
from pipeline.registry import scale_resources
from pipeline.stages import STAGES


def test_meter_times_every_unit_and_separates_the_first():
    meter = WorkMeter()
    for i in meter.loop(range(4), "steps", per="outer_steps"):
        time.sleep(0.05 if i == 0 else 0.01)
    meter.loop(iter(()), "never started")  # an unstarted loop is not recorded
    (loop,) = meter.record()["loops"]
    assert loop["units"] == 4 and loop["per"] == ["outer_steps"]
    assert loop["first_s"] >= 0.05 and 0.08 <= loop["seconds"] < 0.5
    rec = meter.record()
    assert rec["peak_rss_mb"] > 10 and rec["process_wall_s"] > 0 and rec["cpu_s"] > 0


def test_projection_scales_the_steady_state_and_keeps_warmup_and_fixed_cost():
    # 3 steps: first 5 s (warm-up), then 2 s each; the paper runs 1000 steps
    loop = LoopProjection("train", units=3, seconds=9.0, first_s=5.0, paper_units=1000, unit="outer_steps")
    assert loop.per_unit_s == pytest.approx(2.0)
    assert loop.projected_s == pytest.approx(5.0 + 999 * 2.0)
    job = JobProjection("sn22_metatrain", {"dataset": "d", "seed": "0"}, process_wall_s=20.0, peak_rss_mb=800,
                        disk_mb=3.0, loops=[loop], data_growth_mb=200)
    assert job.fixed_s == pytest.approx(11.0)
    assert job.projected_s == pytest.approx(11.0 + 5.0 + 999 * 2.0)
    assert job.projected_rss_mb == 1000
    # a paper job is projected from the rehearsal job with the same wildcards except the seed
    other = JobProjection("sn22_metatrain", {"dataset": "e", "seed": "0"}, 5.0, 500, 1.0)
    row = project_stage("sn22_metatrain", [{"dataset": "d", "seed": str(s)} for s in range(5)] +
                        [{"dataset": "e", "seed": "1"}], [job, other], gpu=True)
    assert row.job_s == [job.projected_s] * 5 + [5.0]
    assert row.total_h == pytest.approx((5 * job.projected_s + 5.0) / 3600)
    assert row.peak_rss_mb == 1000 and row.paper_jobs == 6
    (t,) = table_rows([row])
    assert t["unit"] == "outer_steps" and t["units_per_job"] == 1000 and t["rehearsal_units"] == 3
    assert t["s_per_unit"] == 2.0 and t["basis"] == "projected" and t["gpu"] == 1


def test_sizing_adds_the_margin_and_rounds_up():
    row = project_stage("x", [{}], [JobProjection("x", {}, 3600.0 * 2, 1200.0, 0.0)])
    (res,) = resources([row], {"x": 8}, Sizing(margin=1.5)).values()
    assert res == {"mem_mb": 2000, "runtime_min": 180, "threads": 8, "gpu": 0}


def test_projection_table_files(tmp_path):
    row = project_stage("x", [{}], [JobProjection("x", {}, 10.0, 100.0, 1.0)])
    csv_path, md_path = write_projection(tmp_path / "p", [row], header=["# title"])
    assert csv_path.read_text().splitlines()[0].startswith("stage,paper_jobs,unit")
    text = md_path.read_text()
    assert "| x | 1 |" in text and "**total**" in text and "How it is projected" in text


def test_measured_resources_name_only_stages_and_give_gpus_to_device_stages():
    paper = scale_resources("paper")
    assert paper, "config/resources/paper.yaml is missing: run make paper-rehearsal"
    assert set(paper) <= set(STAGES)
    for name, res in paper.items():
        assert res.gpu == STAGES[name].resources.gpu, name
    assert paper["sn22_metatrain"].gpu == 1 and paper["dsp_train"].gpu == 0
    assert scale_resources("default") == {}


def test_a_bad_resources_file_is_an_error(tmp_path):
    (tmp_path / "paper.yaml").write_text("sn22_metatrain: {mem_gb: 4}\n")
    with pytest.raises(ConfigError, match="sn22_metatrain"):
        scale_resources("paper", tmp_path)


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def test_rehearsal_keeps_every_paper_shape_and_caps_only_counts():
    """rehearsal = paper + caps on loop counts (and one point of job grids): no tensor shape may differ."""
    from pipeline.config import load_config

    paper, rehearsal = _flat(load_config("paper")), _flat(load_config("rehearsal"))
    counts = {"scale", "seeds", "data.synthetic.asldvs_per_class", "wu22.epochs", "wu22.fewshot.episodes",
              "wu22.fewshot.test_episodes", "sn22.train.outer_steps", "sn22.train.checkpoint_every", "sn22.train.threads",
              "sn22.eval.val_tasks", "sn22.eval.test_tasks", "sn22.fig3.steps", "sn22.fig3.tasks",
              "sn22.fig4.frozen_layers", "sn22.fig6.shots", "sn22.fig6.tasks", "sn22.fig6.pretrain_steps",
              "sn22.fig6.head_steps", "hardware.inference_net.epochs", "dsp.outer_steps", "dsp.pretrain.steps",
              "dsp.pretrain.head_steps", "dsp.eval.tasks", "dsp.convergence.window", "dsp.beta_sweep.betas",
              "mp23.outer_steps", "mp23.test_episodes", "ip2.max_steps", "ip2.tasks", "ip2.test_episodes",
              "cross_dataset.episodes"}
    changed = {k for k in paper if paper[k] != rehearsal[k]}
    assert changed <= counts, changed - counts
    assert rehearsal["scale"] == "rehearsal"
    # the asl emulation matches the paper build's per-letter cap
    assert rehearsal["data.synthetic.asldvs_per_class"] == paper["data.recordings_per_class.double_asldvs"]
    # grids keep their end points (the projection scales by the paper grid's length)
    for key in ("sn22.fig3.steps", "sn22.fig6.shots"):
        assert rehearsal[key][0] == paper[key][0] and rehearsal[key][-1] == paper[key][-1]


def test_a_stage_run_records_its_cost_in_the_sidecar(tmp_path):
    import json

    from pipeline.cli import stage_main

    def add_arguments(p):
        p.add_argument("--steps", type=int, default=3)

    def run(args, ctx):
        for _ in ctx.progress(range(args.steps), "work", per="steps"):
            pass

    assert stage_main("demo", None, add_arguments, run, ["--log", str(tmp_path / "demo.log")]) == 0
    cost = json.loads((tmp_path / "demo.run.json").read_text())["cost"]
    assert cost["loops"][0]["units"] == 3 and cost["loops"][0]["per"] == ["steps"]
    assert cost["peak_rss_mb"] > 0 and cost["process_wall_s"] > 0
