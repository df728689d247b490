# One Snakemake rule per registry stage. Rules are declared inside a function (not in a bare `for`
# loop) so each rule captures its own stage: Snakemake issues 2832/3817.
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
    log_pattern = f"logs/{stage.name}/" + ("-".join("{%s}" % wc for wc in stage.matrix) or "run") + ".log"

    def instance(wildcards):
        return Instance(stage, {wc: wildcards[wc] for wc in stage.matrix})

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
        threads: stage.resources.threads
        resources:
            mem_mb=stage.resources.mem_mb,
            runtime=stage.resources.runtime_min,
            gpu=stage.resources.gpu,
        wildcard_constraints:
            **constraints,
        conda:
            "../../envs/metasnn.yaml"
        shell:
            "{params.cmd}"


for _stage in STAGES.values():
    _declare(_stage)
