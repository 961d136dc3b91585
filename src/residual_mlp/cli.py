"""The `residual-mlp` command: one sub-command per module in `commands/`.

Every failure ends with one line `error: ...` on stderr, never a traceback, and an exit status that says
what happened (see `errors.py`): 2 bad input or options, 3 training diverged, 130 SIGINT, 143 SIGTERM.
Standard output is written last (a command commits its files before it prints its summary): a reader that
went away (`| head`, EPIPE) ends the command quietly with status 0, and any other failure to
write it (a full disk) is `error: cannot write to standard output: ...`, status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from .errors import EXIT_DIVERGED, EXIT_INPUT, EXIT_OK, EXIT_SIGINT, Diverged, InputError, Interrupted

COMMANDS = ("train", "predict", "evaluate", "info", "export", "gradcheck", "figures", "explain")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise InputError(f"{self.prog}: {message}")


def build_parser():
    parser = _Parser(prog="residual-mlp", description="A residual MLP classifier with hand-derived gradients.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name}", __package__)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


class _Stdout:
    """sys.stdout as it was, remembering the first OSError its writes or flushes raised (re-raised as is)."""

    def __init__(self, stream):
        self.stream, self.failed = stream, None

    def write(self, text):
        try:
            return self.stream.write(text)
        except OSError as e:
            self.failed = self.failed or e
            raise

    def flush(self):
        try:
            return self.stream.flush()
        except OSError as e:
            self.failed = self.failed or e
            raise

    def __getattr__(self, name):
        return getattr(self.stream, name)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    stdout = sys.stdout = _Stdout(sys.stdout)
    try:
        return _main(argv, stdout)
    except OSError as e:
        if e is not stdout.failed:  # not standard output's: not ours to explain
            raise
        _silence(stdout.stream)
        if isinstance(stdout.failed, BrokenPipeError):
            # The reader went away (`residual-mlp predict ... | head`): stop quietly, as Unix tools do; the
            # command's files are written already (it prints last), so the run did what it was asked.
            return EXIT_OK
        print(f"error: cannot write to standard output: {stdout.failed.strerror or stdout.failed}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        sys.stdout = stdout.stream


def _silence(stream):
    """Point standard output at /dev/null: Python flushes it at exit, which would fail (and say so) again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file descriptor (embedded use): nothing to do
        pass


def _main(argv, stdout):
    try:
        parser = build_parser()
        if not argv:  # `residual-mlp` alone: the usage, not an error
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        from .columns import IdentifierWarning  # here, not at the top: `--help` stays light

        with warnings.catch_warnings():
            # the role table the command prints names each column left out as an identifier, and why
            warnings.simplefilter("ignore", IdentifierWarning)
            status = args.run(args)
        try:
            stdout.flush()  # here, so that an error writing what is still buffered is caught
        except BrokenPipeError as e:
            if e is not stdout.failed:
                raise
            _silence(stdout.stream)
            return status  # the command finished before its reader went away: its status stands
        return status
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except Diverged as e:
        print(f"error: {e}; nothing was saved", file=sys.stderr)
        return EXIT_DIVERGED
    except Interrupted as e:
        print(f"error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    except MemoryError as e:  # e.g. --hidden far too large for this machine
        print(f"error: out of memory{': ' + str(e) if str(e) else ''}; try smaller sizes", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
