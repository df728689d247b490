"""Event data: raw readers, sensor emulator, download, Double meta-datasets, episodes, corruptions.

Public interface (data formats and sources: ``datasets/README.md``, ``metasnn/data/EMULATION.md`` and the README)::

    from metasnn.data import load_metadataset, EpisodeSpec, EpisodeSampler, Episode
    ds = load_metadataset("data/meta/double_nmnist")
    sampler = EpisodeSampler(ds, split="train", spec=EpisodeSpec(5, 1, 10), seed=0)
    ep = sampler.episode(0)   # ep.support_x float32 [T, 5, 2, 32, 16], ep.support_y int64 [5], ...
"""

from importlib import import_module
from typing import Any

# Exports are imported on first use, so importing a light submodule (``metasnn.data.sources``,
# ``metasnn.data.layout``) does not import torch.
_EXPORTS = {
    "Episode": "episodes", "EpisodeSampler": "episodes", "EpisodeSpec": "episodes",
    "ASL_LETTERS": "events", "EVENT_DTYPE": "events",
    "read_asldvs_mat": "formats", "read_nmnist_bin": "formats", "write_asldvs_mat": "formats", "write_nmnist_bin": "formats",
    "BuildOptions": "metadataset", "MetaDataset": "metadataset", "build_metadataset": "metadataset",
    "load_metadataset": "metadataset",
    "load_single_digits": "single_digits",
    "DataSource": "sources",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"metasnn.data.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'metasnn.data' has no attribute {name!r}")


__all__ = [
    "ASL_LETTERS",
    "EVENT_DTYPE",
    "BuildOptions",
    "DataSource",
    "Episode",
    "EpisodeSampler",
    "EpisodeSpec",
    "MetaDataset",
    "build_metadataset",
    "load_metadataset",
    "load_single_digits",
    "read_asldvs_mat",
    "read_nmnist_bin",
    "write_asldvs_mat",
    "write_nmnist_bin",
]
