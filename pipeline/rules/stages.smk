# One Snakemake rule per registry stage. Rules are declared inside a function (not in a bare `for`
# loop) so each rule captures its own stage: Snakemake issues 2832/3817.
import os
import re

from pipeline.registry import Instance
from pipeline.report_captions import report_item
from pipeline.stages import STAGES


def _output(out):
    """A registry Out as a Snakemake output: directory(), or report() for tables and figures."""
    if out.directory:
        return directory(out.path)
    item = report_item(out.path)
    if item is None:
        return out.path
    caption, category, subcategory = item
    return report(out.path, caption=caption, category=category, subcategory=subcategory)


def _declare(stage):
    outs = [_output(o) for o in stage.output_patterns()]
    constraints = {wc: "|".join(re.escape(v) for v in vals) for wc, vals in stage.matrix_values(config).items()}
    log_pattern = f"logs/{stage.name}/" + ("-".join("{%s}" % wc for wc in stage.wildcards) or "run") + ".log"

    res = stage.resources_at(config)  # measured requests at a scale that has them (config/resources/)
    gpu_partition = os.environ.get("METASNN_GPU_PARTITION") if res.gpu else None  # one line sends GPU stages there

    def instance(wildcards):
        return Instance(stage, {wc: wildcards[wc] for wc in stage.wildcards})

    rule:
        name: stage.name
        input:
            lambda wc: instance(wc).deps(config) + stage.code_files(),
        output:
            *outs,
        log:
            log_pattern,
        params:
            cmd=lambda wc: instance(wc).command(config),
        threads: res.threads
        resources:
            mem_mb=res.mem_mb,
            runtime=res.runtime_min,
            gpu=res.gpu,
            **({"slurm_partition": gpu_partition} if gpu_partition else {}),
        wildcard_constraints:
            **constraints,
        conda:
            "../../envs/metasnn.yaml"
        shell:
            "{params.cmd}"


for _stage in STAGES.values():
    _declare(_stage)
