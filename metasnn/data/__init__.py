"""Event data: raw readers, sensor emulator, download, Double meta-datasets, episodes, corruptions.

Public interface (see ``/work/shared/specs/data.md`` and ``metasnn/data/EMULATION.md``)::

    from metasnn.data import load_metadataset, EpisodeSpec, EpisodeSampler, Episode
    ds = load_metadataset("data/meta/double_nmnist")
    sampler = EpisodeSampler(ds, split="train", spec=EpisodeSpec(5, 1, 10), seed=0)
    ep = sampler.episode(0)   # ep.support_x float32 [T, 5, 2, 32, 16], ep.support_y int64 [5], ...
"""

from metasnn.data.episodes import Episode, EpisodeSampler, EpisodeSpec
from metasnn.data.events import ASL_LETTERS, EVENT_DTYPE
from metasnn.data.formats import read_asldvs_mat, read_nmnist_bin, write_asldvs_mat, write_nmnist_bin
from metasnn.data.metadataset import BuildOptions, MetaDataset, build_metadataset, load_metadataset
from metasnn.data.single_digits import load_single_digits

__all__ = [
    "ASL_LETTERS",
    "EVENT_DTYPE",
    "BuildOptions",
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
