"""metasnn — a reproducibility benchmark for meta-learned plasticity in spiking neural networks.

The library knows nothing about Snakemake or DVC: the stage CLIs in ``pipeline/`` call into it.
"""

__version__ = "0.1.0"
