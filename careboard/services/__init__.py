"""Domain rules as plain functions: they take a session and values, never commit."""


class DomainError(Exception):
    """A rule refused the change; the message is shown to the user as it is (already translated)."""
