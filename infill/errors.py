"""The one error type users see: a single line naming what is wrong and what to do."""


class InfillUsageError(Exception):
    """Bad input (option, file, name). The plugin prints the message as one line and exits with code 2."""
