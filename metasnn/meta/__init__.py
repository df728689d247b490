"""Meta-learning machinery shared by every method: MAML family, outer optimiser, training loop."""

from metasnn.meta.maml import (
    AdaptResult,
    EpisodeLike,
    InnerLoop,
    LossFn,
    Params,
    accuracy,
    adapt,
    adapted_names,
    functional_loss,
    meta_loss,
    task_loss,
    threshold_transform,
)
from metasnn.meta.outer import MetaOptimizer
from metasnn.meta.training import CheckpointConfig, TrainResult, check_finite_loss, train_loop, write_curve

__all__ = [
    "AdaptResult",
    "EpisodeLike",
    "InnerLoop",
    "LossFn",
    "Params",
    "accuracy",
    "adapt",
    "adapted_names",
    "functional_loss",
    "meta_loss",
    "task_loss",
    "threshold_transform",
    "MetaOptimizer",
    "CheckpointConfig",
    "TrainResult",
    "check_finite_loss",
    "train_loop",
    "write_curve",
]
