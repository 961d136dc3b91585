"""The `residual-mlp` command: one sub-command per module in `commands/`.

Every failure ends with one line `error: ...` on stderr, never a traceback, and an exit status that says
what happened (see `errors.py`): 2 bad input or options, 3 training diverged, 130 SIGINT, 143 SIGTERM.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from .errors import EXIT_DIVERGED, EXIT_INPUT, EXIT_SIGINT, Diverged, InputError, Interrupted

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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
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
            return args.run(args)
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
    except BrokenPipeError:
        # The reader went away (`residual-mlp predict ... | head`): stop quietly, as Unix tools do.
        try:  # Python flushes stdout at exit, which would raise again: point it at /dev/null
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file descriptor (embedded use): nothing to do
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
