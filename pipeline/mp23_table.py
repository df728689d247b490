"""mp23_rule_ablation table and figure: few-shot meta-test accuracy of the mp23 rule variants (ABCD / BD /
A-only / fixed) per meta-dataset, mean ± std over seeds with a 95% CI over test tasks and cost columns; claim
mp23-C1 (the meta-learned ABCD rule beats the fixed and ablated rules): paired t-test over seeds of ABCD
minus the strongest other variant (by mean accuracy), seed values averaged over the datasets.
Built by metasnn.reporting.mp23; each row's data source comes from the runs' provenance records.
"""

from __future__ import annotations

from metasnn.reporting.mp23 import write_mp23
from pipeline.cli import main
from pipeline.cli_flags import add_runs_table_flags
from pipeline.cli_runs import write_runs_table


def add_arguments(p) -> None:
    add_runs_table_flags(p, "mp23_train")


def run(args, ctx):
    claim = write_runs_table(args, ctx, write_mp23)
    if claim is not None:
        ctx.log.info("mp23-C1: %s (effect %.2f, p=%s)", claim.verdict, claim.effect, claim.p_value)


if __name__ == "__main__":
    main("mp23_table", __doc__, add_arguments, run)
