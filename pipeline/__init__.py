"""The metasnn pipeline: one stage registry (``pipeline.stages``) from which the Snakemake rules
and ``dvc.yaml`` are derived, and one CLI module per stage (``python -m pipeline.<stage>``)."""
