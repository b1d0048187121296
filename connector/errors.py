"""One error tree for the platform boundary; the type carries the decision.

``client.py`` of each plugin translates SDK and HTTP errors into these where they happen;
callers branch on the type or on ``permanent``, never on message text. Messages never carry
a token or another secret.
"""

from __future__ import annotations


class PlatformError(Exception):
    """A call to an accounting platform failed.

    Attributes:
        permanent: True when retrying the same call cannot succeed (bad request, revoked grant).
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class AuthRevoked(PlatformError):
    """The grant is gone (refresh token expired, revoked or rejected): the user must reconnect."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class RateLimited(PlatformError):
    """The platform asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, permanent=False)
        self.retry_after = retry_after


class TemporaryFailure(PlatformError):
    """A transient failure (5xx, reset connection, timeout): retry later with backoff."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class PluginError(Exception):
    """A platform plugin is unknown or cannot be loaded; the message names it."""


class ConfigError(Exception):
    """The configuration is invalid; the message names the environment variable at fault."""
