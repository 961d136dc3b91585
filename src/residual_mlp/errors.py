"""The one exception type for bad input: the command line prints it as `error: ...` and exits 2."""


class InputError(ValueError):
    """Bad input from the user (a file, a column, an option); the message names what and where."""
