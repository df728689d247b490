"""The stage model: what a stage is, and how one stage becomes commands, inputs and outputs.

``pipeline/stages/`` declares every stage of the pipeline with these types; the Snakemake rules
(``pipeline/rules/stages.smk``) and ``dvc.yaml`` (``pipeline/export_dvc.py``) are both derived from
it, so the two engines run the same commands on the same files.

An argument value is one of

* ``str``  — a literal, may contain ``{wildcard}`` placeholders;
* ``W(name)`` — the value of a matrix wildcard;
* ``P(key)`` — a config value (dotted key, may contain ``{wildcard}``). Scalars are rendered as
  DVC templates (``${key}``) in ``dvc.yaml`` so ``dvc exp run -S key=value`` works; lists are
  rendered as space-separated values (a list change reshapes the command: re-export dvc.yaml);
* ``In(path)`` / ``Out(path)`` — a dependency / an output path;
* ``Each(template, over={wildcard: key})`` — a dependency expanded over config lists
  (aggregators: one table from all seeds);
* ``Gather(fn)`` — dependencies computed from the whole registry and config;
* ``JobDeps(fn)`` — dependencies computed from one job's wildcard values (another stage's job's outputs).

A stage's ``matrix`` maps each wildcard to the config list (or literal tuple) of its values, every
combination being a job; or it is ``Jobs(wildcards, fn)``, the jobs listed by a function of the config
(one per trained model: not every combination exists).
"""

from pipeline.registry.instance import Instance
from pipeline.registry.resources import RESOURCES_DIR, Resources, scale_resources
from pipeline.registry.stage import Stage
from pipeline.registry.values import ArgValue, Each, Gather, In, JobDeps, Jobs, Out, P, W, render_value

__all__ = ["W", "P", "In", "Out", "Each", "Gather", "JobDeps", "Jobs", "ArgValue", "Resources", "RESOURCES_DIR",
           "scale_resources", "Stage", "Instance", "render_value"]
