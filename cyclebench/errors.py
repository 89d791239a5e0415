"""Errors that are the user's to fix: ``cyclebench`` prints them as one line and exits 2."""


class UserError(Exception):
    """Base of the project's own user-facing errors (the message names file, key or value)."""


class DeviceUnavailableError(UserError, RuntimeError):
    """A profile or flag asks for a device this machine does not have."""


class ConfigError(ValueError, UserError):
    """A configuration value is missing, unknown or of the wrong type (the message names it)."""


class DownloadError(UserError, RuntimeError):
    """A dataset or weights file could not be fetched (offline, login refused, server down)."""
