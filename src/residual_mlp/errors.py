"""The exceptions the command line turns into exit statuses, and the statuses themselves.

    0    trained and saved (or: the command did what it was asked); also when the reader of standard
         output went away (a closed pipe) after the command's files were written
    1    a check failed (`gradcheck`)
    2    bad input or options: InputError, printed as one line `error: ...`; an output that cannot be
         written, standard output included (`error: cannot write to standard output: ...`)
    3    training diverged (a non-finite loss, or a loss above 10 times the first epoch's): Diverged
    130  interrupted by SIGINT (Ctrl-C)
    143  terminated by SIGTERM
"""

EXIT_OK, EXIT_CHECK_FAILED, EXIT_INPUT, EXIT_DIVERGED, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 3, 130, 143


class InputError(ValueError):
    """Bad input from the user (a file, a column, an option); the message names what and where."""


class OutputError(InputError):
    """An output (model, checkpoint, figure, predictions) cannot be written; the message names it."""


class Diverged(ArithmeticError):
    """Training diverged; the message names the epoch and what to try. No output was written."""


class Interrupted(Exception):
    """Training was stopped by a signal; `status` is 130 (SIGINT) or 143 (SIGTERM). No output was written."""

    def __init__(self, message, status=EXIT_SIGINT):
        super().__init__(message)
        self.status = status


def short_reason(e, limit=160):
    """The first line of an exception's message (or its type's name), cut to `limit` characters."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:limit]
