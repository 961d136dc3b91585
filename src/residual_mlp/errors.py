"""The one exception type for bad input: the command line prints it as `error: ...` and exits 2."""


class InputError(ValueError):
    """Bad input from the user (a file, a column, an option); the message names what and where."""


def short_reason(e, limit=160):
    """The first line of an exception's message (or its type's name), cut to `limit` characters."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:limit]
