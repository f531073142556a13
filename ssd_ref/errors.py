"""Errors a user can fix (a bad config, a wrong folder): the CLI prints them as one line."""

from __future__ import annotations


class UserError(Exception):
    """Raised for input the user can correct; ``str(error)`` is the whole message."""


class ConfigError(UserError, ValueError):
    """A config value, override or preset that cannot be used."""


class RunFolderError(UserError, ValueError):
    """The run folder does not fit the request (holds another run, nothing to resume)."""


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used: missing, empty, truncated, not ssd_ref's, unsafe."""


class DeviceError(UserError, ValueError):
    """A device that this machine does not have (``--device cuda`` without CUDA)."""


class EnvironmentSettingError(UserError, ValueError):
    """A malformed torchrun variable (WORLD_SIZE, RANK, LOCAL_RANK) in the environment."""
