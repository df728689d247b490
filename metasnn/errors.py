"""Errors a user can cause.

Every exception here carries a message that names the offending file or key and says how to fix
it. Stage CLIs print the message on one line, without a traceback, and exit non-zero.
"""

from __future__ import annotations


class MetasnnError(Exception):
    """Base class of user-facing errors (bad config, missing/corrupt data, no network, ...)."""


class ConfigError(MetasnnError):
    """A configuration file or key is wrong (unknown key, wrong type, bad value)."""


class DataError(MetasnnError):
    """Raw or derived data is missing, corrupt or in the wrong layout."""


class NetworkUnavailableError(DataError):
    """A download was requested but the network cannot be reached."""


class TrainingDivergedError(MetasnnError):
    """Training produced a non-finite or exploding loss."""


class CheckpointError(MetasnnError):
    """A checkpoint or cache file cannot be loaded safely."""
