"""ip2_learning_to_learn table and figure: inner steps to criterion at each task of the learning-to-learn
sequence for the intrinsic-plasticity RSNN and the point-neuron baseline (mean ± std over seeds), the
per-seed OLS slope of steps vs task index, and meta-test accuracy. Claim ip2-C1 (learning gets faster across
tasks with intrinsic plasticity, not with point neurons): intersection-union test — holds only if both the
one-sample t-test of the intrinsic slopes (< 0) and the paired t-test of intrinsic − point slopes (< 0) are
significant; reported p = the larger of the two. Built by metasnn.reporting.ip2; the data sources come from
the runs' provenance records.
"""

from __future__ import annotations

from metasnn.reporting.ip2 import write_ip2
from pipeline.cli import main
from pipeline.cli_flags import add_runs_table_flags
from pipeline.cli_runs import write_runs_table


def add_arguments(p) -> None:
    add_runs_table_flags(p, "ip2_train")


def run(args, ctx):
    claim = write_runs_table(args, ctx, write_ip2)
    ctx.log.info("ip2-C1: %s (%s)", claim.verdict, claim.note)


if __name__ == "__main__":
    main("ip2_table", __doc__, add_arguments, run)
