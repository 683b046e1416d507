"""Errors meant for users: each carries a message that says what happened and what to do."""


class DocvalidateError(Exception):
    """Base class: the CLI prints the message on one line and exits with ``exit_code``."""

    exit_code = 1


class ConfigError(DocvalidateError):
    """Invalid configuration file, key or value."""

    exit_code = 2


class UsageError(DocvalidateError):
    """A command-line argument that cannot be used (missing path, bad value)."""

    exit_code = 2


class SandboxError(DocvalidateError):
    """The isolation asked for cannot be had here: nothing runs."""

    exit_code = 2
