# metasnn pipeline — Snakemake front end. Thin by design: the stages live in pipeline/stages/
# (the one registry dvc.yaml is generated from too); pipeline/rules/stages.smk turns each into a rule.
#   snakemake --cores 8 all                                   default scale (params.yaml)
#   snakemake --cores 8 all --configfile config/scales/paper.yaml
#   snakemake --workflow-profile profiles/ci                  smoke scale
import sys

from metasnn.errors import ConfigError
from pipeline.config import validate_workflow_config
from pipeline.stages import instances

configfile: "params.yaml"
report: "pipeline/report/workflow.rst"

try:
    # params.yaml and every --configfile delta are read again (duplicate keys are errors), then the
    # merged config is validated; errors name the file that set the key.
    validate_workflow_config(config, ["params.yaml", *map(str, workflow.overwrite_configfiles or ())])
except ConfigError as _err:
    sys.stderr.write(f"error: {_err}\n")
    sys.exit(2)


localrules: all, check_config, report


rule all:
    input:
        [out.path for inst in instances(config) for out in inst.outputs()],
    default_target: True


include: "pipeline/rules/stages.smk"
