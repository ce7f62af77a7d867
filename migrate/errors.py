"""The one exception type that reaches the user as a clean one-line message (exit 2)."""


class UserError(Exception):
    """Bad input or configuration: the CLI prints str(exc) on one line and exits 2, no traceback."""
