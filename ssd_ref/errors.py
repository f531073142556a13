"""Errors a user can fix (a bad config, a wrong folder): the CLI prints them as one line."""

from __future__ import annotations


class UserError(Exception):
    """Raised for input the user can correct; ``str(error)`` is the whole message."""


class ConfigError(UserError, ValueError):
    """A config value, override or preset that cannot be used."""


class RunFolderError(UserError, ValueError):
    """The run folder does not fit the request (holds another run, nothing to resume)."""
